// The `eddy` command-line front end.
//
// Every executable that links eddy::main gets this front end over the jobs
// and generators registered in it: the shipped `eddy` binary, and a user's
// own binary built from their job files (see README, "Your own jobs").
//
// Exit codes: 0 success; 1 the job failed while running; 2 bad invocation
// (unknown command, job, or flag; missing or unreadable input), with one line
// on stderr.
#ifndef EDDY_ENGINE_CLI_H_
#define EDDY_ENGINE_CLI_H_

namespace eddy {

int RunEddyCli(int argc, char** argv);

}  // namespace eddy

#endif  // EDDY_ENGINE_CLI_H_
