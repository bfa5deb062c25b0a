// Message id formatting.
#include "proxy/submit/message_id.h"

namespace proxy {

MessageIdAllocator::Id MessageIdAllocator::next() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t value = uint64_t(instance_) << 44 | (counter_++ & 0xFFFFFFFFFFFull);
  Id id;
  for (int i = 15; i >= 0; --i, value >>= 4) id[size_t(i)] = kHex[value & 0xF];
  id[16] = '\0';
  return id;
}

}  // namespace proxy
