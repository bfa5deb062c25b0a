// LD_PRELOAD shim for scripts/bench.sh: counts a process's heap allocations, so that the benchmark
// can report allocations per relayed message without any code in hajib itself.
//
// Every malloc, calloc, realloc and aligned allocation (operator new calls malloc underneath) adds
// one to a counter. A thread writes the counter to $HAJIB_ALLOC_COUNT_FILE every 50 ms (rename
// over the old file, so a reader never sees half a number); the benchmark reads it before and
// after a cell and divides by the messages sent.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static atomic_ullong allocations;

static void count(void) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); }

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  count();
  void* p = __libc_memalign(alignment, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}

// open/write rather than stdio: the writer must not allocate, or it would count itself.
static void write_count(const char* path, const char* tmp) {
  char line[32];
  int n = snprintf(line, sizeof line, "%llu\n", (unsigned long long)atomic_load_explicit(&allocations, memory_order_relaxed));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, line, (size_t)n);
  close(fd);
  if (written == n) rename(tmp, path);
}

static void* writer(void* arg) {
  const char* path = arg;
  static char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  const struct timespec period = {0, 50 * 1000 * 1000};
  for (;;) {
    write_count(path, tmp);
    nanosleep(&period, NULL);
  }
  return NULL;
}

__attribute__((constructor)) static void start_writer(void) {
  const char* path = getenv("HAJIB_ALLOC_COUNT_FILE");
  if (!path || !*path) return;
  static char copy[4000];
  snprintf(copy, sizeof copy, "%s", path);
  // Children (hajib does not fork, but a shell might) must not inherit the file.
  unsetenv("HAJIB_ALLOC_COUNT_FILE");
  pthread_t t;
  if (pthread_create(&t, NULL, writer, copy) == 0) pthread_detach(t);
}
