#include "crawler/scope.h"

#include <algorithm>
#include <cctype>

namespace crawler {

Scope::Scope(const std::vector<std::string>& seed_hosts,
             const std::vector<std::string>& allow_domains)
    : hosts_(seed_hosts.begin(), seed_hosts.end()) {
  for (std::string d : allow_domains) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!d.empty() && d.front() == '.') d.erase(d.begin());
    while (!d.empty() && d.back() == '.') d.pop_back();
    if (!d.empty()) domains_.push_back(std::move(d));
  }
}

bool Scope::allows(std::string_view host) const {
  if (hosts_.count(std::string(host)) > 0) return true;
  for (const auto& d : domains_) {
    if (host == d) return true;
    if (host.size() > d.size() && host.substr(host.size() - d.size()) == d &&
        host[host.size() - d.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::string_view host_of(std::string_view spec) {
  auto scheme_end = spec.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = spec.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    return close == std::string_view::npos ? rest : rest.substr(0, close + 1);
  }
  return rest.substr(0, rest.find(':'));
}

std::string origin_of(std::string_view spec) {
  auto scheme_end = spec.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view authority = spec.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string origin(spec.substr(0, scheme_end + 3));
  origin += authority;
  return origin;
}

}  // namespace crawler
