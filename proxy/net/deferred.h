// Runs callbacks on the next loop iteration, so that an async API never calls back inline.
#pragma once

#include <uv.h>

#include <functional>
#include <vector>

namespace proxy {

class Deferred {
 public:
  explicit Deferred(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
  }
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;

  void post(std::function<void()> fn) {
    if (queue_.empty()) uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<Deferred*>(t->data)->run(); }, 0, 0);
    queue_.push_back(std::move(fn));
  }
  // The owner must call close() and keep this object alive until the loop has run once more.
  void close() {
    queue_.clear();
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }

 private:
  // The two vectors trade places and keep their capacity: a turn's posts allocate nothing.
  void run() {
    running_.swap(queue_);
    for (auto& fn : running_) fn();
    running_.clear();
  }
  uv_timer_t timer_{};
  std::vector<std::function<void()>> queue_, running_;
};

}  // namespace proxy
