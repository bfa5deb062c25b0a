// The PROXY protocol parser: v1 and v2 headers a balancer sends, and every malformed shape refused.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <string>

#include "proxy/net/proxy_protocol.h"

namespace pp = proxy::proxy_protocol;
using pp::Status;

namespace {

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);
const std::string kBind("\0\0\0\x2a\0\0\0\x09", 8);  // what follows: the start of an SMPP bind

std::string be16(size_t v) { return {char(v >> 8), char(v & 0xff)}; }

// A v2 header: command (0 LOCAL, 1 PROXY), family/protocol octet, then the block.
std::string v2(unsigned command, unsigned family_protocol, const std::string& block) {
  return kSig + char(0x20 | command) + char(family_protocol) + be16(block.size()) + block;
}
std::string v4_block(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  std::string out(12, '\0');
  inet_pton(AF_INET, src, out.data());
  inet_pton(AF_INET, dst, out.data() + 4);
  out[8] = char(sport >> 8), out[9] = char(sport), out[10] = char(dport >> 8), out[11] = char(dport);
  return out;
}
std::string v6_block(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  std::string out(36, '\0');
  inet_pton(AF_INET6, src, out.data());
  inet_pton(AF_INET6, dst, out.data() + 16);
  out[32] = char(sport >> 8), out[33] = char(sport), out[34] = char(dport >> 8), out[35] = char(dport);
  return out;
}
std::string tlv(uint8_t type, const std::string& value) { return char(type) + be16(value.size()) + value; }

pp::Header done(const std::string& bytes) {
  pp::Header h = pp::parse(bytes);
  INFO(h.error);
  REQUIRE(h.status == Status::done);
  return h;
}
void refused(const std::string& bytes) {
  INFO(bytes);
  CHECK(pp::parse(bytes).status == Status::invalid);
}

}  // namespace

TEST_CASE("v1 TCP4 names the customer's address and port; the SMPP stream follows its CRLF") {
  std::string header = "PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775\r\n";
  pp::Header h = done(header + kBind);
  CHECK(h.length == header.size());
  CHECK_FALSE(h.local);
  CHECK(pp::host_of(h.source) == "198.51.100.7");
  CHECK(pp::port_of(h.source) == 40000);
}

TEST_CASE("v1 TCP6 names an IPv6 customer") {
  pp::Header h = done("PROXY TCP6 2001:db8::7 2001:db8::1 65535 2775\r\n");
  CHECK(pp::host_of(h.source) == "2001:db8::7");
  CHECK(pp::port_of(h.source) == 65535);
}

TEST_CASE("v1 UNKNOWN keeps the socket's address, whatever follows UNKNOWN on its line") {
  CHECK(done("PROXY UNKNOWN\r\n").local);
  CHECK(done("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").local);
  refused("PROXY UNKNOWNX\r\n");
}

TEST_CASE("v1 split across reads waits for the rest, byte by byte") {
  std::string header = "PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775\r\n";
  for (size_t n = 0; n < header.size(); ++n) CHECK(pp::parse(header.substr(0, n)).status == Status::need_more);
  CHECK(pp::parse(header).status == Status::done);
}

TEST_CASE("v1 malformed lines are refused") {
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775\n");           // LF without CR
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775\rX");          // CR without LF
  refused("PROXY TCP5 198.51.100.7 203.0.113.1 40000 2775\r\n");         // protocol
  refused("PROXY tcp4 198.51.100.7 203.0.113.1 40000 2775\r\n");
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000\r\n");              // a field missing
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775 9\r\n");       // one too many
  refused("PROXY TCP4  198.51.100.7 203.0.113.1 40000 2775\r\n");        // two spaces
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000 2775 \r\n");        // a trailing space
  refused("PROXY TCP4 2001:db8::7 203.0.113.1 40000 2775\r\n");          // family and address disagree
  refused("PROXY TCP6 198.51.100.7 2001:db8::1 40000 2775\r\n");
  refused("PROXY TCP4 198.51.100.300 203.0.113.1 40000 2775\r\n");       // not an address
  refused("PROXY TCP4 198.51.100.7 203.0.113 40000 2775\r\n");
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 65536 2775\r\n");         // ports: range, sign, zeros, digits
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 -1 2775\r\n");
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 040000 2775\r\n");
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 4x000 2775\r\n");
  refused("PROXY TCP4 198.51.100.7 203.0.113.1 40000 999999\r\n");
  refused(std::string("PROXY TCP4 198.51.100.7\0 203.0.113.1 40000 2775\r\n", 49));  // a NUL
  refused("PROXY TCP4 198.51.100.7\t203.0.113.1 40000 2775\r\n");        // a tab
  refused("PROXY \xc3\xa9 \r\n");                                        // not ASCII
  refused("PROXX TCP4 198.51.100.7 203.0.113.1 40000 2775\r\n");
  refused("proxy TCP4 198.51.100.7 203.0.113.1 40000 2775\r\n");
}

TEST_CASE("v1 without a CRLF within 107 bytes is refused, not waited for") {
  std::string line = "PROXY TCP6 " + std::string(200, 'f');
  CHECK(pp::parse(line.substr(0, 106)).status == Status::need_more);
  refused(line.substr(0, 107));
  refused(line);
}

