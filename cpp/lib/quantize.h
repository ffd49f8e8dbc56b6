// Per-tensor affine (de)quantization for int8/uint8 model inputs and outputs.
// The Python runners use the same formulas so both sides give identical bytes:
//   quantize:   q = clamp(round_half_away_from_zero(x / scale) + zero_point, qmin, qmax)
//               all in float32: x / scale is a float division, rounding is
//               std::round, the zero point is added as a float; NaN maps to qmin.
//   dequantize: x = float32(q - zero_point) * scale   (float32 multiply)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ckpt2cpp {

template <class Q>
void quantize(const float* x, std::size_t n, float scale, std::int64_t zero_point, Q* out) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  const float zp = static_cast<float>(zero_point);
  for (std::size_t i = 0; i < n; ++i) {
    float v = std::round(x[i] / scale) + zp;
    if (!(v >= lo)) v = lo;  // also NaN
    if (v > hi) v = hi;
    out[i] = static_cast<Q>(v);
  }
}

template <class Q>
void dequantize(const Q* q, std::size_t n, float scale, std::int64_t zero_point, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<std::int64_t>(q[i]) - zero_point) * scale;
}

}  // namespace ckpt2cpp
