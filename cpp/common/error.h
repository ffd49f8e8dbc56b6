// Error types shared by the runners. Every failure becomes ONE stderr line
// "error: <what> (<hint>)"; run_main() (runner_main.h) maps UsageError to
// exit code 2 and everything else to exit code 1.
#pragma once

#include <unistd.h>

#include <stdexcept>
#include <string>

#include "ckpt2cpp/error.h"

namespace ckpt2cpp {

// Where our own error lines go: the process's stderr, unless a
// StderrCapture (stderr_capture.h) has taken fd 2 over.
inline int g_error_fd = STDERR_FILENO;

// `text` with control characters but tab shown as '?': a newline in a file name or a flag, or
// a NUL echoed from a corrupt file, would otherwise break or end the printed line.
inline std::string printable(std::string text) {
  for (char& c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  return text;
}

// Builds "<what> (<hint>)", the text after "error: ", on one line.
inline std::string with_hint(const std::string& what, const std::string& hint) {
  return printable(hint.empty() ? what : what + " (" + hint + ")");
}

// Bad command line: exit code 2.
struct UsageError : std::runtime_error {
  UsageError(const std::string& what, const std::string& hint)
      : std::runtime_error(with_hint(what, hint)) {}
};

// Anything else (files, model, shapes, runtime failures): exit code 1. The library's
// public Error, so an application catches what the runners report.
struct RunError : Error {
  RunError(const std::string& what, const std::string& hint) : Error(with_hint(what, hint)) {}
};

[[noreturn]] inline void fail(const std::string& what, const std::string& hint) {
  throw RunError(what, hint);
}

// Collapses a (possibly multi-line) library message into one short line:
// the first non-empty line, trimmed, at most max_len characters, printable().
inline std::string first_line(const std::string& text, std::size_t max_len = 400) {
  std::size_t pos = 0;
  std::string line;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    line = text.substr(pos, end - pos);
    const auto first = line.find_first_not_of(" \t\r");
    const auto last = line.find_last_not_of(" \t\r");
    if (first != std::string::npos) {
      line = line.substr(first, last - first + 1);
      break;
    }
    line.clear();
    pos = end + 1;
  }
  if (line.size() > max_len) line = line.substr(0, max_len) + "...";
  return printable(line);
}

// The last non-empty line of a multi-line library message, trimmed, at most
// max_len characters (where the actual cause often is).
inline std::string last_line(const std::string& text, std::size_t max_len = 400) {
  std::size_t end = text.size();
  while (end > 0) {
    const std::size_t start = text.rfind('\n', end - 1);
    const std::size_t from = start == std::string::npos ? 0 : start + 1;
    const std::string line = first_line(text.substr(from, end - from), max_len);
    if (!line.empty()) return line;
    if (start == std::string::npos) break;
    end = start;
  }
  return {};
}

}  // namespace ckpt2cpp
