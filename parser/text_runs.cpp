#include "parser/text_runs.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "parser/html_chars.h"

namespace parser {
namespace {

using html::iequals;
using html::is_ascii_alpha;
using html::is_space;

// What a start tag's name does to the scan.
enum class TagKind {
  kOther,
  kRawText,  // title, textarea (RCDATA); style, xmp, iframe, noembed, noframes (RAWTEXT)
  kScript,   // script data
  kForeign,  // svg, math: foreign content, copied whole to its end tag
  kGiveUp,   // select, frameset, template, plaintext
};

struct NamedKind {
  std::string_view name;
  TagKind kind;
};

constexpr std::array kNamedKinds{
    NamedKind{"title", TagKind::kRawText},    NamedKind{"textarea", TagKind::kRawText},
    NamedKind{"style", TagKind::kRawText},    NamedKind{"xmp", TagKind::kRawText},
    NamedKind{"iframe", TagKind::kRawText},   NamedKind{"noembed", TagKind::kRawText},
    NamedKind{"noframes", TagKind::kRawText}, NamedKind{"script", TagKind::kScript},
    NamedKind{"svg", TagKind::kForeign},      NamedKind{"math", TagKind::kForeign},
    NamedKind{"select", TagKind::kGiveUp},    NamedKind{"frameset", TagKind::kGiveUp},
    NamedKind{"template", TagKind::kGiveUp},  NamedKind{"plaintext", TagKind::kGiveUp},
};

// Start tags inside svg or math after which the tree builder may parse what follows as HTML:
// the tags that break out of foreign content, HTML and MathML text integration points,
// and the elements with context-dependent tokenizer states, nested foreign roots included.
// clang-format off
constexpr std::string_view kLeavesForeign[] = {
    // break out of foreign content
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong",
    "strike", "sub", "sup", "table", "tt", "u", "ul", "var", "font",
    // HTML and MathML text integration points, and what MathML treats apart in them
    "foreignobject", "desc", "title", "annotation-xml", "mi", "mo", "mn", "ms", "mtext",
    "mglyph", "malignmark",
    // nested foreign roots; elements whose tokenizer state depends on context
    "svg", "math", "select", "template", "frameset", "plaintext", "textarea", "xmp", "iframe",
    "noembed", "noframes",
};
// clang-format on

class Scanner {
 public:
  Scanner(std::string_view html, std::string& out) : in_(html), out_(out) {}

  bool run() {
    out_.clear();
    std::size_t i = 0;
    while (i < in_.size()) {
      const std::size_t lt = find(i, '<');
      collapse(i, lt);
      if (lt == in_.size()) break;
      const std::optional<std::size_t> next = markup(lt);
      if (!next) return false;
      i = *next;
    }
    out_.append(in_.substr(copied_));
    return true;
  }

 private:
  std::size_t find(std::size_t from, char c) const noexcept {
    if (from >= in_.size()) return in_.size();
    const void* hit = std::memchr(in_.data() + from, c, in_.size() - from);
    return hit == nullptr ? in_.size() : static_cast<const char*>(hit) - in_.data();
  }

  bool has(std::size_t begin, std::size_t end, char c) const noexcept {
    return std::memchr(in_.data() + begin, c, end - begin) != nullptr;
  }

  // Text in the data state, [begin, end): keeps the leading whitespace and the first other
  // character (all of its UTF-8 bytes), drops the rest. Runs with '&' or NUL are kept whole.
  void collapse(std::size_t begin, std::size_t end) {
    std::size_t first = begin;
    while (first < end && is_space(in_[first])) ++first;
    if (first == end) return;
    std::size_t keep = first + 1;
    while (keep < end && keep - first < 4 &&
           (static_cast<unsigned char>(in_[keep]) & 0xC0u) == 0x80u) {
      ++keep;
    }
    if (keep == end || has(begin, end, '&') || has(begin, end, '\0')) return;
    out_.append(in_.substr(copied_, keep - copied_));
    copied_ = end;
  }

