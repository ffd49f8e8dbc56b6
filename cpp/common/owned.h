// Owned<H, Destroy>: a std::unique_ptr for a C API handle H (a pointer type)
// that is released with Destroy(h).
#pragma once

#include <memory>
#include <type_traits>

namespace ckpt2cpp {

template <class H, void (*Destroy)(H)>
struct HandleDeleter {
  void operator()(H h) const { Destroy(h); }
};

template <class H, void (*Destroy)(H)>
using Owned = std::unique_ptr<std::remove_pointer_t<H>, HandleDeleter<H, Destroy>>;

}  // namespace ckpt2cpp
