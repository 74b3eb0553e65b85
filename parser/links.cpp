#include "parser/links.h"

#include <gumbo.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "parser/html_chars.h"
#include "parser/html_document.h"
#include "parser/text_runs.h"

namespace parser {
namespace {

constexpr std::size_t kMaxTitleBytes = 1024;

using html::iequals;

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim_html_space(std::string_view s) {
  while (!s.empty() && html::is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && html::is_space(s.back())) s.remove_suffix(1);
  return s;
}

// True if `list`, split on `is_separator`, holds `token` (ASCII case-insensitive).
template <class IsSeparator>
bool has_token(std::string_view list, std::string_view token, IsSeparator is_separator) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && is_separator(list[i])) ++i;
    std::size_t end = i;
    while (end < list.size() && !is_separator(list[end])) ++end;
    if (iequals(list.substr(i, end - i), token)) return true;
    i = end;
  }
  return false;
}

bool has_rel(std::string_view rel, std::string_view token) {
  return has_token(rel, token, html::is_space);
}

// Robots directives are comma-separated; we also split on ';' and whitespace because pages
// write "noindex; nofollow" and "noindex nofollow". No directive we read contains those.
bool has_robots_directive(std::string_view content, std::string_view directive) {
  return has_token(content, directive,
                   [](char c) { return c == ',' || c == ';' || html::is_space(c); });
}

// The value of attribute `name` (lowercase), or nullopt if absent. Gumbo has already
// lowercased HTML attribute names and decoded character references; values are
// NUL-terminated (Gumbo replaces NUL bytes with U+FFFD).
std::optional<std::string_view> attribute(const GumboElement& element, const char* name) {
  // gumbo_get_attribute only reads the vector; its C signature just lacks the const.
  const GumboAttribute* attr =
      gumbo_get_attribute(const_cast<GumboVector*>(&element.attributes), name);
  if (attr == nullptr) return std::nullopt;
  return std::string_view(attr->value);
}

// The URL of <meta http-equiv="refresh" content="...">, following the HTML standard's
// "shared declarative refresh steps" but leniently: the delay may be missing, "url=" is
// optional and case-insensitive, and the URL may be quoted. Returns "" when there is none
// (a plain "5" refreshes the page itself).
std::string_view refresh_url(std::string_view content) {
  std::size_t i = 0;
  const std::size_t n = content.size();
  auto skip_space = [&] {
    while (i < n && html::is_space(content[i])) ++i;
  };
  skip_space();
  const std::size_t delay_begin = i;
  while (i < n && (is_digit(content[i]) || content[i] == '.')) ++i;
  // The standard rejects "5x": after a delay must come a separator.
  if (i > delay_begin && i < n && content[i] != ';' && content[i] != ',' &&
      !html::is_space(content[i])) {
    return {};
  }
  skip_space();
  if (i < n && (content[i] == ';' || content[i] == ',')) {
    ++i;
    skip_space();
  }
  std::string_view url = content.substr(i);
  if (istarts_with(url, "url")) {
    std::size_t k = 3;
    while (k < url.size() && html::is_space(url[k])) ++k;
    if (k < url.size() && url[k] == '=') {
      ++k;
      while (k < url.size() && html::is_space(url[k])) ++k;
      url.remove_prefix(k);
    }
  }
  if (!url.empty() && (url.front() == '"' || url.front() == '\'')) {
    const char quote = url.front();
    url.remove_prefix(1);
    url = url.substr(0, url.find(quote));
  }
  return trim_html_space(url);
}

// An href as a URL parser sees it (WHATWG URL): leading and trailing C0 controls and spaces
// stripped, tabs and newlines inside removed. Returns a view of `value` in the usual case;
// only when something inside must go is a cleaned copy made, kept alive in `scratch`.
std::string_view clean_href(std::string_view value, std::deque<std::string>& scratch) {
  auto is_c0_or_space = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!value.empty() && is_c0_or_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_c0_or_space(value.back())) value.remove_suffix(1);
  auto is_tab_or_newline = [](char c) { return c == '\t' || c == '\n' || c == '\r'; };
  if (std::none_of(value.begin(), value.end(), is_tab_or_newline)) return value;
  std::string& cleaned = scratch.emplace_back();
  cleaned.reserve(value.size());
  std::copy_if(value.begin(), value.end(), std::back_inserter(cleaned),
               [&](char c) { return !is_tab_or_newline(c); });
  return cleaned;
}

