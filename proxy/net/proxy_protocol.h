// The PROXY protocol header (v1 text, v2 binary) a balancer puts before a customer's bytes: a parser with no sockets.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxy::proxy_protocol {

// The most we hold before a header must be complete: v1 is at most 107 bytes; v2 is 16 plus a
// length the sender chooses (up to 65535), of which we accept only what addresses and a few TLVs need.
constexpr size_t kMaxHeader = 1024;

enum class Status { need_more, done, invalid };

struct Header {
  Status status = Status::need_more;
  size_t length = 0;     // done: the header's bytes, which the SMPP stream follows
  bool local = false;    // done: no address given (v1 UNKNOWN, v2 LOCAL or AF_UNSPEC): the socket's stands
  sockaddr_storage source{};  // done and not local: the customer's address and port
  std::string error;     // invalid: why
};

// Parses the header at the start of `bytes` (everything received so far; call again with more
// on need_more). Every length and field is checked; TLVs are walked and skipped.
Header parse(std::string_view bytes);

// Whether `bytes` begin (or may begin, when too short to tell) with a PROXY header: how a
// connection from someone not allowed to send one is caught before its bytes reach the SMPP framer.
enum class Sniff { no, maybe, yes };
Sniff sniff(std::string_view bytes);

// "203.0.113.7" / "2001:db8::1" and the port, as the customer side names a peer.
std::string host_of(const sockaddr_storage& address);
uint16_t port_of(const sockaddr_storage& address);

}  // namespace proxy::proxy_protocol
