#pragma once
// robots-check: which URLs a robots.txt saved to disk allows for one agent (RFC 9309 rules, see
// parser/robots.h). For site owners and for checking why a crawl skipped a page.

#include <ostream>
#include <string>
#include <vector>

namespace cli {

// Exit code of robots-check when at least one URL is disallowed (and none is invalid).
inline constexpr int kExitDisallowed = 3;

// crawler robots-check --robots FILE --agent NAME URL...
// Reads FILE ("-" = stdin; only its first parser::kRobotsMaxBytes bytes matter), then writes to
// `out`:
//   group: mybot                 the groups that apply: the agent's token, "*" or "none"
//   crawl-delay: 0.5 s           only if the applying groups have a valid Crawl-delay
//   allowed    URL               one line per URL, in order, the URL as given
//   allowed    URL  (line 7: Allow: /private/ok)       allowed by a rule
//   disallowed URL  (line 4: Disallow: /private)
//   invalid    URL  (unsupported scheme 'ftp')         a URL parse_url rejects
// The agent may be a whole User-Agent ("MyBot/1.0 (+https://x)"); its product token is used.
// Notes go to `err` prefixed "robots-check: ": lines of FILE not understood, a FILE longer than
// the parsed limit.
// Returns: 0 all URLs allowed; 3 (kExitDisallowed) some URL disallowed; 2 (kExitUsage) some URL
// invalid, or an agent without a product token (this wins over 3); 1 (kExitFailure) FILE cannot
// be read (message on `err`, nothing on `out`).
int run_robots_check(const std::string& robots_file, const std::string& agent,
                     const std::vector<std::string>& urls, std::ostream& out, std::ostream& err);

}  // namespace cli
