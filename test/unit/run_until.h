// Test helper: runs a libuv loop until a condition holds or 3 seconds pass.
#pragma once

#include <uv.h>

#include <cstdint>

namespace test_loop {

// `pulse` (an initialised timer) wakes the loop every 5 ms so that `done` is checked even when no
// I/O comes. A plain loop over a template: it allocates nothing itself (allocation-counting cases
// rely on that).
template <typename Done>
bool run_until(uv_loop_t* loop, uv_timer_t* pulse, Done done, uint64_t ms = 3000) {
  uv_update_time(loop);
  const uint64_t deadline = uv_now(loop) + ms;
  uv_timer_start(pulse, [](uv_timer_t*) {}, 5, 5);
  while (!done() && uv_now(loop) < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(pulse);
  return done();
}

}  // namespace test_loop