  bool starts_with_at(std::size_t at, std::string_view prefix) const noexcept {
    return at <= in_.size() && in_.substr(at).starts_with(prefix);
  }

  // Past the first '>' from `at` (doctype, bogus comment), or the end.
  std::size_t past_gt(std::size_t at) const noexcept {
    const std::size_t gt = find(at, '>');
    return gt == in_.size() ? gt : gt + 1;
  }

  // At a '<' in the data state: where the data state resumes, or nullopt to give up.
  std::optional<std::size_t> markup(std::size_t lt) {
    const std::size_t n = in_.size();
    if (lt + 1 >= n) return n;
    const char c = in_[lt + 1];
    if (c == '!') {
      if (starts_with_at(lt + 2, "--")) return comment(lt + 4);
      return past_gt(lt + 2);  // doctype; bogus comment (CDATA too, outside foreign content)
    }
    if (c == '?') return past_gt(lt + 2);  // bogus comment
    if (c == '/') {
      if (lt + 2 >= n) return n;
      const char d = in_[lt + 2];
      if (is_ascii_alpha(d)) return tag(lt + 2, /*end_tag=*/true);
      if (d == '>') {  // "</>": no token, but see glued_
        glued_ = lt + 3;
        return lt + 3;
      }
      return past_gt(lt + 2);  // bogus comment
    }
    if (is_ascii_alpha(c)) return tag(lt + 1, /*end_tag=*/false);
    return lt + 1;  // a '<' that starts nothing is text; the next character is kept
  }

  // After "<!--": past the comment's end, as the tokenizer finds it.
  std::size_t comment(std::size_t i) const noexcept {
    const std::size_t n = in_.size();
    enum class State {
      kStart,
      kStartDash,
      kComment,
      kEndDash,
      kEnd,
      kEndBang
    } state = State::kStart;
    while (i < n) {
      const char c = in_[i];
      switch (state) {
        case State::kStart:
          if (c == '>') return i + 1;  // "<!-->"
          state = c == '-' ? State::kStartDash : State::kComment;
          if (state == State::kComment) continue;  // reconsume
          break;
        case State::kStartDash:
          if (c == '>') return i + 1;  // "<!--->"
          state = c == '-' ? State::kEnd : State::kComment;
          break;
        case State::kComment:
          i = find(i, '-');
          if (i == n) return n;
          state = State::kEndDash;
          break;
        case State::kEndDash:
          state = c == '-' ? State::kEnd : State::kComment;
          break;
        case State::kEnd:
          if (c == '>') return i + 1;
          if (c == '!')
            state = State::kEndBang;
          else if (c != '-')
            state = State::kComment;
          break;
        case State::kEndBang:
          if (c == '>') return i + 1;
          state = c == '-' ? State::kEndDash : State::kComment;
          break;
      }
      ++i;
    }
    return n;
  }

  // The entry of kNamedKinds for a start tag's name as written, or nullptr.
  static const NamedKind* named_kind(std::string_view name) noexcept {
    for (const NamedKind& named : kNamedKinds) {
      if (iequals(name, named.name)) return &named;
    }
    return nullptr;
  }

  // At a tag name's first letter: past the tag's '>' (the end at EOF, where the tokenizer
  // drops the tag), then past the contents of an element that switches the tokenizer.
  std::optional<std::size_t> tag(std::size_t i, bool end_tag) {
    const std::size_t n = in_.size();
    const bool glued = i - 1 == glued_;  // i - 1: the tag's '<'
    std::size_t name_end = 0;
    const std::string_view name = read_name(i, name_end);
    bool self_closing = false;
    const std::size_t after = attributes(name_end, &self_closing);
    const NamedKind* named = end_tag ? nullptr : named_kind(name);
    if (named == nullptr) return after;
    if (named->kind == TagKind::kGiveUp) return std::nullopt;
    if (after == n) return after;  // a start tag cut by the end of input starts nothing
    switch (named->kind) {
      case TagKind::kOther:
      case TagKind::kGiveUp:
        return after;
      case TagKind::kForeign:  // <svg/> is an empty element: no foreign content follows
        if (self_closing) return after;
        if (glued) return std::nullopt;  // Gumbo would never close it (glued_)
        return foreign(after, named->name);
      case TagKind::kRawText:
        return raw_text(after, named->name, /*script=*/false);
      case TagKind::kScript:
        return raw_text(after, named->name, /*script=*/true);
    }
    return after;
  }