TEST_CASE("v2 PROXY over TCP4 names the customer; the SMPP stream follows the block") {
  std::string header = v2(1, 0x11, v4_block("198.51.100.7", "203.0.113.1", 40000, 2775));
  pp::Header h = done(header + kBind);
  CHECK(h.length == header.size());
  CHECK_FALSE(h.local);
  CHECK(pp::host_of(h.source) == "198.51.100.7");
  CHECK(pp::port_of(h.source) == 40000);
}

TEST_CASE("v2 PROXY over TCP6 names an IPv6 customer") {
  pp::Header h = done(v2(1, 0x21, v6_block("2001:db8::7", "2001:db8::1", 1, 2775)));
  CHECK(pp::host_of(h.source) == "2001:db8::7");
  CHECK(pp::port_of(h.source) == 1);
}

TEST_CASE("v2 LOCAL (the balancer's own health check) keeps the socket's address, its block ignored") {
  CHECK(done(v2(0, 0x00, "")).local);
  CHECK(done(v2(0, 0x11, v4_block("198.51.100.7", "203.0.113.1", 1, 2))).local);
  CHECK(done(v2(0, 0x31, std::string(216, 'x'))).local);
}

TEST_CASE("v2 PROXY with AF_UNSPEC keeps the socket's address") {
  CHECK(done(v2(1, 0x00, "")).local);
}

TEST_CASE("v2 TLVs after the addresses are skipped, and must fit the block") {
  std::string addresses = v4_block("198.51.100.7", "203.0.113.1", 40000, 2775);
  std::string tlvs = tlv(0x01, "smpp") + tlv(0x04, "") + tlv(0xea, std::string(100, 'v'));
  std::string header = v2(1, 0x11, addresses + tlvs);
  pp::Header h = done(header + kBind);
  CHECK(h.length == header.size());
  CHECK(pp::host_of(h.source) == "198.51.100.7");
  refused(v2(1, 0x11, addresses + tlv(0x01, "smpp").substr(0, 5)));  // a value cut short
  refused(v2(1, 0x11, addresses + "\x01"));                           // a type without a length
  refused(v2(1, 0x11, addresses + "\x01\x00"));
  refused(v2(1, 0x11, addresses + char(0x01) + be16(10) + "short"));  // a length past the block
}

TEST_CASE("v2 split across reads waits for the rest, byte by byte") {
  std::string header = v2(1, 0x21, v6_block("2001:db8::7", "2001:db8::1", 1, 2775) + tlv(0x05, "id"));
  for (size_t n = 0; n < header.size(); ++n) CHECK(pp::parse(header.substr(0, n)).status == Status::need_more);
  CHECK(pp::parse(header).status == Status::done);
}

TEST_CASE("v2 malformed headers are refused") {
  std::string v4 = v4_block("198.51.100.7", "203.0.113.1", 40000, 2775);
  std::string header = v2(1, 0x11, v4);
  std::string bad_version = header;
  bad_version[12] = 0x11;
  refused(bad_version);
  std::string bad_command = header;
  bad_command[12] = 0x22;
  refused(bad_command);
  refused(v2(1, 0x12, v4));                              // UDP over IPv4
  refused(v2(1, 0x22, v6_block("::1", "::1", 1, 2)));    // UDP over IPv6
  refused(v2(1, 0x31, std::string(216, '/')));           // a UNIX socket
  refused(v2(1, 0x41, v4));                              // no such family
  refused(v2(1, 0x10, v4));                              // IPv4, protocol unspecified
  refused(v2(1, 0x11, v4.substr(0, 11)));                // block shorter than its addresses
  refused(v2(1, 0x21, v4 + v4 + v4.substr(0, 11)));      // 35 bytes for IPv6's 36
  std::string signature = header;
  signature[5] = 'X';
  refused(signature);
}

TEST_CASE("v2 longer than we accept is refused as soon as its length is read") {
  std::string fixed = kSig + char(0x21) + char(0x11) + be16(pp::kMaxHeader);  // 16 + 1024 > 1024
  refused(fixed);
  CHECK(pp::parse(kSig + char(0x21) + char(0x11) + be16(pp::kMaxHeader - 16)).status == Status::need_more);
  refused(kSig + char(0x21) + char(0x11) + be16(0xffff));
}

TEST_CASE("what is not a PROXY header at all is refused at its first byte") {
  refused(kBind);
  refused("GET / HTTP/1.1\r\n");
  refused("\r\n\r\n\r\n");
  refused(std::string(1, '\0'));
  CHECK(pp::parse("").status == Status::need_more);
  CHECK(pp::parse("P").status == Status::need_more);
  CHECK(pp::parse("\r").status == Status::need_more);
}

TEST_CASE("sniff: an SMPP stream is told apart from a PROXY header at once, a header once its start is whole") {
  CHECK(pp::sniff(kBind) == pp::Sniff::no);
  CHECK(pp::sniff("Q") == pp::Sniff::no);
  CHECK(pp::sniff("") == pp::Sniff::maybe);
  CHECK(pp::sniff("PROX") == pp::Sniff::maybe);
  CHECK(pp::sniff("PROXY ") == pp::Sniff::yes);
  CHECK(pp::sniff("PROXY TCP4 ...") == pp::Sniff::yes);
  CHECK(pp::sniff("PROXYZ") == pp::Sniff::no);
  CHECK(pp::sniff(kSig.substr(0, 11)) == pp::Sniff::maybe);
  CHECK(pp::sniff(kSig) == pp::Sniff::yes);
  CHECK(pp::sniff(kSig.substr(0, 5) + "x") == pp::Sniff::no);
}
