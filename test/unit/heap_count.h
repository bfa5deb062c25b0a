// Test helper: counts heap allocations, so that a test can show that a path allocates nothing.
#pragma once

#include <cstddef>

namespace heap_count {

// Allocations since the program started, in every thread.
size_t allocations();

}  // namespace heap_count
