// main() for `eddy` and for users' own binaries that link eddy::main.
#include "engine/cli.h"

#if defined(EDDY_JEMALLOC)
// jemalloc reads its options from this symbol (jemalloc(3), "TUNING"); the
// MALLOC_CONF environment variable still overrides them. A background
// thread returns freed pages to the system after they stayed unused for
// dirty_decay_ms (then muzzy_decay_ms), also while the run waits for input.
// 30 s, not the default 10: a checkpoint every 5-10 s frees and allocates
// again its batch and encodings, and pages returned between two
// checkpoints are faulted in again at the next (the soak's RSS swung by
// ~25% with 10 s, ~1 s).
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:30000,muzzy_decay_ms:30000";
}
#endif

int main(int argc, char** argv) { return eddy::RunEddyCli(argc, argv); }
