// Last-resort handler for crashes inside a runtime library (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGABRT): prints one line "error: <program> crashed with
// signal <NAME> (...)" and exits with code 1, without a core dump.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.h"

namespace ckpt2cpp {

namespace crash_detail {

inline char g_crash_prefix[128];

// Only async-signal-safe calls in here.
inline void on_fatal_signal(int sig) {
  const char* name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE"
                   : sig == SIGILL ? "SIGILL" : "SIGABRT";
  const char* tail = " (the runtime crashed; check that the model file is valid and matches the input)\n";
  ssize_t ignored = write(g_error_fd, g_crash_prefix, std::strlen(g_crash_prefix));
  ignored = write(g_error_fd, name, std::strlen(name));
  ignored = write(g_error_fd, tail, std::strlen(tail));
  (void)ignored;
  _exit(1);
}

}  // namespace crash_detail

// Installs the handler; `program` goes into the message.
inline void install_crash_handler(const std::string& program) {
  std::snprintf(crash_detail::g_crash_prefix, sizeof crash_detail::g_crash_prefix,
                "error: %s crashed with signal ", program.c_str());
  struct sigaction sa {};
  sa.sa_handler = crash_detail::on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

}  // namespace ckpt2cpp
