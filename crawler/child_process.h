#pragma once
// ChildProcess: a worker process running one of our executables (vfork + exec: `crawler`
// itself for the parser, `crawler-fetcher` beside it for fetchers), so it starts from a clean
// image whatever threads or state the parent has.
//
// vfork, not fork: the child borrows our memory until its exec instead of copying our page
// tables, and we do not take a copy-on-write fault on every page we touch afterwards. That
// was 15-20 ms of CPU per crawl (docs/PERFORMANCE.md, "fixed cost"). An exec that fails is
// reported by spawn() as an error, not as a child that exits at once. spawn() returns at the
// exec's point of no return; the kernel closes the child's close-on-exec fds just after, so
// for a moment /proc may still list them (harmless: the new program never sees them).
//
// The child inherits only the fds named in `fds` (moved to the given numbers) and those of
// ours without close-on-exec, starts with no signal handler of ours and an empty signal mask,
// ignores SIGINT and SIGTERM (they reach the whole process group; the coordinator decides how
// to stop), and gets SIGKILL if the process that spawned it dies, so no worker outlives its
// coordinator. The destructor of a child still running kills it (SIGKILL) and reaps it: no
// zombies. Stopping cleanly is the owner's job (a Stop message, then wait_or_kill).

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace crawler {

struct FdMapping {
  int parent_fd;  // an fd of ours (may be close-on-exec)
  int child_fd;   // its number in the child: 3, 4, ...
};

class ChildProcess {
 public:
  // argv[0] is replaced by the path of our own executable.
  [[nodiscard]] static common::Result<ChildProcess> spawn(std::vector<std::string> argv,
                                                          const std::vector<FdMapping>& fds);
  // Runs `executable` (a path, not searched in PATH) with `argv` as given. At most 16 fds.
  [[nodiscard]] static common::Result<ChildProcess> spawn_program(
      const std::string& executable, std::vector<std::string> argv,
      const std::vector<FdMapping>& fds);
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0; }
  // Reaps the child if it has exited; then `status` is its wait status.
  bool try_reap(int& status);
  // Waits up to `timeout_ms` for the child to exit; on timeout sends SIGKILL and reaps it.
  int wait_or_kill(int timeout_ms);
  void signal(int sig) const;

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// The path of our own executable, and of `name` in the same directory.
const std::string& self_executable();
std::string sibling_executable(const std::string& name);

// "exited with status 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace crawler
