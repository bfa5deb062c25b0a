// The PROXY protocol (haproxy's proxy-protocol.txt, v1 and v2), read from untrusted bytes: bounded, every field checked.
#include "proxy/net/proxy_protocol.h"

#include <arpa/inet.h>

#include <cstring>

namespace proxy::proxy_protocol {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1Max = 107;  // the specification's bound, CRLF included
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2Fixed = 16;

Header invalid(std::string error) {
  Header h;
  h.status = Status::invalid;
  h.error = std::move(error);
  return h;
}

Header done(size_t length) {
  Header h;
  h.status = Status::done;
  h.length = length;
  return h;
}

// `bytes` is a prefix of `whole`, or `whole` a prefix of `bytes`.
bool agrees_with(std::string_view bytes, std::string_view whole) {
  size_t n = std::min(bytes.size(), whole.size());
  return bytes.substr(0, n) == whole.substr(0, n);
}

// ---- v1: "PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775\r\n" ----

// Decimal 0..65535, without sign or leading zero.
bool parse_port(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + uint32_t(c - '0');
  }
  if (value > 65535) return false;
  port = uint16_t(value);
  return true;
}

bool parse_address(std::string_view text, int family, sockaddr_storage& out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out = {};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    return inet_pton(AF_INET, buf, &in->sin_addr) == 1;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  return inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1;
}

void set_port(sockaddr_storage& address, uint16_t port) {
  if (address.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(port);
  else reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(port);
}

// Splits on single spaces: an empty field (two spaces, a leading or trailing one) is refused.
bool split_fields(std::string_view line, std::string_view (&fields)[6]) {
  size_t count = 0;
  while (true) {
    size_t space = line.find(' ');
    std::string_view field = line.substr(0, space);
    if (field.empty() || count == 6) return false;
    fields[count++] = field;
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return count == 6;
}

Header parse_v1_line(std::string_view line, size_t length) {
  // line: without its CRLF; every byte printable ASCII (checked by the caller).
  if (line.starts_with("PROXY UNKNOWN")) {
    if (line.size() > 13 && line[13] != ' ') return invalid("v1: unknown protocol");
    Header h = done(length);
    h.local = true;  // the balancer could not say (a health check, say): the socket's address stands
    return h;
  }
  std::string_view fields[6];
  if (!split_fields(line, fields)) return invalid("v1: not 'PROXY proto src dst sport dport'");
  int family = fields[1] == "TCP4" ? AF_INET : fields[1] == "TCP6" ? AF_INET6 : 0;
  if (!family) return invalid("v1: protocol is not TCP4, TCP6 or UNKNOWN");
  Header h = done(length);
  sockaddr_storage destination{};
  uint16_t source_port = 0, destination_port = 0;
  if (!parse_address(fields[2], family, h.source)) return invalid("v1: bad source address");
  if (!parse_address(fields[3], family, destination)) return invalid("v1: bad destination address");
  if (!parse_port(fields[4], source_port)) return invalid("v1: bad source port");
  if (!parse_port(fields[5], destination_port)) return invalid("v1: bad destination port");
  set_port(h.source, source_port);
  return h;
}

Header parse_v1(std::string_view bytes) {
  if (!agrees_with(bytes, kV1Prefix)) return invalid("not a PROXY protocol header");
  size_t limit = std::min(bytes.size(), kV1Max);
  for (size_t i = 0; i < limit; ++i) {
    char c = bytes[i];
    if (c == '\r') {
      if (i + 1 == bytes.size()) return Header{};  // the LF may follow
      if (bytes[i + 1] != '\n') return invalid("v1: CR without LF");
      return parse_v1_line(bytes.substr(0, i), i + 2);
    }
    if (c < 0x20 || c > 0x7e) return invalid("v1: a byte that is not printable ASCII");
  }
  if (bytes.size() >= kV1Max) return invalid("v1: no CRLF within 107 bytes");
  return Header{};
}

// ---- v2: signature, version and command, family and protocol, length, addresses, TLVs ----

uint16_t load_be16(const char* p) { return uint16_t(uint8_t(p[0]) << 8 | uint8_t(p[1])); }

// Type-length-value records fill the block after the addresses: each must fit whole.
bool tlvs_fit(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    size_t value = load_be16(tlvs.data() + 1);
    if (value > tlvs.size() - 3) return false;
    tlvs.remove_prefix(3 + value);
  }
  return true;
}

Header parse_v2(std::string_view bytes) {
  if (!agrees_with(bytes, kV2Signature)) return invalid("not a PROXY protocol header");
  if (bytes.size() < kV2Fixed) return Header{};
  const uint8_t version_command = uint8_t(bytes[12]), family_protocol = uint8_t(bytes[13]);
  const size_t block = load_be16(bytes.data() + 14), length = kV2Fixed + block;
  if (version_command >> 4 != 2) return invalid("v2: version is not 2");
  const unsigned command = version_command & 0x0f;
  if (command > 1) return invalid("v2: command is neither LOCAL nor PROXY");
  if (length > kMaxHeader) return invalid("v2: header longer than we accept");
  if (bytes.size() < length) return Header{};
  if (command == 0) {  // LOCAL: the balancer's own connection (a health check); the block is ignored
    Header h = done(length);
    h.local = true;
    return h;
  }
  const unsigned family = family_protocol >> 4, protocol = family_protocol & 0x0f;
  if (family == 0) {  // AF_UNSPEC: the receiver keeps the real connection's endpoints
    Header h = done(length);
    h.local = true;
    return h;
  }
  if (protocol != 1 || (family != 1 && family != 2)) return invalid("v2: not TCP over IPv4 or IPv6");
  const size_t addresses = family == 1 ? 12 : 36;
  if (block < addresses) return invalid("v2: block shorter than its addresses");
  const char* p = bytes.data() + kV2Fixed;
  if (!tlvs_fit(bytes.substr(kV2Fixed + addresses, block - addresses))) return invalid("v2: a TLV overruns the block");
  Header h = done(length);
  if (family == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&h.source);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, p, 4);
    std::memcpy(&in->sin_port, p + 8, 2);  // network order already
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&h.source);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, p, 16);
    std::memcpy(&in6->sin6_port, p + 32, 2);
  }
  return h;
}

}  // namespace

Header parse(std::string_view bytes) {
  if (bytes.empty()) return Header{};
  if (bytes[0] == 'P') return parse_v1(bytes);
  if (bytes[0] == '\r') return parse_v2(bytes);
  return invalid("not a PROXY protocol header");
}

Sniff sniff(std::string_view bytes) {
  if (bytes.empty()) return Sniff::maybe;
  for (std::string_view start : {kV1Prefix, kV2Signature})
    if (agrees_with(bytes, start)) return bytes.size() >= start.size() ? Sniff::yes : Sniff::maybe;
  return Sniff::no;
}

std::string host_of(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, host, sizeof host);
  else if (address.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, host, sizeof host);
  return host;
}

uint16_t port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return 0;
}

}  // namespace proxy::proxy_protocol