  // After a tag name: past the '>' that ends the tag, following the attribute states (a '>'
  // inside a quoted value does not end it), or the end.
  std::size_t attributes(std::size_t i, bool* self_closing = nullptr) const noexcept {
    const std::size_t n = in_.size();
    enum class State {
      kBeforeName,
      kName,
      kAfterName,
      kBeforeValue,
      kDoubleQuoted,
      kSingleQuoted,
      kUnquoted,
      kAfterQuoted,
      kSelfClosing,
    } state = State::kBeforeName;
    while (i < n) {
      const char c = in_[i];
      switch (state) {
        case State::kBeforeName:
          if (c == '>') return i + 1;
          if (c == '/')
            state = State::kSelfClosing;
          else if (!is_space(c))
            state = State::kName;  // '=', quotes, '<' too
          break;
        case State::kName:
          if (c == '>') return i + 1;
          if (is_space(c))
            state = State::kAfterName;
          else if (c == '/')
            state = State::kSelfClosing;
          else if (c == '=')
            state = State::kBeforeValue;
          break;
        case State::kAfterName:
          if (c == '>') return i + 1;
          if (c == '/')
            state = State::kSelfClosing;
          else if (c == '=')
            state = State::kBeforeValue;
          else if (!is_space(c))
            state = State::kName;
          break;
        case State::kBeforeValue:
          if (c == '>') return i + 1;  // missing value: the tag ends
          if (c == '"')
            state = State::kDoubleQuoted;
          else if (c == '\'')
            state = State::kSingleQuoted;
          else if (!is_space(c))
            state = State::kUnquoted;
          break;
        case State::kDoubleQuoted:
          i = find(i, '"');
          if (i == n) return n;
          state = State::kAfterQuoted;
          break;
        case State::kSingleQuoted:
          i = find(i, '\'');
          if (i == n) return n;
          state = State::kAfterQuoted;
          break;
        case State::kUnquoted:
          if (c == '>') return i + 1;
          if (is_space(c)) state = State::kBeforeName;
          break;
        case State::kAfterQuoted:
          if (c == '>') return i + 1;
          if (c == '/')
            state = State::kSelfClosing;
          else if (is_space(c))
            state = State::kBeforeName;
          else
            state = State::kName;  // reconsumed in before-attribute-name: a name starts
          break;
        case State::kSelfClosing:
          if (c == '>') {
            if (self_closing != nullptr) *self_closing = true;
            return i + 1;
          }
          state = State::kBeforeName;
          continue;  // reconsume
      }
      ++i;
    }
    return n;
  }

  // A tag name from its first letter, as written; `end` is set past it.
  std::string_view read_name(std::size_t i, std::size_t& end) const noexcept {
    const std::size_t begin = i;
    while (i < in_.size() && !is_space(in_[i]) && in_[i] != '/' && in_[i] != '>') ++i;
    end = i;
    return in_.substr(begin, i - begin);
  }

  static bool leaves_foreign(std::string_view name) noexcept {
    return std::any_of(std::begin(kLeavesForeign), std::end(kLeavesForeign),
                       [name](std::string_view leaving) { return iequals(name, leaving); });
  }

  // Letters, digits and '-': a name whose text Gumbo compares the same way the tokenizer
  // reads it (no NUL, no \v, which C's isspace() takes for a space, nothing non-ASCII).
  static bool is_plain_name(std::string_view name) noexcept {
    for (const char c : name) {
      if (!is_ascii_alpha(c) && !(c >= '0' && c <= '9') && c != '-') return false;
    }
    return !name.empty();
  }

