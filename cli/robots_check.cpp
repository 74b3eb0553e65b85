#include "cli/robots_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "cli/commands.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "parser/robots.h"
#include "parser/url.h"

namespace cli {

namespace {

constexpr std::string_view kName = "robots-check: ";

// Reads at most `max_bytes` from `fd`, retrying on EINTR.
common::Result<std::string> read_up_to(int fd, std::size_t max_bytes) {
  std::string body;
  char buffer[64 * 1024];
  while (body.size() < max_bytes) {
    const std::size_t want = std::min(sizeof buffer, max_bytes - body.size());
    const ssize_t got = ::read(fd, buffer, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      return common::make_error(common::ErrorCode::Io, std::strerror(errno));
    }
    if (got == 0) break;
    body.append(buffer, static_cast<std::size_t>(got));
  }
  return body;
}

// One byte past the parsed limit, so the parser can tell that the file was longer.
common::Result<std::string> read_robots(const std::string& path) {
  constexpr std::size_t kReadBytes = parser::kRobotsMaxBytes + 1;
  if (path == "-") return read_up_to(STDIN_FILENO, kReadBytes);
  common::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return common::make_error(common::ErrorCode::Io, std::strerror(errno));
  return read_up_to(fd.get(), kReadBytes);
}

// The shortest text that reads back as `value`: "5", "0.5".
std::string format_seconds(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "?";
  return std::string(buffer, end);
}

std::string describe(const parser::RobotsRule& rule) {
  return "line " + std::to_string(rule.line) + ": " + (rule.allow ? "Allow: " : "Disallow: ") +
         rule.pattern;
}

}  // namespace

int run_robots_check(const std::string& robots_file, const std::string& agent,
                     const std::vector<std::string>& urls, std::ostream& out, std::ostream& err) {
  const std::string token = parser::robots_agent_token(agent);
  if (token.empty()) {
    err << kName << "agent '" << agent << "' has no product token (letters, '-', '_')\n";
    return kExitUsage;
  }
  auto body = read_robots(robots_file);
  if (!body) {
    err << kName << "cannot read " << robots_file << ": " << body.error().context << "\n";
    return kExitFailure;
  }
  const auto rules = parser::RobotsRules::parse(*body, token);
  if (rules.truncated()) {
    err << kName << robots_file << ": only the first " << parser::kRobotsMaxBytes
        << " bytes were parsed\n";
  }
  if (rules.ignored_lines() > 0) {
    err << kName << robots_file << ": " << rules.ignored_lines()
        << (rules.ignored_lines() == 1 ? " line" : " lines") << " not understood, ignored\n";
  }

  switch (rules.group()) {
    case parser::RobotsGroup::Agent:
      out << "group: " << token << "\n";
      break;
    case parser::RobotsGroup::Wildcard:
      out << "group: *\n";
      break;
    case parser::RobotsGroup::None:
      out << "group: none\n";
      break;
  }
  if (auto delay = rules.crawl_delay_s()) {
    out << "crawl-delay: " << format_seconds(*delay) << " s\n";
  }

  bool any_invalid = false;
  bool any_disallowed = false;
  for (const auto& text : urls) {
    auto url = parser::parse_url(text);
    if (!url) {
      any_invalid = true;
      out << "invalid    " << text << "  (" << url.error().context << ")\n";
      continue;
    }
    std::string path_and_query = url->path;
    if (url->has_query) path_and_query += "?" + url->query;
    const auto verdict = rules.check(path_and_query);
    any_disallowed |= !verdict.allowed;
    out << (verdict.allowed ? "allowed    " : "disallowed ") << text;
    if (verdict.rule != nullptr) out << "  (" << describe(*verdict.rule) << ")";
    out << "\n";
  }
  if (any_invalid) return kExitUsage;
  if (any_disallowed) return kExitDisallowed;
  return kExitOk;
}

}  // namespace cli
