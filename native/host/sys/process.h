// pmetal MSL host runtime: running the compiler and the ASan helper as child processes.
#pragma once
#include <string>
#include <vector>

namespace pmetal {
namespace host {

struct ProcResult {
  int status = -1;  // exit code, or 128+signal, or -1 spawn failure, -2 timeout
  std::string out;  // stdout + stderr
};

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null and stdout+stderr into
// logPath; kills it after timeoutSec. extraEnv entries ("K=V") are added to the environment.
ProcResult runProcess(const std::vector<std::string>& argv, const std::string& logPath, double timeoutSec,
                      const std::vector<std::string>& extraEnv = {});

// The executable `name` on $PATH (or `name` itself when it holds a '/'), "" when absent.
std::string findInPath(const std::string& name);

}  // namespace host
}  // namespace pmetal
