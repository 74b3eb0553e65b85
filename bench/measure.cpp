// bench_measure: runs a command as a process tree and measures the whole tree: wall time, CPU
// time (user and sys) and peak memory (RSS summed over every process at the same instant).
//
//   bench_measure [--samples FILE] [--json FILE] [--interval-ms 50] [--timeout-s S]
//                 [--linger-s 5] [--pss] -- CMD ARGS...
//
// Prints one JSON line (to stdout, or to --json FILE):
//   {"wall_s":..,"cpu_user_s":..,"cpu_sys_s":..,"peak_rss_kib":..,"peak_pss_kib":..,
//    "peak_procs":..,"exit_code":..,"signal":..,"timed_out":..,"leftover":..,"unreaped":..,
//    "samples":..,"sampled_cpu_by_command":{"crawler __parser":{"procs":1,"cpu_s":..,
//    "runqueue_wait_s":..},..}}
// exit_code is CMD's exit status (-1 if a signal ended it; `signal` names the number).
// --samples FILE writes one line per sample: t_s rss_kib pss_kib procs cpu_s (space separated,
// a header line first); cpu_s is the tree's CPU time so far (user + sys).
// --timeout-s S: after S seconds SIGTERM goes to CMD's process group, and after 15 s more
// SIGKILL to every process of the tree. SIGINT/SIGTERM to bench_measure do the same at once.
//
// Method (why the figures cover the whole tree):
// - CMD runs in a new session (setsid), and bench_measure makes itself a child subreaper
//   (PR_SET_CHILD_SUBREAPER): a descendant whose parent dies is re-parented to us, not to
//   init, so every process CMD starts stays in our tree and is reaped either by its own
//   parent or by us.
// - The tree = every process descending from us, found through /proc/PID/task/TID/children
//   (or, on a kernel without those files, by following ppid over all of /proc). It is listed
//   every --interval-ms (default 50 ms); the sample's RSS is the sum of field 24 (resident
//   pages) over the tree, and peak_rss_kib is the largest such sum. RSS counts shared pages
//   (libraries, the binary, shared mappings) once per process, so the sum overstates what
//   the tree really costs; --pss adds the proportional set size (smaps_rollup), which splits
//   shared pages between the processes that map them.
// - CPU: wait4() returns the rusage of a reaped child, which includes every descendant that
//   child reaped itself (the kernel folds a waited-for child's times into its parent). So the
//   sum over the processes we reap covers every process that was reaped by anyone in the tree.
//   When CMD exits, the rest of its tree gets --linger-s to exit (orphans come to us and are
//   reaped, with their CPU), then SIGKILL. A process that still cannot be reaped after that
//   (it should not happen) is counted from its last sample: utime + stime + cutime + cstime
//   (its own time plus that of the children it reaped), and reported as "unreaped".
// - wall_s runs from fork to CMD's exit (not to the end of the linger).
// - sampled_cpu_by_command splits the CPU time by command (the executable's name plus its first
//   argument, e.g. "crawler __parser"): each process's own utime + stime at its last sample.
//   Sampled, so it misses up to one interval per process; for telling which process is busy,
//   not for the totals above. runqueue_wait_s is the time the processes were ready to run but
//   waited for a CPU (/proc/PID/schedstat, second field): on a shared machine, the share of
//   the slowdown that is someone else's load.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace {

using common::UniqueFd;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string samples_path;
  std::string json_path;
  int interval_ms = 50;
  double timeout_s = 0;  // 0 = none
  double linger_s = 5;
  bool pss = false;
  std::vector<char*> command;  // null-terminated for execvp
};

// One process as /proc/PID/stat shows it. Times are in clock ticks.
struct ProcStat {
  pid_t ppid = 0;
  std::uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
  std::uint64_t rss_pages = 0;
};

std::optional<ProcStat> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  std::string token;
  while (fields >> token && f.size() < 22) f.push_back(token);
  if (f.size() < 22) return std::nullopt;
  ProcStat s;
  s.ppid = static_cast<pid_t>(std::stol(f[1]));                 // field 4
  s.utime = std::stoull(f[11]);                                 // field 14
  s.stime = std::stoull(f[12]);                                 // field 15
  s.cutime = static_cast<std::uint64_t>(std::stoll(f[13]));     // field 16
  s.cstime = static_cast<std::uint64_t>(std::stoll(f[14]));     // field 17
  s.rss_pages = static_cast<std::uint64_t>(std::stoll(f[21]));  // field 24
  return s;
}