  // In foreign content, after the start tag of its root (svg or math, `root`): past the end
  // tag that closes the root, with nothing cut, or the end. The scan keeps the stack of
  // open foreign elements and gives up where the tree builder could leave foreign content
  // other than by that stack: a start tag in kLeavesForeign, or an end tag that does not
  // close the element opened last (in foreign content such a tag can close HTML elements
  // around the root, and the root with them).
  std::optional<std::size_t> foreign(std::size_t i, std::string_view root) {
    const std::size_t n = in_.size();
    std::vector<std::string_view> open{root};  // names as written; views into in_ or root
    while (i < n) {
      const std::size_t lt = find(i, '<');
      if (lt + 1 >= n) return n;
      const char c = in_[lt + 1];
      if (c == '!') {
        if (starts_with_at(lt + 2, "--")) {
          i = comment(lt + 4);
        } else if (starts_with_at(lt + 2, "[CDATA[")) {
          return std::nullopt;  // a CDATA section: rare in pages, and not followed here
        } else {
          i = past_gt(lt + 2);  // doctype, bogus comment
        }
      } else if (c == '?') {
        i = past_gt(lt + 2);
      } else if (c == '/') {
        if (lt + 2 >= n) return n;
        const char d = in_[lt + 2];
        if (is_ascii_alpha(d)) {
          // Gumbo 0.10.1 matches an end tag in foreign content by its text between "</" and
          // ">", whitespace and attributes included ("</svg >" closes nothing), so only
          // "</name>" for the element opened last is followed.
          std::size_t name_end = 0;
          const std::string_view name = read_name(lt + 2, name_end);
          if (name_end == n || in_[name_end] != '>' || !is_plain_name(name) ||
              !iequals(name, open.back())) {
            return std::nullopt;
          }
          i = name_end + 1;
          open.pop_back();
          if (open.empty()) return i;
        } else {
          if (d == '>') return std::nullopt;  // "</>" (glued_)
          i = past_gt(lt + 2);                // bogus comment
        }
      } else if (is_ascii_alpha(c)) {
        std::size_t name_end = 0;
        const std::string_view name = read_name(lt + 1, name_end);
        if (!is_plain_name(name) || leaves_foreign(name)) return std::nullopt;
        bool self_closing = false;
        i = attributes(name_end, &self_closing);
        if (i == n) return n;
        if (!self_closing) open.push_back(name);
      } else {
        i = lt + 1;  // a '<' that starts nothing is text
      }
    }
    return n;
  }

  // In the contents of a RCDATA, RAWTEXT or script element named `name`: past its end
  // tag ("</name" and whitespace, '/' or '>', any case), or the end. Nothing in between is
  // cut. Gives up on "<!--" in a script, which the escaped script states would follow.
  std::optional<std::size_t> raw_text(std::size_t i, std::string_view name, bool script) {
    const std::size_t n = in_.size();
    for (std::size_t lt = find(i, '<'); lt < n; lt = find(lt + 1, '<')) {
      if (script && starts_with_at(lt + 1, "!--")) return std::nullopt;
      if (lt + 1 >= n || in_[lt + 1] != '/') continue;
      const std::size_t name_at = lt + 2;
      if (name_at + name.size() >= n) return n;  // no room for the name and its end
      const char next = in_[name_at + name.size()];
      if (iequals(in_.substr(name_at, name.size()), name) &&
          (is_space(next) || next == '/' || next == '>')) {
        return attributes(name_at + name.size());
      }
    }
    return n;
  }

  std::string_view in_;
  std::string& out_;
  std::size_t copied_ = 0;  // in_[copied_, ...) is not yet in out_
  // Where the last "</>" ended. Gumbo 0.10.1 emits no token for "</>" and does not move
  // the start of the next token's text past it, so a tag right after it has "</>" in its
  // original text; in foreign content, where Gumbo matches end tags by that text, such an
  // element is never closed by its end tag. So this scan gives up on "</>" inside svg or
  // math, and on an svg or math start tag right after one.
  std::size_t glued_ = std::string_view::npos;
};

}  // namespace

bool collapse_text_runs(std::string_view html, std::string& out) {
  return Scanner(html, out).run();
}

}  // namespace parser
