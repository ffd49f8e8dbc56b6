"""The bundled digits classifier, built with `dvc exp run -S model=digits`."""

import json

import pytest

from tests.conftest import DIGITS, cells, run, set_params, stages_run

pytestmark = pytest.mark.pipeline


def test_the_classifier_reaches_95_percent(digits_project):
    summary = json.loads((digits_project / "artifacts/checkpoint/summary.json").read_text())
    assert summary["tf"]["accuracy"] >= 95.0 and summary["torch"]["accuracy"] >= 95.0


def test_no_evaluated_digit_was_trained_on(digits_project):
    """Content hashes of every training sample against those of the evaluation inputs the
    pipeline wrote (not only the indices the split gave)."""
    from pipelines import tensors
    from pipelines.data.held_out import content_hash

    recorded = json.loads((digits_project / "artifacts/dataset/held_out.json").read_text())
    inputs = tensors.load(digits_project / "artifacts/dataset/eval_inputs.npz")["input"]
    evaluated = {content_hash(sample) for sample in inputs}
    assert len(recorded["train"]) == 1347 and len(evaluated) == len(inputs) == 450
    assert set(recorded["eval"].values()) == evaluated
    assert not evaluated & set(recorded["train"].values())


def test_int8_accuracy_is_within_two_points_of_float32(digits_project):
    found = cells(digits_project)
    float32 = found["tflite/float32@cpp"]["quality"]["accuracy"]
    for mode in ("int8", "uint8"):
        assert float32 - found[f"tflite/{mode}@cpp"]["quality"]["accuracy"] <= 2.0


def test_cpp_reproduces_python_and_float_cells_match(digits_project):
    for key, cell in cells(digits_project).items():
        assert cell["failure"] is None, key
        if cell["language"] == "cpp":
            limit = 0.0 if cell["artifact"].startswith("tflite/") else 1e-6
            assert cell["quality"]["cpp_vs_python"] <= limit, key
        if cell["kind"] in ("savedmodel", "frozen", "float32", "trace", "aoti"):
            assert cell["errors"]["max_abs"] <= 1e-5, key


def test_small_weights_are_reported_as_left_in_float(digits_project):
    info = json.loads((digits_project / "artifacts/tflite/dynamic/model.json").read_text())
    assert (
        info["effective"] is True and "left in float32" in info["effect"]
    )  # conv0 has 288 weights


def test_a_single_mode_experiment_reuses_what_was_built(digits_project):
    log = run(
        ["dvc", "exp", "run", *set_params(*DIGITS, "quantize.modes=[int8]")], digits_project
    ).stdout
    assert stages_run(log) == ["evaluate", "package"]  # the bundle follows the evaluation
    metrics = json.loads((digits_project / "metrics/evaluate.json").read_text())
    assert sorted(k for k in metrics["cells"] if k.startswith("tflite/")) == [
        "tflite/int8@cpp",
        "tflite/int8@python",
    ]
