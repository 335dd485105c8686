// pmetal MSL host runtime: child processes (see process.h).
#include "host/sys/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "host/sys/fs.h"

extern char** environ;

namespace pmetal {
namespace host {

ProcResult runProcess(const std::vector<std::string>& argv, const std::string& logPath, double timeoutSec,
                      const std::vector<std::string>& extraEnv) {
  ProcResult r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> av;
  for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) envs.push_back(*e);
  for (auto& e : extraEnv) envs.push_back(e);
  std::vector<char*> ev;
  for (auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    r.status = -1;
    r.out = std::string("cannot start ") + argv[0] + ": " + strerror(rc);
    return r;
  }
  auto t0 = std::chrono::steady_clock::now();
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el > timeoutSec) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.status = -2;
      r.out = readFile(logPath);
      return r;
    }
    usleep(el < 0.05 ? 500 : 5000);
  }
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) r.status = 128 + WTERMSIG(st);
  r.out = readFile(logPath);
  return r;
}

std::string findInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return exists(name) ? name : "";
  std::string path = envOr("PATH", "/usr/bin:/bin");
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i) + "/" + name;
    if (access(c.c_str(), X_OK) == 0) return c;
    i = j + 1;
  }
  return "";
}

}  // namespace host
}  // namespace pmetal
