// The hygiene both ends of an SMPP link share, without I/O: sequence numbers, enquire_link
// keepalive, unbind, and the answer to requests nobody handles. Customer and operator sessions
// own one each, feed it what they do not handle themselves, and carry out what it says.
#pragma once

#include <cstdint>
#include <string>

#include "smpp/protocol.h"

namespace smpp {

class Session {
 public:
  struct Timing {
    uint64_t idle_ms = 30000;    // silence after which we ask with enquire_link
    uint64_t answer_ms = 10000;  // how long the peer has to answer it
  };
  explicit Session(Timing timing) : timing_(timing) {}

  uint32_t next_sequence() { return smpp::next_sequence(sequence_); }

  // What a PDU the owner did not handle meant; responses to PDUs are appended to `out`.
  enum class Event {
    none,             // answered or noted here (enquire_link, its response, a stray response)
    nacked,           // a request nobody handles: generic_nack ESME_RINVCMDID was sent
    peer_unbound,     // the peer's unbind: unbind_resp was sent; close once it is written
    unbind_answered,  // the answer to our unbind
  };
  Event on_pdu(const Header& h, std::string& out);

  // Every tick of a bound link. After idle_ms of silence an enquire_link goes out; false when the
  // peer let one go unanswered for answer_ms (close the link). While `reading` is false the owner
  // does not read the socket (backpressure): the silence is ours, and the clock waits.
  bool keepalive(uint64_t now_ms, uint64_t last_received_ms, bool reading, std::string& out);

  void unbind(std::string& out);

 private:
  Timing timing_;
  uint32_t sequence_ = 0;
  uint64_t enquire_sent_ms_ = 0;  // 0: none unanswered
};

}  // namespace smpp
