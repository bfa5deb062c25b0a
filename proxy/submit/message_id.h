// The message ids Hajib gives customers: unique across instances and restarts.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace proxy {

// 16 lowercase hex digits: a 20-bit instance number (from the state store at start-up, so two
// live instances or two runs never share one) and a 44-bit counter. The same format for every
// operator, so that receipts and long messages never depend on an operator's id format.
class MessageIdAllocator {
 public:
  explicit MessageIdAllocator(uint32_t instance) : instance_(instance & 0xFFFFF) {}
  using Id = std::array<char, 17>;  // NUL-terminated
  Id next();

 private:
  uint32_t instance_;
  uint64_t counter_ = 0;
};

inline std::string_view view(const MessageIdAllocator::Id& id) { return std::string_view(id.data(), 16); }

}  // namespace proxy
