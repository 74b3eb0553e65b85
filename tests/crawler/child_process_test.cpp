#include "crawler/child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

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
  // Put the write ends at 8 and 9 (dash redirects single-digit fds only), then ask for them
  // swapped: 8 -> 9, 9 -> 8.
  REQUIRE(::fcntl(8, F_GETFD) == -1);
  REQUIRE(::fcntl(9, F_GETFD) == -1);
  REQUIRE(::dup3(one.write_end, 8, O_CLOEXEC) == 8);
  REQUIRE(::dup3(two.write_end, 9, O_CLOEXEC) == 9);
  one.close_write();
  two.close_write();
  auto child = run_sh("echo one >&9; echo two >&8", {{8, 9}, {9, 8}});
  ::close(8);
  ::close(9);
  const int status = child.wait_or_kill(10000);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(one.drain() == "one\n");
  CHECK(two.drain() == "two\n");
}

TEST_CASE("child process: an unmapped fd of ours is not inherited") {
  Pipe out;
  Pipe other;  // close-on-exec, not mapped: the child must not see it
  const std::string script =
      "if [ -e /proc/self/fd/" + std::to_string(other.write_end) + " ]; then echo leaked >&3; " +
      "else echo clean >&3; fi";
  auto child = run_sh(script, {{out.write_end, 3}});
  out.close_write();
  other.close_write();
  CHECK(out.drain() == "clean\n");
  CHECK(WIFEXITED(child.wait_or_kill(10000)));
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
  CHECK(::waitpid(pid, &status, WNOHANG) == -1);
  CHECK(errno == ECHILD);
}
