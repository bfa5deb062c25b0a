// Test helper: counts heap allocations (see heap_count.h), by the sanitizer's hooks in an
// AddressSanitizer build and by replacing the global operator new in any other.
#include "heap_count.h"

#include <atomic>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNT_BY_SANITIZER_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_COUNT_BY_SANITIZER_HOOKS 1
#endif
#endif

namespace {
std::atomic<size_t> g_allocations{0};
void count() { g_allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

size_t heap_count::allocations() { return g_allocations.load(std::memory_order_relaxed); }

#ifdef HEAP_COUNT_BY_SANITIZER_HOOKS
// ASan owns operator new and malloc (a replacement of ours trips its alloc-dealloc checks), but
// calls these hooks on every allocation. Declared here: GCC 12 ships no allocator_interface.h.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*on_malloc)(const volatile void*, size_t),
                                                         void (*on_free)(const volatile void*));
namespace {
void on_malloc(const volatile void*, size_t) { count(); }
void on_free(const volatile void*) {}
const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
namespace {
void* counted(size_t n) {
  count();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

// The aligned forms are left to the library: they allocate and free apart from these.
void* operator new(size_t n) { return counted(n); }
void* operator new[](size_t n) { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#endif