// Empty and fragment-only hrefs ("", "#top") name the page itself, never a new document, so
// they are not links; they are not counted in links_skipped either (they are not dropped
// URLs, just no URLs at all).
bool names_this_page(std::string_view href) { return href.empty() || href.front() == '#'; }

// The length of the well-formed UTF-8 character at the start of `s` (Unicode 15 table 3-7:
// no overlongs, surrogates or code points past U+10FFFF), or 0 if there is none.
std::size_t utf8_char_length(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // The range of the second byte, which depends on the first.
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// `text` with every ill-formed UTF-8 byte replaced by U+FFFD. Returns `text` itself when it
// is well-formed (the usual case), else a repaired copy kept alive in `scratch`.
// Gumbo 0.10.1 does not guarantee well-formed text: a numeric character reference past
// INT_MAX ("&#xF00000CC;") overflows its int and comes out as the low byte alone (0xCC).
std::string_view well_formed_utf8(std::string_view text, std::string& scratch) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_char_length(text.substr(i));
    if (length == 0) break;
    i += length;
  }
  if (i == text.size()) return text;
  scratch.assign(text.substr(0, i));
  while (i < text.size()) {
    const std::size_t length = utf8_char_length(text.substr(i));
    if (length == 0) {
      scratch += "\xEF\xBF\xBD";
      ++i;
    } else {
      scratch.append(text.substr(i, length));
      i += length;
    }
  }
  return scratch;
}

// Appends text with runs of ASCII whitespace collapsed to one space, no leading or trailing
// space, and at most `max_bytes` bytes, cut at a UTF-8 character boundary.
class CollapsingWriter {
 public:
  CollapsingWriter(std::string& out, std::size_t max_bytes) : out_(out), max_bytes_(max_bytes) {}

  bool full() const noexcept { return full_; }

  // A place where words must not glue together (an element boundary).
  void separate() noexcept { pending_space_ = true; }

  void append(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && !full_) {
      if (html::is_space(text[i])) {
        pending_space_ = true;
        ++i;
        continue;
      }
      std::size_t end = i + 1;
      while (end < text.size() && !html::is_space(text[end])) ++end;
      append_word(text.substr(i, end - i));
      i = end;
    }
  }

  // Drops a space left dangling when the cap cut the word after it.
  void finish() {
    if (!out_.empty() && out_.back() == ' ') out_.pop_back();
  }

 private:
  void append_word(std::string_view word) {
    word = well_formed_utf8(word, repaired_);
    if (pending_space_ && !out_.empty()) {
      if (out_.size() + 1 >= max_bytes_) {
        full_ = true;
        return;
      }
      out_.push_back(' ');
    }
    pending_space_ = false;
    const std::size_t room = max_bytes_ - out_.size();
    if (word.size() <= room) {
      out_.append(word);
      return;
    }
    // Back off over UTF-8 continuation bytes (10xxxxxx) so no character is split; a valid
    // character has at most three, and `word` is well-formed (see well_formed_utf8).
    std::size_t cut = room;
    for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80;
         ++i) {
      --cut;
    }
    out_.append(word.substr(0, cut));
    full_ = true;
  }

  std::string& out_;
  std::string repaired_;  // backs `word` in append_word when Gumbo's text was ill-formed
  const std::size_t max_bytes_;
  bool pending_space_ = false;
  bool full_ = false;
};

// Elements whose text is not rendered. Title is in head, and hidden even if misplaced.
bool hides_text(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES:
      return true;
    default:
      return false;
  }
}

// Phrasing elements: "<b>w</b>ord" reads "word". Every other element (including unknown
// ones) separates words, so "<p>a</p><p>b</p>" reads "a b".
bool is_inline(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_ABBR:
    case GUMBO_TAG_ACRONYM:
    case GUMBO_TAG_B:
    case GUMBO_TAG_BDI:
    case GUMBO_TAG_BDO:
    case GUMBO_TAG_BIG:
    case GUMBO_TAG_CITE:
    case GUMBO_TAG_CODE:
    case GUMBO_TAG_DATA:
    case GUMBO_TAG_DEL:
    case GUMBO_TAG_DFN:
    case GUMBO_TAG_EM:
    case GUMBO_TAG_FONT:
    case GUMBO_TAG_I:
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_INS:
    case GUMBO_TAG_KBD:
    case GUMBO_TAG_LABEL:
    case GUMBO_TAG_MARK:
    case GUMBO_TAG_NOBR:
    case GUMBO_TAG_Q:
    case GUMBO_TAG_RB:
    case GUMBO_TAG_RUBY:
    case GUMBO_TAG_S:
    case GUMBO_TAG_SAMP:
    case GUMBO_TAG_SMALL:
    case GUMBO_TAG_SPAN:
    case GUMBO_TAG_STRIKE:
    case GUMBO_TAG_STRONG:
    case GUMBO_TAG_SUB:
    case GUMBO_TAG_SUP:
    case GUMBO_TAG_TIME:
    case GUMBO_TAG_TT:
    case GUMBO_TAG_U:
    case GUMBO_TAG_VAR:
    case GUMBO_TAG_WBR:
      return true;
    default:
      return false;
  }
}

