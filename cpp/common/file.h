// Whole-file reading with one clear error line.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "common/error.h"

namespace ckpt2cpp {

namespace file_detail {

[[noreturn]] inline void read_failed(const std::string& path, std::string_view what, std::string_view hint, int err) {
  fail("cannot read " + std::string(what) + " " + path + ": " + std::strerror(err), std::string(hint));
}

}  // namespace file_detail

// The bytes of the file at `path`. Fails with "cannot read <what> <path>:
// <strerror>" (<hint>) if it cannot be opened or read, or is a directory.
inline std::string read_file(const std::string& path, std::string_view what, std::string_view hint) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) file_detail::read_failed(path, what, hint, errno);
  struct stat st {};
  int err = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  std::string bytes;
  if (!err && S_ISREG(st.st_mode)) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char chunk[1 << 16];
  while (!err) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) bytes.append(chunk, static_cast<std::size_t>(n));
    else if (n == 0) break;
    else if (errno != EINTR) err = errno;
  }
  close(fd);
  if (err) file_detail::read_failed(path, what, hint, err);
  return bytes;
}

}  // namespace ckpt2cpp
