#pragma once
// collapse_text_runs: a shorter copy of an HTML page from which Gumbo builds the same
// elements, with the same attributes, comments and <title>, but which has most of the page's
// text cut out. For extracting links when the page's text is not wanted (crawl --no-text):
// Gumbo's cost grows with every input character, and text is about half of a typical page
// (the PostgreSQL manual: 16.1 MB of HTML, 8.8 MB left; Gumbo's CPU halves).
//
// Why the elements stay the same: the HTML5 tree builder treats a run of character tokens by
// two things only, whether a character is whitespace and whether it is NUL. So a run that
// keeps its leading whitespace and its first other character takes the same path through
// every insertion mode (in body, in table's foster parenting, after head, ...) as the whole
// run, and builds the same elements. Only the text nodes' contents change.
//
// This scan follows the HTML5 tokenizer (data, tag, attribute, comment, doctype and bogus
// comment states, the RCDATA/RAWTEXT/script data of the elements that switch to them, and
// CDATA sections in foreign content), so it cuts text only where the tokenizer is in its data
// state in HTML content. Where the tokenizer's state depends on tree-building context this
// scan does not keep, it gives up instead of guessing.

#include <string>
#include <string_view>

namespace parser {

// Writes to `out` (cleared first) `html` with every run of text in the tokenizer's data state
// cut to its leading whitespace and its first other character, when the run has a character
// other than whitespace and has no '&' (a character reference may stand for whitespace) and
// no NUL. Everything else is copied as is: tags with their attributes, comments, doctypes,
// the contents of script, style, title, textarea, xmp, iframe, noembed and noframes, and
// svg and math elements whole, to the end tag that closes them.
//
// Returns false, with `out` unspecified, where it gives up:
//  - a start tag for select, frameset or template (in which some of the raw text elements
//    are ignored, so their contents are markup) or plaintext;
//  - a script whose text holds "<!--" (the escaped script states);
//  - inside svg or math: a start tag after which the tree builder may go back to HTML (the
//    tags that break out of foreign content, the integration points such as foreignObject,
//    title or mi, a nested svg or math); an end tag other than "</name>" for the element
//    opened last (it may close the HTML elements around the svg, and Gumbo 0.10.1 takes
//    "</svg >" for another name); a CDATA section.
// Parse `html` itself then. (noscript is markup: Gumbo parses as a browser with scripting
// disabled.) Never fails otherwise; linear in the size of `html`, plus the stack of open
// elements inside svg or math.
//
// `out` must not alias `html`. Source positions in the tree (GumboSourcePosition,
// original_text) are the copy's, not the page's.
[[nodiscard]] bool collapse_text_runs(std::string_view html, std::string& out);

}  // namespace parser
