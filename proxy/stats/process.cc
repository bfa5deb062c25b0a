// The process's own figures (proxy/stats/process.h), read from /proc when /metrics is scraped.
#include "proxy/stats/process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace proxy {

namespace {
std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> boot_time_s() {
  std::istringstream stat(read_file("/proc/stat"));
  std::string key;
  int64_t value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
    stat.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

std::optional<double> open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  double n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the directory being read is open too
}

std::optional<double> max_fds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return double(limit.rlim_cur);
}
}  // namespace

// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses, so
// the line is cut at its last ')'): utime and stime are fields 14 and 15, starttime 22, vsize 23
// and rss 24 (proc(5), counting from 1).
ProcessFigures parse_proc_stat(std::string_view line, long ticks_per_second, long page_size, std::optional<int64_t> boot_time) {
  ProcessFigures f;
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return f;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  size_t at = close + 1;
  while (at < line.size()) {
    while (at < line.size() && line[at] == ' ') ++at;
    const size_t end = std::min(line.find(' ', at), line.size());
    if (end > at) fields.push_back(line.substr(at, end - at));
    at = end;
  }
  auto field = [&](size_t n) -> std::optional<double> {  // n counts from 1, as proc(5) does
    if (n < 3 || n - 3 >= fields.size()) return std::nullopt;
    uint64_t v = 0;
    auto s = fields[n - 3];
    if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc()) return std::nullopt;
    return double(v);
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (utime && stime) f.cpu_seconds = (*utime + *stime) / double(ticks_per_second);
  if (start && boot_time) f.start_time_seconds = double(*boot_time) + *start / double(ticks_per_second);
  if (vsize) f.virtual_memory_bytes = *vsize;
  if (rss) f.resident_memory_bytes = *rss * double(page_size);
  return f;
}

ProcessFigures read_process_figures() {
  ProcessFigures f = parse_proc_stat(read_file("/proc/self/stat"), ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), boot_time_s());
  f.open_fds = open_fds();
  f.max_fds = max_fds();
  return f;
}

}  // namespace proxy
