#include "crawler/child_process.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  void close_write() {
    ::close(write_end);
    write_end = -1;
  }
  // Everything written until every writer closed its end.
  std::string drain() const {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(read_end, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

crawler::ChildProcess run_sh(const std::string& script, const std::vector<crawler::FdMapping>& fds) {
  auto child = crawler::ChildProcess::spawn_program("/bin/sh", {"sh", "-c", script}, fds);
  REQUIRE(child);
  REQUIRE(child->running());
  return std::move(*child);
}

}  // namespace

TEST_CASE("child process: the exit status comes back through wait_or_kill") {
  struct Case {
    const char* script;
    int exit_status;
  };
  const Case cases[] = {{"exit 0", 0}, {"exit 7", 7}, {"false", 1}};
  for (const auto& c : cases) {
    INFO(c.script);
    auto child = run_sh(c.script, {});
    const int status = child.wait_or_kill(10000);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == c.exit_status);
    CHECK_FALSE(child.running());
  }
}

TEST_CASE("child process: fds arrive at their numbers, even when sources and targets cross") {
  Pipe one;
  Pipe two;
  // Two free fds of one digit (dash redirects single-digit fds only): a and b.
  std::vector<int> free_fds;
  for (int fd = 3; fd <= 9 && free_fds.size() < 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) free_fds.push_back(fd);
  }
  REQUIRE(free_fds.size() == 2);
  const int a = free_fds[0], b = free_fds[1];
  // Put the write ends at a and b, then ask for them swapped: a -> b, b -> a.
  REQUIRE(::dup3(one.write_end, a, O_CLOEXEC) == a);
  REQUIRE(::dup3(two.write_end, b, O_CLOEXEC) == b);
  one.close_write();
  two.close_write();
  const std::string script =
      "echo one >&" + std::to_string(b) + "; echo two >&" + std::to_string(a);
  auto child = run_sh(script, {{a, b}, {b, a}});
  ::close(a);
  ::close(b);
  const int status = child.wait_or_kill(10000);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(one.drain() == "one\n");
  CHECK(two.drain() == "two\n");
}

TEST_CASE("child process: only the mapped fds and our fds without close-on-exec are inherited") {
  // What the child may have: 0-2, our fds without close-on-exec (a test runner may pass some
  // down), and the one we map. Not: our close-on-exec fds, nor the copies spawn makes.
  std::set<int> allowed = {0, 1, 2, 3};
  for (int fd = 0; fd < 1024; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) allowed.insert(fd);
  }
  Pipe out;
  Pipe other;  // close-on-exec, not mapped
  auto child = crawler::ChildProcess::spawn_program("/bin/sleep", {"sleep", "30"},
                                                    {{out.write_end, 3}});
  REQUIRE(child);
  // spawn returns when vfork lets us go, at the exec's point of no return: the kernel closes
  // the child's close-on-exec fds just after, and then the dynamic loader and sleep's start-up
  // open and close files of their own. Once sleep is in its nanosleep, the fds left are what
  // the child inherited.
  const std::string proc = "/proc/" + std::to_string(child->pid());
  const std::string syscall_path = proc + "/syscall";
  const std::set<std::string> sleeping = {std::to_string(SYS_clock_nanosleep),
                                          std::to_string(SYS_nanosleep)};
  std::string call;
  for (int waited_ms = 0; waited_ms < 10000 && sleeping.count(call) == 0; ++waited_ms) {
    ::usleep(1000);
    std::ifstream in(syscall_path);
    in >> call;  // the number of the system call it is blocked in, or "running"
  }
  INFO(syscall_path << " read \"" << call << "\" (empty: not readable)");
  REQUIRE(sleeping.count(call) == 1);
  std::set<int> seen;
  for (int fd = 0; fd < 1024; ++fd) {
    const std::string link = proc + "/fd/" + std::to_string(fd);
    if (::access(link.c_str(), F_OK) == 0) seen.insert(fd);
  }
  CHECK(seen.count(3) == 1);
  for (int fd : seen) {
    INFO("fd " << fd);
    CHECK(allowed.count(fd) == 1);
  }
}

TEST_CASE("child process: SIGTERM and SIGINT are ignored, they are the coordinator's to act on") {
  Pipe out;
  auto child = run_sh("kill -TERM $$; kill -INT $$; echo alive >&3", {{out.write_end, 3}});
  out.close_write();
  CHECK(out.drain() == "alive\n");
  const int status = child.wait_or_kill(10000);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("child process: a program that cannot be started is an error, not a dead child") {
  auto missing = crawler::ChildProcess::spawn_program("/nonexistent/crawler", {"crawler"}, {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().context.find("/nonexistent/crawler") != std::string::npos);
  CHECK(missing.error().context.find("exec") != std::string::npos);
  CHECK(missing.error().context.find("No such file") != std::string::npos);

  auto bad_fd = crawler::ChildProcess::spawn_program("/bin/sh", {"sh", "-c", "exit 0"}, {{987, 3}});
  REQUIRE_FALSE(bad_fd);
  CHECK(bad_fd.error().context.find("dup") != std::string::npos);
}

TEST_CASE("child process: a still-running child is killed and reaped by the destructor") {
  pid_t pid = -1;
  {
    auto child = run_sh("exec sleep 30", {});
    pid = child.pid();
  }
  // Reaped: the pid is no longer our child.
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  const int error = errno;
  CHECK(r == -1);
  CHECK(error == ECHILD);
}