// "NAME ARG1" from /proc/PID/cmdline: the executable's base name and its first argument (if it
// has no '/' and is short), e.g. "crawler __parser", "crawler crawl", "python3", "wget2".
std::string command_label(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string arg0, arg1;
  std::getline(in, arg0, '\0');
  std::getline(in, arg1, '\0');
  std::string label = arg0.substr(arg0.rfind('/') + 1);
  if (!arg1.empty() && arg1.size() <= 24 && arg1.find('/') == std::string::npos) {
    label += " " + arg1;
  }
  for (char& c : label) {  // it goes into JSON as is
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  return label.empty() ? "?" : label;
}

// Nanoseconds the process has waited on a run queue (0 if the kernel has no schedstat).
std::uint64_t read_runqueue_wait_ns(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  std::uint64_t on_cpu = 0, waiting = 0;
  in >> on_cpu >> waiting;
  return waiting;
}

// Proportional set size of one process in KiB, 0 if unreadable.
std::uint64_t read_pss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key) {
    if (key == "Pss:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

// The pids listed in a file of whitespace-separated numbers; empty if it cannot be read.
std::vector<pid_t> read_pids(const std::string& path, bool* readable = nullptr) {
  std::ifstream in(path);
  if (readable) *readable = static_cast<bool>(in);
  std::vector<pid_t> pids;
  long pid = 0;
  while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

// Children of `pid` from /proc/PID/task/TID/children (every thread may have forked some).
// Nullopt if the kernel has no such file (CONFIG_PROC_CHILDREN off).
std::optional<std::vector<pid_t>> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ec;
  const std::string base = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(base, ec)) {
    bool readable = false;
    auto some = read_pids(task.path().string() + "/children", &readable);
    if (!readable && std::filesystem::exists(task.path(), ec)) return std::nullopt;
    children.insert(children.end(), some.begin(), some.end());
  }
  return children;
}

// Every process under `root` (excluding root itself), with its stat. Walks the children files
// (cost proportional to the tree); without them, scans all of /proc and follows ppid.
std::map<pid_t, ProcStat> list_tree(pid_t root) {
  std::map<pid_t, ProcStat> tree;
  std::vector<pid_t> todo{root};
  bool walkable = true;
  while (!todo.empty() && walkable) {
    const pid_t pid = todo.back();
    todo.pop_back();
    auto children = children_of(pid);
    if (!children) {
      walkable = false;
      break;
    }
    for (pid_t child : *children) {
      if (tree.count(child)) continue;
      if (auto s = read_stat(child)) {
        tree.emplace(child, *s);
        todo.push_back(child);
      }
    }
  }
  if (walkable) return tree;
  tree.clear();
  std::map<pid_t, ProcStat> all;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (auto s = read_stat(pid)) all.emplace(pid, *s);
  }
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& [pid, s] : all) children[s.ppid].push_back(pid);
  todo = {root};
  while (!todo.empty()) {
    const pid_t pid = todo.back();
    todo.pop_back();
    for (pid_t child : children[pid]) {
      if (tree.emplace(child, all[child]).second) todo.push_back(child);
    }
  }
  return tree;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double timeval_s(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

int usage() {
  std::cerr << "usage: bench_measure [--samples FILE] [--json FILE] [--interval-ms MS] "
               "[--timeout-s S] [--linger-s S] [--pss] -- CMD ARGS...\n";
  return 2;
}

class Measurement {
 public:
  explicit Measurement(Options options) : options_(std::move(options)) {}
  int run();

 private:
  void sample();
  void reap_all();
  void signal_tree(int sig);
  std::string json() const;

  Options options_;
  Clock::time_point start_;
  pid_t child_ = -1;
  std::optional<int> child_status_;
  double wall_s_ = 0;
  double reaped_user_s_ = 0, reaped_sys_s_ = 0;
  std::uint64_t peak_rss_kib_ = 0, peak_pss_kib_ = 0;
  std::size_t peak_procs_ = 0, samples_ = 0;
  std::map<pid_t, ProcStat> last_tree_;
  struct Seen {
    std::string label;
    double cpu_s = 0;   // own utime + stime at the last sample
    double wait_s = 0;  // run-queue wait at the last sample
  };
  std::map<pid_t, Seen> seen_;  // every process ever sampled
  std::set<pid_t> reaped_;
  bool timed_out_ = false;
  std::size_t leftover_ = 0, unreaped_ = 0;
  double unreaped_user_s_ = 0, unreaped_sys_s_ = 0;
  std::ofstream samples_out_;
  const double tick_s_ = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  const std::uint64_t page_kib_ = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
};

void Measurement::sample() {
  last_tree_ = list_tree(::getpid());
  std::uint64_t rss_kib = 0, pss_kib = 0;
  double live_cpu_s = 0;
  for (const auto& [pid, s] : last_tree_) {
    auto& seen = seen_[pid];
    // Read again each time: the process may have exec'd. A zombie's cmdline is empty ("?").
    if (auto label = command_label(pid); label != "?" || seen.label.empty()) seen.label = label;
    seen.cpu_s = static_cast<double>(s.utime + s.stime) * tick_s_;
    seen.wait_s = static_cast<double>(read_runqueue_wait_ns(pid)) / 1e9;
    rss_kib += s.rss_pages * page_kib_;
    if (options_.pss) pss_kib += read_pss_kib(pid);
    live_cpu_s += static_cast<double>(s.utime + s.stime + s.cutime + s.cstime) * tick_s_;
  }
  ++samples_;
  peak_rss_kib_ = std::max(peak_rss_kib_, rss_kib);
  peak_pss_kib_ = std::max(peak_pss_kib_, pss_kib);
  peak_procs_ = std::max(peak_procs_, last_tree_.size());
  if (samples_out_.is_open()) {
    char line[160];
    std::snprintf(line, sizeof line, "%.3f %llu %llu %zu %.2f\n", seconds_since(start_),
                  static_cast<unsigned long long>(rss_kib),
                  static_cast<unsigned long long>(pss_kib), last_tree_.size(),
                  reaped_user_s_ + reaped_sys_s_ + live_cpu_s);
    samples_out_ << line << std::flush;
  }
}

// Reaps every child that has exited (CMD itself, and orphans re-parented to us).
void Measurement::reap_all() {
  for (;;) {
    int status = 0;
    rusage usage{};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;
    reaped_user_s_ += timeval_s(usage.ru_utime);
    reaped_sys_s_ += timeval_s(usage.ru_stime);
    reaped_.insert(pid);
    if (pid == child_) {
      child_status_ = status;
      wall_s_ = seconds_since(start_);
    }
  }
}

void Measurement::signal_tree(int sig) {
  for (const auto& [pid, s] : list_tree(::getpid())) ::kill(pid, sig);
}

std::string Measurement::json() const {
  int exit_code = -1, signal_number = 0;
  if (child_status_ && WIFEXITED(*child_status_)) exit_code = WEXITSTATUS(*child_status_);
  if (child_status_ && WIFSIGNALED(*child_status_)) signal_number = WTERMSIG(*child_status_);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"wall_s\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"peak_rss_kib\":%llu,"
                "\"peak_pss_kib\":%llu,\"peak_procs\":%zu,\"exit_code\":%d,\"signal\":%d,"
                "\"timed_out\":%s,\"leftover\":%zu,\"unreaped\":%zu,\"samples\":%zu}",
                wall_s_, reaped_user_s_ + unreaped_user_s_, reaped_sys_s_ + unreaped_sys_s_,
                static_cast<unsigned long long>(peak_rss_kib_),
                static_cast<unsigned long long>(peak_pss_kib_), peak_procs_, exit_code,
                signal_number, timed_out_ ? "true" : "false", leftover_, unreaped_, samples_);
  struct Totals {
    int procs = 0;
    double cpu_s = 0, wait_s = 0;
  };
  std::map<std::string, Totals> by_command;
  for (const auto& [pid, seen] : seen_) {
    Totals& t = by_command[seen.label];
    ++t.procs;
    t.cpu_s += seen.cpu_s;
    t.wait_s += seen.wait_s;
  }
  std::string out(buf);
  out.pop_back();  // the closing brace
  out += ",\"sampled_cpu_by_command\":{";
  bool first = true;
  for (const auto& [label, v] : by_command) {
    char entry[96];
    std::snprintf(entry, sizeof entry, "\":{\"procs\":%d,\"cpu_s\":%.3f,\"runqueue_wait_s\":%.3f}",
                  v.procs, v.cpu_s, v.wait_s);
    out += (first ? "\"" : ",\"") + label + entry;
    first = false;
  }
  return out + "}}";
}

