// libFuzzer target: the PROXY protocol header parser (proxy/net/proxy_protocol.h) on any bytes, whole and split.
//
// Input: the bytes a balancer (or anyone) sends first on the customer port. Seeds:
// test/fuzz/corpus/proxy_protocol/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proxy/net/proxy_protocol.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

bool same(const proxy::proxy_protocol::Header& a, const proxy::proxy_protocol::Header& b) {
  return a.status == b.status && a.length == b.length && a.local == b.local &&
         proxy::proxy_protocol::host_of(a.source) == proxy::proxy_protocol::host_of(b.source) &&
         proxy::proxy_protocol::port_of(a.source) == proxy::proxy_protocol::port_of(b.source);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pp = proxy::proxy_protocol;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  pp::Header whole = pp::parse(input);
  if (whole.status == pp::Status::done) {
    if (whole.length == 0 || whole.length > input.size()) fail("header length outside the input");
    if (whole.length > pp::kMaxHeader) fail("header longer than kMaxHeader");
    if (!whole.local && whole.source.ss_family != AF_INET && whole.source.ss_family != AF_INET6) fail("no family");
    // What follows the header does not change it: the SMPP stream is not part of it.
    if (!same(pp::parse(input.substr(0, whole.length)), whole)) fail("the header alone parses differently");
  }
  if (whole.status == pp::Status::invalid && whole.error.empty()) fail("refused without a reason");
  if (whole.status == pp::Status::need_more && input.size() >= pp::kMaxHeader) fail("waits past kMaxHeader");
  // Split reads: every prefix shorter than a parsed header waits; none of a refused input's
  // prefixes is taken as a header.
  for (size_t n = 0; n < input.size() && n <= pp::kMaxHeader; ++n) {
    pp::Header part = pp::parse(input.substr(0, n));
    if (whole.status == pp::Status::done && n < whole.length && part.status != pp::Status::need_more)
      fail("a prefix of a header did not wait for the rest");
    if (part.status == pp::Status::done && !same(part, whole)) fail("a prefix parsed as another header");
    if (part.status == pp::Status::invalid && whole.status != pp::Status::invalid) fail("more bytes made a refused prefix valid");
  }
  // Sniffing agrees with parsing: a parsed header is sniffed as one.
  if (whole.status == pp::Status::done && pp::sniff(input) != pp::Sniff::yes) fail("a header not sniffed");
  return 0;
}
