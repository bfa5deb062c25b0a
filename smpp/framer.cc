// Length-prefixed framing with bounds checks and partial-header handling.
#include "smpp/framer.h"

#include <algorithm>
#include <cstring>

#include "smpp/protocol.h"

namespace smpp {

Framer::Framer(size_t max_pdu, size_t capacity)
    : buf_(new uint8_t[std::max(capacity, 2 * max_pdu)]), capacity_(std::max(capacity, 2 * max_pdu)), max_pdu_(max_pdu) {}

void Framer::compact() {
  if (begin_ == 0) return;
  if (begin_ != end_) std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

Framer::Space Framer::writable() {
  // Compact only when the tail is short, so a burst of small PDUs costs no memmove.
  if (capacity_ - end_ < max_pdu_) compact();
  return Space{buf_.get() + end_, capacity_ - end_};
}

void Framer::commit(size_t n) { end_ += n; }

Framer::Result Framer::next(std::string_view& out, uint32_t& bad_length) {
  size_t have = end_ - begin_;
  if (have < kHeaderSize) return Result::need_more;
  const uint8_t* p = buf_.get() + begin_;
  uint32_t length = load_be32(p);
  if (length < kHeaderSize) {
    bad_length = length;
    return Result::too_short;
  }
  if (length > max_pdu_) {
    bad_length = length;
    return Result::too_long;
  }
  if (have < length) return Result::need_more;
  out = std::string_view(reinterpret_cast<const char*>(p), length);
  begin_ += length;
  if (begin_ == end_) begin_ = end_ = 0;
  return Result::pdu;
}

}  // namespace smpp