int Measurement::run() {
  if (!options_.samples_path.empty()) {
    samples_out_.open(options_.samples_path);
    if (!samples_out_) {
      std::cerr << "bench_measure: cannot write '" << options_.samples_path << "'\n";
      return 2;
    }
    samples_out_ << "t_s rss_kib pss_kib procs cpu_s\n";
  }
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::cerr << "bench_measure: PR_SET_CHILD_SUBREAPER: " << std::strerror(errno) << '\n';
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));

  start_ = Clock::now();
  child_ = ::fork();
  if (child_ < 0) {
    std::cerr << "bench_measure: fork: " << std::strerror(errno) << '\n';
    return 2;
  }
  if (child_ == 0) {
    ::sigprocmask(SIG_UNBLOCK, &signals, nullptr);
    ::setsid();  // its own session and process group: signals to the group reach only CMD's tree
    ::execvp(options_.command[0], options_.command.data());
    std::fprintf(stderr, "bench_measure: cannot run '%s': %s\n", options_.command[0],
                 std::strerror(errno));
    ::_exit(127);
  }

  std::optional<Clock::time_point> term_sent, linger_until;
  bool kill_sent = false;
  for (;;) {
    sample();
    reap_all();
    const auto now = Clock::now();
    if (child_status_ && !linger_until) {
      linger_until =
          now + std::chrono::milliseconds(static_cast<long long>(options_.linger_s * 1000));
    }
    if (child_status_ && list_tree(::getpid()).empty()) break;
    if (linger_until && now >= *linger_until) {
      if (kill_sent) break;
      leftover_ = list_tree(::getpid()).size();
      signal_tree(SIGKILL);
      kill_sent = true;
      linger_until = now + std::chrono::seconds(2);
    }
    if (!child_status_ && !term_sent && options_.timeout_s > 0 &&
        seconds_since(start_) > options_.timeout_s) {
      timed_out_ = true;
      ::kill(-child_, SIGTERM);
      term_sent = now;
    }
    if (term_sent && !kill_sent && now - *term_sent > std::chrono::seconds(15)) {
      signal_tree(SIGKILL);
      kill_sent = true;
    }
    pollfd fd{signal_fd.get(), POLLIN, 0};
    ::poll(&fd, 1, options_.interval_ms);
    signalfd_siginfo info{};
    while (::read(signal_fd.get(), &info, sizeof info) == sizeof info) {
      if ((info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) && !term_sent) {
        ::kill(-child_, SIGTERM);
        term_sent = Clock::now();
      }
    }
  }
  reap_all();
  // Processes still in the tree could not be reaped: count them from their last sample.
  for (const auto& [pid, s] : list_tree(::getpid())) {
    ++unreaped_;
    unreaped_user_s_ += static_cast<double>(s.utime + s.cutime) * tick_s_;
    unreaped_sys_s_ += static_cast<double>(s.stime + s.cstime) * tick_s_;
  }
  const std::string line = json();
  if (options_.json_path.empty()) {
    std::cout << line << std::endl;
  } else {
    std::ofstream out(options_.json_path);
    out << line << '\n';
  }
  if (!child_status_) return 1;
  return WIFEXITED(*child_status_) ? WEXITSTATUS(*child_status_) : 128 + WTERMSIG(*child_status_);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--") {
      ++i;
      break;
    }
    if (flag == "--pss") {
      options.pss = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (flag == "--samples")
      options.samples_path = value;
    else if (flag == "--json")
      options.json_path = value;
    else if (flag == "--interval-ms")
      options.interval_ms = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--timeout-s")
      options.timeout_s = std::atof(value.c_str());
    else if (flag == "--linger-s")
      options.linger_s = std::atof(value.c_str());
    else
      return usage();
  }
  if (i >= argc) return usage();
  for (; i < argc; ++i) options.command.push_back(argv[i]);
  options.command.push_back(nullptr);
  return Measurement(std::move(options)).run();
}
