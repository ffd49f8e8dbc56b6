"""Metric functions on inputs whose answers are known exactly."""

import numpy as np
import pytest

from pipelines import metrics


def test_psnr_of_a_constant_error_is_exact():
    reference = np.zeros((2, 4, 4, 3), np.float32)
    # 0.125 is exact in float32: MSE = 1/64, PSNR = 10 log10(64) dB
    assert metrics.psnr(reference + 0.125, reference) == pytest.approx(
        10 * np.log10(64.0), abs=1e-12
    )


def test_psnr_clips_to_the_valid_range_first():
    reference = np.full((1, 2, 2, 1), 1.0, np.float32)
    assert metrics.psnr(reference + 5.0, reference) == 100.0  # clipped to equal: capped value


def test_minimum_tolerance_is_the_smallest_passing_atol():
    expected = np.array([1.0, 2.0, -3.0, 0.0])
    actual = expected + np.array([0.0, 5e-4, -2e-3, 1e-6])
    stats = metrics.error_stats(actual, expected)
    assert stats["min_atol"] == pytest.approx(2e-3)
    assert np.allclose(actual, expected, rtol=0, atol=stats["min_atol"])
    assert not np.allclose(actual, expected, rtol=0, atol=stats["min_atol"] * 0.999)
    assert stats["min_rtol"] == pytest.approx(2e-3 / 3)  # zero references are excluded
    assert stats["mean_abs"] == pytest.approx((5e-4 + 2e-3 + 1e-6) / 4)


def test_error_stats_refuse_different_shapes():
    with pytest.raises(ValueError, match="shape"):
        metrics.error_stats(np.zeros((2, 3)), np.zeros((3, 2)))


def test_accuracy_and_agreement_count_top1_matches():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert metrics.accuracy(logits, np.array([1, 0, 0, 0])) == 75.0
    assert metrics.agreement(logits, logits[:, ::-1]) == 0.0


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16, 3)).astype(np.float32)
    assert metrics.ssim(images, images) == pytest.approx(1.0)
    assert metrics.ssim(images * 0.5, images) < 0.9


def test_snr_is_the_ratio_of_signal_to_error_power_in_db():
    expected = np.array([3.0, -4.0])  # power 25
    assert metrics.error_stats(expected + np.array([0.5, 0.0]), expected)["snr_db"] == (
        pytest.approx(10 * np.log10(25 / 0.25))
    )
    assert metrics.error_stats(expected, expected)["snr_db"] == 100.0  # identical: capped
