// main() for `eddy` and for users' own binaries that link eddy::main.
#include "engine/cli.h"

#if defined(EDDY_JEMALLOC)
// jemalloc reads its options from this symbol (jemalloc(3), "TUNING"); the
// MALLOC_CONF environment variable still overrides them. A background
// thread purges unused pages, also while the run waits for input.
//
// RSS is what the allocator keeps resident: the pages in use, and freed
// pages until they are purged. A live job frees and allocates the same
// amounts again every few seconds (a checkpoint's batch and changelog
// messages, RocksDB's memtables as they fill and flush), so the soak's RSS
// swings with how many freed pages happen to be held when it is sampled.
// - narenas:1: one arena for every thread. With the default (8 arenas on
//   2 cores) pages freed by one thread's arena were not reused by another's
//   (RocksDB's flush thread, librdkafka's threads, the job's): without
//   purging, free pages grew ~0.25 MiB/s without bound; with 30 s decay
//   the soak's RSS was ~40 MiB higher than with one arena.
// - dirty_decay_ms 5 min, muzzy 0: freed pages are purged for good over
//   five minutes, so RSS follows the peak of the last few minutes' use, not
//   each checkpoint's. (Decays of 1 s, 10 s and 30 s gave spreads of 56%,
//   23% and 15-19%; bench/RESULTS.md, the soak.)
extern "C" {
const char* malloc_conf = "background_thread:true,narenas:1,dirty_decay_ms:300000,muzzy_decay_ms:0";
}
#endif

int main(int argc, char** argv) { return eddy::RunEddyCli(argc, argv); }
