// The JSON reader of lib/json.h: recursive descent over the text, at most kMaxDepth levels deep.
#include "lib/json.h"

#include <cctype>
#include <cstdlib>

#include "common/error.h"
#include "common/file.h"

namespace ckpt2cpp {

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  Json document() {
    Json value = parse(0);
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the value");
    return value;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(source_ + " is not valid JSON: " + what + " at byte " + std::to_string(pos_),
         "rewrite it with json.dump, or export the model again");
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool take(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect_char(char c) {
    if (!take(c)) error(std::string("expected '") + c + "'");
  }

  void expect_word(const char* word) {
    for (const char* w = word; *w; ++w, ++pos_)
      if (pos_ >= text_.size() || text_[pos_] != *w) error(std::string("expected '") + word + "'");
  }

  Json parse(int depth) {
    if (depth > kMaxDepth) error("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    Json v;
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = Json::Kind::Object;
      if (take('}')) return v;
      do {
        skip_space();
        std::string key = string();
        expect_char(':');
        v.members.emplace_back(std::move(key), parse(depth + 1));
      } while (take(','));
      expect_char('}');
    } else if (c == '[') {
      ++pos_;
      v.kind = Json::Kind::Array;
      if (take(']')) return v;
      do v.items.push_back(parse(depth + 1));
      while (take(','));
      expect_char(']');
    } else if (c == '"') {
      v.kind = Json::Kind::String;
      v.string = string();
    } else if (c == 't' || c == 'f') {
      v.kind = Json::Kind::Bool;
      v.boolean = c == 't';
      expect_word(v.boolean ? "true" : "false");
    } else if (c == 'n') {
      expect_word("null");
    } else {
      v.kind = Json::Kind::Number;
      v.number = number();
    }
    return v;
  }

  double number() {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const std::size_t digits = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == digits) error("expected a value");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      const std::size_t fraction = ++pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == fraction) error("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      const std::size_t exponent = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == exponent) error("expected digits in the exponent");
    }
    return std::strtod(text_.substr(start, pos_ - start).c_str(), nullptr);
  }

  std::string string() {
    if (pos_ >= text_.size() || text_[pos_] != '"') error("expected a string");
    std::string out;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) error("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++pos_ >= text_.size()) break;
      switch (text_[pos_]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(code_unit(), out); break;
        default: error("unknown escape in a string");
      }
    }
    error("unterminated string");
  }

  // The four hex digits after "\u"; pos_ ends on the last one.
  unsigned code_unit() {
    unsigned code = 0;
    for (int k = 0; k < 4; ++k) {
      if (++pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_])))
        error("expected four hex digits after \\u");
      const char h = text_[pos_];
      code = code * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    if (code >= 0xd800 && code <= 0xdfff) error("surrogate \\u escapes are not supported");
    return code;
  }

  static void append_utf8(unsigned code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  const std::string& text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

}  // namespace

const Json* Json::find(const std::string& key) const {
  for (const auto& [name, value] : members)
    if (name == key) return &value;
  return nullptr;
}

Json parse_json(const std::string& text, const std::string& source) { return Parser(text, source).document(); }

Json read_json_file(const std::string& path) {
  return parse_json(read_file(path, "the sidecar", "export the model again with the pipeline"), path);
}

}  // namespace ckpt2cpp