// A link target as found in the document, before resolution. Views point into the Gumbo
// tree, so candidates must not outlive the HtmlDocument.
struct Candidate {
  std::string_view href;
  bool nofollow = false;
};

// One pass over the tree collects raw hrefs and metadata; resolution waits until the walk is
// done because the first <base href> applies to every URL, even those before it.
class Extractor {
 public:
  Extractor(const ExtractOptions& options, PageInfo& info)
      : options_(options),
        info_(info),
        title_(info.title, kMaxTitleBytes),
        text_(info.text, options.max_text_bytes) {}

  void walk(const GumboNode* root);
  void resolve(const Url& page_url);

 private:
  void visit_element(const GumboNode& node);
  void read_title(const GumboElement& title);
  void read_meta(const GumboElement& meta);
  bool wants_text() const noexcept { return options_.max_text_bytes > 0 && !text_.full(); }

  const ExtractOptions& options_;
  PageInfo& info_;
  CollapsingWriter title_;
  CollapsingWriter text_;
  std::vector<Candidate> candidates_;
  std::optional<std::string_view> base_href_;       // of the first <base href>
  std::optional<std::string_view> canonical_href_;  // of the first <link rel=canonical href>
  bool title_seen_ = false;
};

void Extractor::walk(const GumboNode* root) {
  // An explicit stack: hostile pages nest elements 100000 deep, and recursion would overflow
  // the thread's stack. A closing frame marks the end of an element's children.
  struct Frame {
    const GumboNode* node;
    bool hidden;   // inside an element whose text is not rendered
    bool closing;  // children done: an element boundary for the visible text
  };
  std::vector<Frame> stack;
  stack.reserve(64);
  if (root != nullptr) stack.push_back({root, false, false});
  while (!stack.empty()) {
    const Frame frame = stack.back();
    stack.pop_back();
    const GumboNode& node = *frame.node;
    switch (node.type) {
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE: {
        if (frame.closing) {
          text_.separate();
          break;
        }
        visit_element(node);
        const GumboElement& element = node.v.element;
        const bool hidden = frame.hidden || hides_text(element.tag);
        if (!hidden && wants_text() && !is_inline(element.tag)) {
          text_.separate();
          stack.push_back({&node, hidden, true});
        }
        for (unsigned int i = element.children.length; i > 0; --i) {
          stack.push_back(
              {static_cast<const GumboNode*>(element.children.data[i - 1]), hidden, false});
        }
        break;
      }
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_WHITESPACE:
      case GUMBO_NODE_CDATA:
        if (!frame.hidden && wants_text()) text_.append(node.v.text.text);
        break;
      case GUMBO_NODE_DOCUMENT:
      case GUMBO_NODE_COMMENT:
        break;
    }
  }
  title_.finish();
  text_.finish();
}

void Extractor::visit_element(const GumboNode& node) {
  const GumboElement& element = node.v.element;
  switch (element.tag) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_AREA:
    case GUMBO_TAG_LINK: {
      const auto href = attribute(element, "href");
      if (!href) break;
      const auto rel = attribute(element, "rel");
      candidates_.push_back({*href, rel && has_rel(*rel, "nofollow")});
      if (element.tag == GUMBO_TAG_LINK && !canonical_href_ && rel && has_rel(*rel, "canonical")) {
        canonical_href_ = *href;
      }
      break;
    }
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_FRAME:
      if (const auto src = attribute(element, "src")) candidates_.push_back({*src, false});
      break;
    case GUMBO_TAG_BASE:
      if (!base_href_) base_href_ = attribute(element, "href");
      break;
    case GUMBO_TAG_META:
      read_meta(element);
      break;
    case GUMBO_TAG_TITLE:
      // Only an HTML title names the page; <svg><title> is a tooltip.
      if (!title_seen_ && element.tag_namespace == GUMBO_NAMESPACE_HTML) {
        title_seen_ = true;
        read_title(element);
      }
      break;
    default:
      break;
  }
}

