#include "crawler/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

namespace crawler {

using common::ErrorCode;
using common::make_error;
using common::Result;

namespace {

std::string self_executable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<std::size_t>(n));
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(std::vector<std::string> argv,
                                         const std::vector<FdMapping>& fds) {
  static const std::string executable = self_executable();
  if (argv.empty()) return make_error(ErrorCode::BadInput, "spawn: empty argv");
  argv[0] = executable;
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::Io, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    // Ctrl-C and SIGTERM reach the whole process group; only the coordinator acts on them
    // (it stops workers with a Stop message and finishes what they hold).
    ::sigaction(SIGINT, &ignore, nullptr);
    ::sigaction(SIGTERM, &ignore, nullptr);
    ::sigaction(SIGPIPE, &ignore, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, nullptr);
    // Move sources out of the way first, so a source numbered like a target survives.
    int moved[16];
    const std::size_t count = fds.size() < 16 ? fds.size() : 16;
    for (std::size_t i = 0; i < count; ++i) {
      moved[i] = ::fcntl(fds[i].parent_fd, F_DUPFD_CLOEXEC, 100);
      if (moved[i] < 0) ::_exit(125);
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (::dup2(moved[i], fds[i].child_fd) < 0) ::_exit(125);  // dup2 clears close-on-exec
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    wait_or_kill(0);  // children ignore SIGTERM: a still-running child gets SIGKILL
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      wait_or_kill(0);
    }
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::try_reap(int& status) {
  if (pid_ <= 0) return false;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

int ChildProcess::wait_or_kill(int timeout_ms) {
  int status = 0;
  for (int waited = 0; pid_ > 0; waited += 10) {
    if (try_reap(status)) return status;
    if (waited >= timeout_ms) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
      return status;
    }
    sleep_ms(10);
  }
  return status;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped";
}

}  // namespace crawler
