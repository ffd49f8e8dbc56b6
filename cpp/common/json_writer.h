// Writes one flat JSON object: the stats file (--json) of every runner.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ckpt2cpp {

inline std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Shortest text that reads back as the same double; null if not finite.
inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// Writes one flat JSON object, keys in insertion order.
class JsonObjectWriter {
 public:
  JsonObjectWriter& add(const std::string& key, const std::string& v) { return raw(key, json_quote(v)); }
  JsonObjectWriter& add(const std::string& key, const char* v) { return raw(key, json_quote(v)); }
  JsonObjectWriter& add(const std::string& key, double v) { return raw(key, json_number(v)); }
  JsonObjectWriter& add(const std::string& key, std::int64_t v) { return raw(key, std::to_string(v)); }
  JsonObjectWriter& add(const std::string& key, int v) { return raw(key, std::to_string(v)); }
  JsonObjectWriter& add(const std::string& key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonObjectWriter& add(const std::string& key, const std::vector<double>& v) {
    std::string text;
    for (const double x : v) text += (text.empty() ? "" : ", ") + json_number(x);
    return raw(key, "[" + text + "]");
  }
  JsonObjectWriter& raw(const std::string& key, const std::string& json_text) {
    body_ += (body_.empty() ? "\n  " : ",\n  ") + json_quote(key) + ": " + json_text;
    return *this;
  }
  std::string str() const { return "{" + body_ + "\n}\n"; }

 private:
  std::string body_;
};

}  // namespace ckpt2cpp
