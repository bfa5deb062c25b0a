// SMPP link hygiene (smpp/session.h): the one place that answers enquire_link, unbind and
// requests that no side handles.
#include "smpp/session.h"

#include "smpp/codec.h"

namespace smpp {

Session::Event Session::on_pdu(const Header& h, std::string& out) {
  switch (Command(h.command_id)) {
    case Command::enquire_link:
      encode_header_only(out, Command::enquire_link_resp, h.sequence);
      return Event::none;
    case Command::enquire_link_resp:
      enquire_sent_ms_ = 0;
      return Event::none;
    case Command::unbind:
      encode_header_only(out, Command::unbind_resp, h.sequence);
      return Event::peer_unbound;
    case Command::unbind_resp: return Event::unbind_answered;
    default: break;
  }
  if (is_response(h.command_id)) return Event::none;  // a response to nothing we asked: ignored
  encode_header_only(out, Command::generic_nack, h.sequence, status::ESME_RINVCMDID);
  return Event::nacked;
}

bool Session::keepalive(uint64_t now_ms, uint64_t last_received_ms, bool reading, std::string& out) {
  if (!reading) {
    // Its answer may be waiting unread in the socket: a full answer_ms once we read again.
    if (enquire_sent_ms_) enquire_sent_ms_ = now_ms;
    return true;
  }
  if (enquire_sent_ms_) return now_ms - enquire_sent_ms_ <= timing_.answer_ms;
  if (now_ms - last_received_ms > timing_.idle_ms) {
    enquire_sent_ms_ = now_ms;
    encode_header_only(out, Command::enquire_link, next_sequence());
  }
  return true;
}

void Session::unbind(std::string& out) { encode_header_only(out, Command::unbind, next_sequence()); }

}  // namespace smpp
