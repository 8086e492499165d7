// An allocator for large, randomly accessed arrays (the keyed state's hash
// tables): allocations of 4 MiB and more are mapped on their own and marked
// for transparent huge pages (madvise(MADV_HUGEPAGE), Linux), so that a
// lookup in a table of a million keys misses the TLB far less often; smaller
// ones go to operator new. On kernels with THP off, or elsewhere, the hint is
// simply not taken.
//
// Measured on the 1 h lookback over 1M keys (bench/operators/window_benchmark):
// see bench/RESULTS.md.
#ifndef EDDY_STATE_HUGE_PAGE_ALLOCATOR_H_
#define EDDY_STATE_HUGE_PAGE_ALLOCATOR_H_

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace eddy {

namespace state_internal {

inline constexpr size_t kHugePage = size_t{2} << 20;
inline constexpr size_t kHugeAllocationMin = size_t{4} << 20;

// (Mappings are page-aligned, more than any type needs.)
inline void* AllocateLarge(size_t bytes, size_t align) {
  if (bytes < kHugeAllocationMin) return ::operator new(bytes, std::align_val_t(align));
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
  return p;
}

inline void DeallocateLarge(void* p, size_t bytes, size_t align) {
  if (bytes < kHugeAllocationMin) {
    ::operator delete(p, std::align_val_t(align));
    return;
  }
  munmap(p, (bytes + kHugePage - 1) / kHugePage * kHugePage);
}

}  // namespace state_internal

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    return static_cast<T*>(state_internal::AllocateLarge(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, size_t n) { state_internal::DeallocateLarge(p, n * sizeof(T), alignof(T)); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

}  // namespace eddy

#endif  // EDDY_STATE_HUGE_PAGE_ALLOCATOR_H_
