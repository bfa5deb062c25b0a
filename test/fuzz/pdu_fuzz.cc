// libFuzzer target: arbitrary bytes through the framer and every decoder, as a customer or an
// operator could send them. Run under ASan/UBSan by scripts/test.sh for a bounded time.
#include <cstring>

#include "proxy/message_text.h"
#include "smpp/codec.h"
#include "smpp/framer.h"
#include "smpp/pdu_edit.h"

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
        // What decodes must re-encode, and must survive the destination rewrite.
        smpp::encode_short_message(out, smpp::Command::deliver_sm, 1, sm);
        smpp::rewrite_destination(pdu, 1, 1, "966501234567", out);
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
