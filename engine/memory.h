// The process's memory as the allocator and the kernel see it, and giving
// freed memory back (for metrics and for long-running jobs).
//
// The `eddy` binary's malloc is jemalloc (CMakeLists.txt); a program that
// links the engine without it has glibc's. Both are handled: jemalloc is
// detected at run time through its weak `mallctl` symbol.
#ifndef EDDY_ENGINE_MEMORY_H_
#define EDDY_ENGINE_MEMORY_H_

#include <cstdint>

namespace eddy {

struct HeapBytes {
  uint64_t in_use = 0;  // allocated and not freed
  uint64_t free = 0;    // the rest of what the allocator holds
};

// jemalloc's stats.allocated, and stats.resident minus it (freed pages not
// yet purged, unused room in pages in use, jemalloc's metadata; pages purged
// lazily still count in RSS but not here). With glibc, mallinfo2 over all
// arenas: chunks in use (heap and mmapped), and freed chunks kept for reuse
// (resident unless ReleaseFreedMemory handed their pages back). Under the
// sanitizers, whose malloc neither sees, the figures are glibc's idle heap's.
HeapBytes HeapUsage();

// VmRSS (/proc/self/statm); 0 if unreadable.
uint64_t ResidentBytes();

// Hands freed memory back to the system where the allocator would keep it:
// glibc's malloc keeps freed memory in its arenas for reuse and returns only
// what lies at the top of the main heap; malloc_trim(0) returns every whole
// free page of every arena (madvise; glibc >= 2.8). A live CTR run on glibc
// held 230 MiB of freed memory after 4 minutes against ~150 MiB in use, and
// its RSS kept rising. jemalloc needs nothing: its background thread returns
// pages unused for dirty_decay_ms.
void ReleaseFreedMemory();

}  // namespace eddy

#endif  // EDDY_ENGINE_MEMORY_H_
