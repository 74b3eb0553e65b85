#pragma once
// The loop shared by the parse floors (bench_parse_floor: Gumbo; bench_libxml2_floor:
// libxml2): read every .html file under DIR from disk, in name order, and hand each to a
// parser that collects its a[href] values, in one thread; then print one JSON line:
// {"files":..,"bytes":..,"links":..,"wall_s":..,"cpu_s":..,"cpu_user_s":..,"cpu_sys_s":..}.
// wall_s and cpu_s cover the read and parse loop only (the directory listing is done before);
// cpu_s = user + sys of this process (getrusage). --print-links writes every href value, one
// per line, to stderr.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Appends the a[href] values of one document, in document order.
using HrefParser = std::function<void(std::string_view html, std::vector<std::string>& hrefs)>;

inline double cpu_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// argv: DIR [--print-links] and any flag `extra_flag` accepts (it returns false for one it
// does not know). Returns the process's exit status.
inline int run_floor(int argc, char** argv, const std::string& usage,
                     const std::function<bool(const std::string&)>& extra_flag,
                     const HrefParser& parse) {
  namespace fs = std::filesystem;
  std::string dir;
  bool print_links = false, bad_usage = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--print-links")
      print_links = true;
    else if (dir.empty() && arg.rfind("--", 0) != 0)
      dir = arg;
    else if (!extra_flag(arg))
      bad_usage = true;
  }
  if (dir.empty() || bad_usage) {
    std::cerr << "usage: " << usage << '\n';
    return 2;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".html") files.push_back(it->path());
  }
  if (ec) {
    std::cerr << argv[0] << ": " << dir << ": " << ec.message() << '\n';
    return 1;
  }
  std::sort(files.begin(), files.end());

  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  std::size_t bytes = 0, links = 0;
  std::vector<std::string> hrefs;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes += html.size();
    hrefs.clear();
    parse(html, hrefs);
    links += hrefs.size();
    if (print_links) {
      for (const auto& href : hrefs) std::cerr << href << '\n';
    }
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::getrusage(RUSAGE_SELF, &after);
  const double user_s = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  const double sys_s = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  std::printf(
      "{\"files\":%zu,\"bytes\":%zu,\"links\":%zu,\"wall_s\":%.4f,\"cpu_s\":%.4f,"
      "\"cpu_user_s\":%.4f,\"cpu_sys_s\":%.4f}\n",
      files.size(), bytes, links, wall_s, user_s + sys_s, user_s, sys_s);
  return 0;
}

}  // namespace bench
