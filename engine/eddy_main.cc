// main() for `eddy` and for users' own binaries that link eddy::main.
#include "engine/cli.h"

#if defined(EDDY_JEMALLOC)
// jemalloc reads its options from this symbol (jemalloc(3), "TUNING"); the
// MALLOC_CONF environment variable still overrides them. A background
// thread purges unused pages, also while the run waits for input: after
// dirty_decay_ms lazily (MADV_FREE: the kernel takes them back when it
// needs memory, and until then they count in RSS), after muzzy_decay_ms
// more for good. 30 s each (defaults 10 s and 0): a checkpoint every 5-10 s
// frees its batch and encodings and allocates them again at the next, and
// pages given back in between are faulted in again. In the soak at 10,000
// events/s, RSS over 4 minutes spread 56% with dirty_decay_ms 1 s, 23%
// with the defaults and 19% with 30 s (before the checkpoint batch was
// reserved and its copy for the changelog dropped).
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:30000,muzzy_decay_ms:30000";
}
#endif

int main(int argc, char** argv) { return eddy::RunEddyCli(argc, argv); }
