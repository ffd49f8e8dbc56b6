"""The Python LiteRT runner quantizes exactly as the C++ runner does (round half away from zero)."""

import numpy as np

from pipelines.backends.tflite.runner import dequantize, quantize


def test_halves_round_away_from_zero_and_values_clip():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1000.0, -1000.0], np.float32)
    assert quantize(x, 1.0, 0, np.dtype(np.int8)).tolist() == [1, 2, 3, -1, -2, 127, -128]


def test_nan_gives_the_minimum_and_infinities_saturate_as_in_cpp():
    x = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38], np.float32)
    assert quantize(x, 0.1, 3, np.dtype(np.int8)).tolist() == [-128, 127, -128, 127, -128]
    assert quantize(x, 0.1, 3, np.dtype(np.uint8)).tolist() == [0, 255, 0, 255, 0]


def test_zero_point_and_scale_are_applied_in_float32():
    x = np.array([0.0, 0.25, 1.0], np.float32)
    q = quantize(x, 1 / 255, 0, np.dtype(np.uint8))
    assert q.tolist() == [0, 64, 255]
    assert np.allclose(dequantize(q, 1 / 255, 0), [0.0, 64 / 255, 1.0])
    assert quantize(np.array([0.0], np.float32), 0.5, -128, np.dtype(np.int8)).tolist() == [-128]
