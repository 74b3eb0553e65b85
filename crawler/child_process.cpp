#include "crawler/child_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

namespace crawler {

using common::ErrorCode;
using common::make_error;
using common::Result;

namespace {

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

const std::string& self_executable() {
  static const std::string path = [] {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
  }();
  return path;
}

std::string sibling_executable(const std::string& name) {
  const std::string& self = self_executable();
  const auto slash = self.rfind('/');
  return slash == std::string::npos ? name : self.substr(0, slash + 1) + name;
}

Result<ChildProcess> ChildProcess::spawn(std::vector<std::string> argv,
                                         const std::vector<FdMapping>& fds) {
  if (argv.empty()) return make_error(ErrorCode::BadInput, "spawn: empty argv");
  argv[0] = self_executable();
  return spawn_program(self_executable(), std::move(argv), fds);
}

Result<ChildProcess> ChildProcess::spawn_program(const std::string& executable,
                                                 std::vector<std::string> argv,
                                                 const std::vector<FdMapping>& fds) {
  constexpr std::size_t kMaxFds = 16;
  if (argv.empty()) return make_error(ErrorCode::BadInput, "spawn: empty argv");
  if (fds.size() > kMaxFds) return make_error(ErrorCode::BadInput, "spawn: too many fds");
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const char* const path = executable.c_str();
  const std::size_t count = fds.size();
  // Sources are first moved above every target, so that a source numbered like a target
  // survives until it is placed.
  int highest_target = 2;
  for (const auto& fd : fds) {
    if (fd.child_fd < 0) return make_error(ErrorCode::BadInput, "spawn: negative child fd");
    highest_target = std::max(highest_target, fd.child_fd);
  }
  const int moved_base = highest_target + 1;
  const pid_t parent = ::getpid();
  // The child writes why it failed here before _exit: until it execs or exits it runs in our
  // memory, and we are suspended.
  volatile int child_errno = 0;
  const char* volatile child_step = nullptr;
  int moved[kMaxFds];
  // No handler of ours may run in the child while it shares our memory: every signal stays
  // blocked until the child has reset the handled ones to their default (as posix_spawn does).
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);

  const pid_t pid = ::vfork();
  if (pid == 0) {
    // Child, sharing our memory until exec: only system calls, no allocation, no return
    // from this function, nothing written but `moved`, child_errno, child_step and errno.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction current {};
      if (::sigaction(sig, nullptr, &current) != 0) continue;  // not a signal (32, 33)
      if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
        ::sigaction(sig, &dfl, nullptr);
      }
    }
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    // Ctrl-C and SIGTERM reach the whole process group; only the coordinator acts on them
    // (it stops workers with a Stop message and finishes what they hold).
    ::sigaction(SIGINT, &ignore, nullptr);
    ::sigaction(SIGTERM, &ignore, nullptr);
    ::sigaction(SIGPIPE, &ignore, nullptr);
    ::sigaction(SIGCHLD, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (std::size_t i = 0; i < count; ++i) {
      moved[i] = ::fcntl(fds[i].parent_fd, F_DUPFD_CLOEXEC, moved_base);
      if (moved[i] < 0) {
        child_errno = errno;
        child_step = "dup";
        ::_exit(125);
      }
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (::dup2(moved[i], fds[i].child_fd) < 0) {  // dup2 clears close-on-exec
        child_errno = errno;
        child_step = "dup2";
        ::_exit(125);
      }
    }
    ::execv(path, args.data());
    child_errno = errno;
    child_step = "exec";
    ::_exit(127);
  }
  const int vfork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) return make_error(ErrorCode::Io, std::string("vfork: ") + std::strerror(vfork_errno));
  if (child_step != nullptr) {
    const int error = child_errno;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return make_error(ErrorCode::Io, std::string("start ") + executable + ": " +
                                         const_cast<const char*>(child_step) + ": " +
                                         std::strerror(error));
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
