#pragma once
// Scope: which hosts a crawl may fetch from. By default the seeds' hosts exactly; each
// --allow-domain D adds D and every subdomain of D ("example.com" admits "www.example.com"
// but not "badexample.com").

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace crawler {

class Scope {
 public:
  Scope(const std::vector<std::string>& seed_hosts, const std::vector<std::string>& allow_domains);
  // `host` must be lowercase, as parser::Url gives it.
  bool allows(std::string_view host) const;

 private:
  std::unordered_set<std::string> hosts_;
  std::vector<std::string> domains_;  // lowercase, no leading dot
};

// The host of a normalized URL spec ("http://user@Host:8080/x" -> "host"), or "".
std::string_view host_of(std::string_view spec);

// The origin of a normalized URL spec, the unit of robots.txt:
// "http://user@host:8080/x?y" -> "http://host:8080"; "" if spec has no "://".
std::string origin_of(std::string_view spec);

}  // namespace crawler
