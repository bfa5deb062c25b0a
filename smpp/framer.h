// Splits a byte stream into whole SMPP PDUs by command_length; knows nothing of PDU bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <memory>

namespace smpp {

// A receive buffer with a fixed capacity. The reader appends into writable(), then takes
// whole PDUs out with next(). A PDU is never split across calls: next() returns one only
// when all of its command_length bytes have arrived.
class Framer {
 public:
  enum class Result { pdu, need_more, too_short, too_long };

  // max_pdu bounds command_length; the buffer holds at least two maximal PDUs (capacity 0:
  // just that), so that a whole PDU always fits after the partial one before it.
  explicit Framer(size_t max_pdu, size_t capacity = 0);

  // Free space at the end of the buffer, for the socket to read into (compacting first when
  // the tail is short, which is why pointer and size come together).
  struct Space {
    uint8_t* data;
    size_t size;
  };
  Space writable();
  void commit(size_t n);  // n bytes were written at writable().data

  // Takes the next whole PDU. On `pdu`, `out` views bytes valid until the next writable(). On too_short/too_long the stream cannot be resynchronised: close it.
  Result next(std::string_view& out, uint32_t& bad_length);

  size_t buffered() const { return end_ - begin_; }

 private:
  void compact();

  // Not zero-filled: an idle session's buffer costs address space, not resident memory.
  std::unique_ptr<uint8_t[]> buf_;
  size_t capacity_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t max_pdu_;
};

}  // namespace smpp
