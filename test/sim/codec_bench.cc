// codec-bench: nanoseconds per call of the relay path's reader and writers (smpp/pdu_view.h) beside
// the libsmpp34 code they replaced (smpp/oracle.h), on one thread.
//
// usage: codec-bench [--iterations N]   (default 1,000,000 per measure)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "smpp/oracle.h"
#include "smpp/pdu_view.h"

namespace {

// Keeps the compiler from dropping a result it can see is unused.
template <typename T>
void keep(const T& value) {
  asm volatile("" : : "r"(&value) : "memory");
}

// The best of 5 rounds: the machine is shared, and a busy neighbour only ever adds time.
template <typename F>
double ns_per_call(size_t iterations, F&& f) {
  for (size_t i = 0; i < iterations / 10; ++i) f();  // warm the caches and the branch predictors
  size_t per_round = std::max<size_t>(iterations / 5, 1);
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < per_round; ++i) f();
    std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
    best = std::min(best, spent.count() / double(per_round));
  }
  return best;
}

void report(const char* what, double ours, double theirs) {
  std::printf("%-46s %9.1f ns  libsmpp34 %9.1f ns  (x%.1f)\n", what, ours, theirs, theirs / ours);
}

smpp::ShortMessage sample() {
  smpp::ShortMessage sm;
  sm.service_type = "CMT";
  sm.source_addr_ton = 5;
  sm.source_addr = "ACME";
  sm.dest_addr_ton = 1;
  sm.dest_addr_npi = 1;
  sm.destination_addr = "966501234567";
  sm.registered_delivery = 1;
  sm.short_message = std::string(138, 'a');
  return sm;
}

}  // namespace

int main(int argc, char** argv) {
  size_t iterations = 1000000;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::strtoul(argv[i + 1], nullptr, 10);

  const smpp::ShortMessage sm = sample();
  std::string pdu;
  smpp::encode_short_message(pdu, smpp::Command::submit_sm, 1, sm);
  smpp::DecodeError error;

  smpp::ShortMessageView view;
  smpp::ShortMessage owned, old;
  report("read_short_message, 138-character submit_sm",
         ns_per_call(iterations, [&] { keep(smpp::read_short_message(pdu, view, error)); }),
         ns_per_call(iterations, [&] { keep(smpp::oracle::decode_short_message(pdu, old, error)); }));
  report("decode_short_message (read + to_owned)",
         ns_per_call(iterations, [&] { keep(smpp::decode_short_message(pdu, owned, error)); }),
         ns_per_call(iterations, [&] { keep(smpp::oracle::decode_short_message(pdu, old, error)); }));

  std::string out;
  report("encode_short_message, the same submit_sm", ns_per_call(iterations, [&] {
           out.clear();
           smpp::encode_short_message(out, smpp::Command::submit_sm, 2, sm);
           keep(out);
         }),
         ns_per_call(iterations, [&] {
           out.clear();
           keep(smpp::oracle::encode_short_message(out, smpp::Command::submit_sm, 2, sm));
         }));
  report("encode_message_id_resp, 16-character id", ns_per_call(iterations, [&] {
           out.clear();
           smpp::encode_message_id_resp(out, smpp::Command::submit_sm_resp, 2, 0, "00000a0000000001");
           keep(out);
         }),
         ns_per_call(iterations, [&] {
           out.clear();
           keep(smpp::oracle::encode_message_id_resp(out, smpp::Command::submit_sm_resp, 2, 0, "00000a0000000001"));
         }));

  std::string resp;
  smpp::encode_message_id_resp(resp, smpp::Command::submit_sm_resp, 2, 0, "00000a0000000001");
  std::string_view id;
  std::string old_id;
  std::printf("%-46s %9.1f ns  before    %9.1f ns  (read by hand already)\n", "read_message_id_resp",
              ns_per_call(iterations, [&] { keep(smpp::read_message_id_resp(resp, id, error)); }),
              ns_per_call(iterations, [&] { keep(smpp::oracle::decode_message_id_resp(resp, old_id, error)); }));
  return 0;
}
