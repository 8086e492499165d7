#include "engine/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

// jemalloc's control interface when jemalloc is the malloc; null otherwise.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace eddy {

HeapBytes HeapUsage() {
  HeapBytes h;
  if (&mallctl != nullptr) {
    // Statistics are cached until the epoch advances ("epoch" in
    // jemalloc(3)); "stats.resident" counts the allocator's resident pages,
    // its metadata included.
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    size_t allocated = 0, resident = 0;
    len = sizeof(size_t);
    if (mallctl("stats.allocated", &allocated, &len, nullptr, 0) == 0 &&
        mallctl("stats.resident", &resident, &len, nullptr, 0) == 0) {
      h.in_use = allocated;
      h.free = resident > allocated ? resident - allocated : 0;
      return h;
    }
  }
  const struct mallinfo2 mi = ::mallinfo2();
  h.in_use = mi.uordblks + mi.hblkhd;
  h.free = mi.fordblks;
  return h;
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

void ReleaseFreedMemory() {
  if (&mallctl != nullptr) return;
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace eddy
