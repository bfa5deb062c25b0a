// A FIFO queue in one growing buffer: what a std::deque would allocate block by block as its
// front drains and its back fills, this allocates only when it holds more than ever before.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace proxy {

template <typename T>
class Ring {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T& front() { return slots_[head_]; }
  const T& front() const { return slots_[head_]; }
  T& operator[](size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }

  void push_back(T value) {
    if (count_ == slots_.size()) grow();
    slots_[(head_ + count_) & (slots_.size() - 1)] = std::move(value);
    ++count_;
  }
  // The front, moved out; its slot is left as a default T (a callback in it is released).
  T pop_front() {
    T value = std::exchange(slots_[head_], T{});
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
    return value;
  }
  void clear() {
    while (!empty()) pop_front();
  }

 private:
  void grow() {
    std::vector<T> grown(std::max<size_t>(16, 2 * slots_.size()));  // a power of two
    for (size_t i = 0; i < count_; ++i) grown[i] = std::move((*this)[i]);
    slots_ = std::move(grown);
    head_ = 0;
  }

  std::vector<T> slots_;
  size_t head_ = 0, count_ = 0;
};

}  // namespace proxy
