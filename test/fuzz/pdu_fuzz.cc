// libFuzzer target: arbitrary bytes through the framer and every decoder, as a customer or an
// operator could send them. Run under ASan/UBSan by scripts/test.sh for a bounded time.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proxy/submit/message_text.h"
#include "smpp/codec.h"
#include "smpp/framer.h"
#include "smpp/pdu_edit.h"
#include "smpp/pdu_view.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

bool same_tlvs(const std::vector<smpp::Tlv>& a, const std::vector<smpp::Tlv>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].tag != b[i].tag || a[i].value != b[i].value) return false;
  return true;
}

// Every field but the destination (ton, npi, address), which the rewrite replaces.
bool same_but_destination(const smpp::ShortMessage& a, const smpp::ShortMessage& b) {
  return a.service_type == b.service_type && a.source_addr_ton == b.source_addr_ton &&
         a.source_addr_npi == b.source_addr_npi && a.source_addr == b.source_addr && a.esm_class == b.esm_class &&
         a.protocol_id == b.protocol_id && a.priority_flag == b.priority_flag &&
         a.schedule_delivery_time == b.schedule_delivery_time && a.validity_period == b.validity_period &&
         a.registered_delivery == b.registered_delivery && a.replace_if_present_flag == b.replace_if_present_flag &&
         a.data_coding == b.data_coding && a.sm_default_msg_id == b.sm_default_msg_id &&
         a.short_message == b.short_message && same_tlvs(a.tlvs, b.tlvs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smpp::Framer framer(8192);
  size_t offset = 0;
  while (offset < size) {
    auto space = framer.writable();
    size_t n = std::min(size - offset, space.size);
    if (n == 0) break;
    std::memcpy(space.data, data + offset, n);
    framer.commit(n);
    offset += n;
    std::string_view pdu;
    uint32_t bad = 0;
    for (;;) {
      auto result = framer.next(pdu, bad);
      if (result != smpp::Framer::Result::pdu) {
        if (result != smpp::Framer::Result::need_more) return 0;
        break;
      }
      smpp::DecodeError error;
      smpp::Bind bind;
      smpp::BindResp bind_resp;
      smpp::ShortMessage sm;
      std::string id, out;
      if (smpp::decode_bind(pdu, bind, error)) {
        smpp::encode_bind(out, 1, bind);
      }
      (void)smpp::decode_bind_resp(pdu, bind_resp, error);
      if (smpp::decode_short_message(pdu, sm, error)) {
        // What decodes must re-encode to the same message (as the same command: deliver_sm has
        // no times in libsmpp34)...
        const auto kind = smpp::Command(smpp::read_header(reinterpret_cast<const uint8_t*>(pdu.data())).command_id);
        out.clear();  // encoders append
        smpp::encode_short_message(out, kind, 1, sm);
        smpp::ShortMessage again;
        if (!smpp::decode_short_message(out, again, error)) fail("a decoded message does not decode once re-encoded");
        if (!same_but_destination(sm, again) || again.destination_addr != sm.destination_addr ||
            again.dest_addr_ton != sm.dest_addr_ton || again.dest_addr_npi != sm.dest_addr_npi)
          fail("a decoded message re-encodes differently");
        // ...and survive the destination rewrite with every other field the customer's (README:
        // "Every other byte of the customer's PDU is forwarded unchanged").
        std::string rewritten;
        smpp::ShortMessageView view;
        if (!smpp::read_short_message(pdu, view, error)) fail("libsmpp34 decodes what our reader refuses");
        if (!smpp::rewrite_destination(pdu, view, 1, 1, "966501234567", rewritten)) fail("a decoded message cannot be rewritten");
        if (!smpp::decode_short_message(rewritten, again, error)) fail("a rewritten message does not decode");
        if (!same_but_destination(sm, again) || again.destination_addr != "966501234567" || again.dest_addr_ton != 1 ||
            again.dest_addr_npi != 1)
          fail("the rewrite changed more than the destination");
        // And what the relay then reads from it: the text the rules see, the long-message part.
        std::string text;
        bool malformed = false;
        (void)proxy::message_text(sm, smpp::TextOptions{}, text);
        (void)proxy::concatenation_of(sm, malformed);
      }
      (void)smpp::decode_message_id_resp(pdu, id, error);
    }
  }
  return 0;
}
