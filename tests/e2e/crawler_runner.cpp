#include "tests/e2e/crawler_runner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef CRAWLER_BIN
#error "CRAWLER_BIN must name the crawler binary"
#endif

namespace e2e {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/crawler-e2e-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = file(name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CrawlerProcess::CrawlerProcess(const std::vector<std::string>& args, const TempDir& dir,
                               const std::vector<std::string>& env) {
  static int counter = 0;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(++counter);
  out_path_ = dir.file("stdout-" + tag);
  err_path_ = dir.file("stderr-" + tag);
  std::vector<std::string> argv_s = {CRAWLER_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<std::string> env_copy = env;  // putenv keeps the pointer: no temporaries
  pid_ = ::fork();
  if (pid_ == 0) {
    for (auto& e : env_copy) ::putenv(e.data());
    ::setpgid(0, 0);  // its own process group, so tests can signal the crawl as a whole
    ::dup2(out, 1);
    ::dup2(err, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

CrawlerProcess::~CrawlerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void CrawlerProcess::signal(int signo) const {
  if (pid_ > 0) ::kill(pid_, signo);
}

void CrawlerProcess::signal_group(int signo) const {
  if (pid_ > 0) ::kill(-pid_, signo);
}

RunResult CrawlerProcess::wait(double timeout_s) {
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  int status = 0;
  for (;;) {
    const pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path_);
  r.err = read_file(err_path_);
  return r;
}

RunResult run_crawler(const std::vector<std::string>& args, double timeout_s,
                      const std::vector<std::string>& env) {
  TempDir dir;
  CrawlerProcess p(args, dir, env);
  return p.wait(timeout_s);
}

namespace {
struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

DbHandle open_or_throw(const std::string& db_path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(db_path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error("open " + db_path + ": " +
                             (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  return db;
}
}  // namespace

std::vector<std::string> query_rows(const std::string& db_path, const std::string& sql) {
  DbHandle db = open_or_throw(db_path, SQLITE_OPEN_READONLY);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error("prepare '" + sql + "': " + sqlite3_errmsg(db.get()));
  }
  std::vector<std::string> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i) row += '|';
      const auto* t = sqlite3_column_text(stmt, i);
      row += t ? reinterpret_cast<const char*>(t) : "NULL";
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  return rows;
}

std::set<std::string> query_set(const std::string& db_path, const std::string& sql) {
  auto rows = query_rows(db_path, sql);
  return {rows.begin(), rows.end()};
}

long long query_int(const std::string& db_path, const std::string& sql) {
  auto rows = query_rows(db_path, sql);
  if (rows.empty()) throw std::runtime_error("no rows: " + sql);
  return std::stoll(rows.front());
}

void execute_sql(const std::string& db_path, const std::string& sql) {
  DbHandle db = open_or_throw(db_path, SQLITE_OPEN_READWRITE);
  char* error = nullptr;
  if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string msg = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("'" + sql + "': " + msg);
  }
}

long long query_int_or_zero(const std::string& db_path, const std::string& sql) {
  if (::access(db_path.c_str(), F_OK) != 0) return 0;
  try {
    return query_int(db_path, sql);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string cmdline_of(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

namespace {
std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == '\0' && v > 0) pids.push_back(static_cast<pid_t>(v));
  }
  ::closedir(d);
  return pids;
}

// State letter from /proc/PID/stat ('Z' for zombies), and the parent pid.
bool stat_of(pid_t pid, char& state, pid_t& ppid) {
  const std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = s.rfind(')');
  if (close == std::string::npos || close + 4 > s.size()) return false;
  std::istringstream in(s.substr(close + 2));
  in >> state >> ppid;
  return static_cast<bool>(in);
}
}  // namespace

std::vector<pid_t> processes_with_arg(const std::string& needle) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    char state = 0;
    pid_t ppid = 0;
    if (!stat_of(pid, state, ppid) || state == 'Z') continue;
    if (cmdline_of(pid).find(needle) != std::string::npos) out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t pid : all_pids()) {
    char state = 0;
    pid_t ppid = 0;
    if (stat_of(pid, state, ppid) && ppid == parent && state != 'Z') out.push_back(pid);
  }
  return out;
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  std::size_t i = 0;
  bool field_started = false;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && !field_started) {
      ++i;
      for (;;) {
        if (i >= text.size()) throw std::runtime_error("csv: unterminated quote");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
      field_started = true;
      if (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
        throw std::runtime_error("csv: text after a closing quote");
      }
    } else if (c == ',') {
      end_field();
      ++i;
    } else if (c == '\r' || c == '\n') {
      end_field();
      records.push_back(std::move(record));
      record.clear();
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
    } else {
      field += c;
      field_started = true;
      ++i;
    }
  }
  if (field_started || !record.empty()) {
    end_field();
    records.push_back(std::move(record));
  }
  return records;
}

int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace e2e
