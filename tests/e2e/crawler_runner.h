#pragma once

// Running the real `crawler` binary from tests: temporary directories, a child process with
// its output captured to files and a hard time limit, and reading the results database.
// The binary's path comes from the CRAWLER_BIN compile definition (tests/CMakeLists.txt).

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

namespace e2e {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to file(name) and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal
  std::string out, err;
  bool timed_out = false;
};

// A `crawler` process running in the background; killed (SIGKILL) and reaped on destruction
// if still running.
class CrawlerProcess {
 public:
  // Starts `crawler args...` with stdout/stderr going to files in `dir` and the variables in
  // `env` ("NAME=value") added to its environment.
  CrawlerProcess(const std::vector<std::string>& args, const TempDir& dir,
                 const std::vector<std::string>& env = {});
  ~CrawlerProcess();
  CrawlerProcess(const CrawlerProcess&) = delete;
  CrawlerProcess& operator=(const CrawlerProcess&) = delete;
  pid_t pid() const { return pid_; }
  // Waits up to timeout_s; on timeout kills the process (SIGKILL) and sets timed_out.
  RunResult wait(double timeout_s);
  void signal(int signo) const;
  // Sends signo to the process group the crawler leads (it and its workers), like a
  // terminal's Ctrl-C or `kill -- -PGID`.
  void signal_group(int signo) const;

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

// Runs `crawler args...` to completion (killed after timeout_s).
RunResult run_crawler(const std::vector<std::string>& args, double timeout_s = 120,
                      const std::vector<std::string>& env = {});

// Every row of a one-column-or-more query, columns joined by '|' (NULL as "NULL").
std::vector<std::string> query_rows(const std::string& db_path, const std::string& sql);
std::set<std::string> query_set(const std::string& db_path, const std::string& sql);
long long query_int(const std::string& db_path, const std::string& sql);
// Runs `sql` on the database, read-write (to set up a state, e.g. an old row); throws on error.
void execute_sql(const std::string& db_path, const std::string& sql);
// query_int, or 0 when the database or table does not exist (yet).
long long query_int_or_zero(const std::string& db_path, const std::string& sql);

// Pids of running processes whose command line contains `needle` (e.g. a unique db path).
std::vector<pid_t> processes_with_arg(const std::string& needle);
// Pids of the direct children of `parent`.
std::vector<pid_t> children_of(pid_t parent);
// Full command line of pid, arguments joined by spaces ("" if gone).
std::string cmdline_of(pid_t pid);

std::string read_file(const std::string& path);

// Parses RFC 4180 CSV (quoted fields with "" escapes, CRLF or LF line ends) into records.
// Throws std::runtime_error on malformed input (an unterminated quote, text after a quote).
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int unused_port();

}  // namespace e2e