void Extractor::read_title(const GumboElement& title) {
  // Title is RCDATA: its children are text, normally a single node.
  for (unsigned int i = 0; i < title.children.length && !title_.full(); ++i) {
    const auto* child = static_cast<const GumboNode*>(title.children.data[i]);
    if (child->type == GUMBO_NODE_TEXT || child->type == GUMBO_NODE_WHITESPACE) {
      title_.append(child->v.text.text);
    }
  }
}

void Extractor::read_meta(const GumboElement& meta) {
  const auto content = attribute(meta, "content");
  if (!content) return;
  if (const auto equiv = attribute(meta, "http-equiv");
      equiv && iequals(trim_html_space(*equiv), "refresh")) {
    const std::string_view url = refresh_url(*content);
    if (!url.empty()) candidates_.push_back({url, false});
  }
  if (const auto name = attribute(meta, "name")) {
    const std::string_view trimmed = trim_html_space(*name);
    if (iequals(trimmed, "robots") ||
        (!options_.agent_token.empty() && iequals(trimmed, options_.agent_token))) {
      const bool none = has_robots_directive(*content, "none");
      info_.meta_noindex |= none || has_robots_directive(*content, "noindex");
      info_.meta_nofollow |= none || has_robots_directive(*content, "nofollow");
    }
  }
}

void Extractor::resolve(const Url& page_url) {
  std::deque<std::string> scratch;  // cleaned copies of hrefs with tabs or newlines inside

  // The first <base href>, if it resolves to an http(s) URL; else the page's own URL.
  std::optional<Url> base_url;
  if (base_href_) {
    if (auto resolved = resolve_url(page_url, clean_href(*base_href_, scratch))) {
      base_url = std::move(*resolved);
    }
  }
  const Url& base = base_url ? *base_url : page_url;

  // Never reallocates (at most one Link per candidate), so the views in by_url stay valid.
  std::vector<Link>& links = info_.links;
  links.reserve(std::min(candidates_.size(), options_.max_links));

  // What became of each distinct cleaned href: an index into links, or one of these. Pages
  // repeat hrefs (navigation, pagination), and resolution is the costly step.
  constexpr std::size_t kRejected = SIZE_MAX;
  constexpr std::size_t kOverCap = SIZE_MAX - 1;
  std::unordered_map<std::string_view, std::size_t> by_href;
  std::unordered_map<std::string_view, std::size_t> by_url;  // keys view links[i].url
  by_href.reserve(candidates_.size());
  by_url.reserve(links.capacity());

  for (const Candidate& candidate : candidates_) {
    const std::string_view href = clean_href(candidate.href, scratch);
    if (names_this_page(href)) continue;
    auto [known, inserted] = by_href.try_emplace(href, kRejected);
    if (!inserted) {
      if (known->second == kRejected || known->second == kOverCap) {
        ++info_.links_skipped;
      } else {
        // The same URL once followable and once nofollow: followable wins.
        links[known->second].nofollow &= candidate.nofollow;
      }
      continue;
    }
    auto resolved = resolve_url(base, href);
    if (!resolved) {  // mailto:, javascript:, data:, tel:, other schemes, unparsable
      ++info_.links_skipped;
      continue;
    }
    std::string url = resolved->spec();
    if (const auto found = by_url.find(url); found != by_url.end()) {
      known->second = found->second;
      links[found->second].nofollow &= candidate.nofollow;
      continue;
    }
    if (links.size() >= options_.max_links) {
      known->second = kOverCap;
      ++info_.links_skipped;
      continue;
    }
    known->second = links.size();
    links.push_back({std::move(url), candidate.nofollow});
    by_url.emplace(links.back().url, known->second);
  }

  if (canonical_href_) {
    const std::string_view href = clean_href(*canonical_href_, scratch);
    if (!names_this_page(href)) {
      if (auto resolved = resolve_url(base, href)) info_.canonical = resolved->spec();
    }
  }
}

}  // namespace

PageInfo extract_page_info(std::string_view html, const Url& page_url,
                           const ExtractOptions& options) {
  PageInfo info;
  // Without the visible text, Gumbo need not read it: the same elements, the same title and
  // attributes, from about half the bytes (parser/text_runs.h).
  std::string collapsed;
  if (options.max_text_bytes == 0 && collapse_text_runs(html, collapsed)) html = collapsed;
  const HtmlDocument document{html};
  Extractor extractor(options, info);
  extractor.walk(document.root());
  extractor.resolve(page_url);
  return info;
}

}  // namespace parser
