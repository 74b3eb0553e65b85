// libFuzzer target for parser/robots.h: RobotsRules::parse and check.
//
// Input: "<agent>\n<path>\n<robots.txt body>" (split at the first two newlines; missing parts
// are empty). The body is parsed for the agent, then the path, a few fixed paths and every
// rule's own pattern (as a path) are checked.
//
// Invariants (robots.h's contract), checked with a message and __builtin_trap():
//   - "/robots.txt" is always allowed;
//   - a disallowed verdict names its rule, which is a Disallow; an allowed one names an Allow
//     or nothing;
//   - check() is deterministic;
//   - parse() never keeps more than kRobotsMaxBytes worth of rules: rules() patterns come from
//     lines inside the limit.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "parser/robots.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view path) {
  std::fprintf(stderr, "fuzz_robots invariant broken: %s\n  [%.*s]\n", what,
               static_cast<int>(path.size()), path.data());
  __builtin_trap();
}

void check_path(const parser::RobotsRules& rules, std::string_view path) {
  const parser::RobotsVerdict verdict = rules.check(path);
  if (!verdict.allowed && (verdict.rule == nullptr || verdict.rule->allow)) {
    fail("a disallowed verdict without a Disallow rule", path);
  }
  if (verdict.allowed && verdict.rule != nullptr && !verdict.rule->allow) {
    fail("an allowed verdict naming a Disallow rule", path);
  }
  if (rules.check(path).allowed != verdict.allowed) fail("check() is not deterministic", path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto take_line = [&input]() {
    const auto nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    return line;
  };
  const std::string_view agent = take_line();
  const std::string_view path = take_line();
  const auto rules = parser::RobotsRules::parse(input, agent);
  if (!rules.allowed("/robots.txt")) fail("/robots.txt disallowed", "/robots.txt");
  check_path(rules, path);
  for (std::string_view fixed : {"", "/", "/a", "/a/b?c=d", "/%C3%A4", "/*$"}) {
    check_path(rules, fixed);
  }
  for (const auto& rule : rules.rules()) {
    if (rule.pattern.size() > parser::kRobotsMaxBytes) fail("a pattern over the input cap", "");
    check_path(rules, rule.pattern);
  }
  (void)parser::robots_agent_token(agent);
  return 0;
}
