#pragma once
// The Gumbo tree as text, for tests that compare two parses: elements with their attributes,
// text and comments, children in order. Recursive: for small test documents only.

#include <gumbo.h>

#include <string>

namespace parser::testing {

enum class TextDump {
  kContents,  // every text, whitespace, CDATA and comment node with its contents
  kKinds,     // text and whitespace nodes as [#text] / [#ws], except inside an element whose
              // text the tokenizer may take raw (title, textarea, script, style, xmp, iframe,
              // noembed, noframes, plaintext), where the contents are kept;
              // comments with their contents
};

inline bool is_raw_text_parent(const GumboNode* node) {
  if (node == nullptr || node->type != GUMBO_NODE_ELEMENT) return false;
  switch (node->v.element.tag) {
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES:
    case GUMBO_TAG_PLAINTEXT:
      return true;
    default:
      return false;
  }
}

inline void dump(const GumboNode* node, std::string& out, TextDump texts = TextDump::kContents) {
  switch (node->type) {
    case GUMBO_NODE_DOCUMENT:
    case GUMBO_NODE_ELEMENT:
    case GUMBO_NODE_TEMPLATE: {
      const GumboVector* children = nullptr;
      if (node->type == GUMBO_NODE_DOCUMENT) {
        out += "#document(";
        children = &node->v.document.children;
      } else {
        const GumboElement& element = node->v.element;
        out += '<';
        if (element.tag_namespace != GUMBO_NAMESPACE_HTML) out += "ns:";
        if (element.tag == GUMBO_TAG_UNKNOWN) {
          GumboStringPiece name = element.original_tag;
          gumbo_tag_from_original_text(&name);
          out += '?';
          out.append(name.data, name.length);
        } else {
          out += gumbo_normalized_tagname(element.tag);
        }
        for (unsigned i = 0; i < element.attributes.length; ++i) {
          const auto* attribute = static_cast<const GumboAttribute*>(element.attributes.data[i]);
          out += ' ';
          out += attribute->name;
          out += "=\"";
          out += attribute->value;
          out += '"';
        }
        out += ">(";
        children = &element.children;
      }
      for (unsigned i = 0; i < children->length; ++i) {
        dump(static_cast<const GumboNode*>(children->data[i]), out, texts);
      }
      out += ')';
      break;
    }
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
      if (texts == TextDump::kKinds && !is_raw_text_parent(node->parent)) {
        out += node->type == GUMBO_NODE_TEXT ? "[#text]" : "[#ws]";
        break;
      }
      [[fallthrough]];
    default:
      out += '[';
      out += node->v.text.text;
      out += ']';
  }
}

}  // namespace parser::testing
