// main() for `eddy` and for users' own binaries that link eddy::main.
#include "engine/cli.h"

int main(int argc, char** argv) { return eddy::RunEddyCli(argc, argv); }
