"""int8_selective: the search keeps the fewest layers in float that meet the accuracy target,
stops, and fails naming what it tried when no choice meets it."""

import numpy as np
import pytest

from pipelines import sidecar
from pipelines.backends.tf.export import savedmodel
from pipelines.backends.tflite.selective import quantize_selective
from pipelines.config import EvaluateConfig, ModelConfig, Task
from pipelines.errors import PipelineError
from tests.conftest import LITERT_BUNDLE_ONLY, cells, make_project, run
from tests.user_model import build_keras, build_keras_outlier_channel

MODEL = ModelConfig(name="outlier", task=Task.generic, input_shape=[1, 16, 16, 3])
SAMPLES = {"input": np.random.default_rng(1).random((16, 16, 16, 3), dtype=np.float32)}


def _savedmodel(tmp_path, network):
    out = tmp_path / "model"
    expected = {"output": np.asarray(network(SAMPLES["input"]))}
    sidecar.write(out, savedmodel(network, MODEL, out, SAMPLES, expected))
    return out


@pytest.fixture(scope="module")
def outlier(tmp_path_factory):
    return _savedmodel(tmp_path_factory.mktemp("outlier"), build_keras_outlier_channel())


def _search(folder, evaluate: EvaluateConfig):
    held_out = {"input": SAMPLES["input"][:8]}
    return quantize_selective(folder, MODEL, evaluate, SAMPLES, held_out, None)


def test_plain_int8_fails_and_the_two_starved_layers_kept_in_float_pass(outlier):
    _, record = _search(outlier, EvaluateConfig(min_snr_db=20.0))
    plain, *_, chosen = record["steps"]
    assert plain["float_layers"] == [] and not plain["passed"] and plain["snr_db"] < 5
    assert chosen["passed"] and chosen["snr_db"] >= 20
    kept = [name.split("/")[-2] for name in chosen["float_layers"]]  # .../<layer>_1/<op>
    assert sorted(kept) == ["mix_1", "wide_1"]
    fewer = [s for s in record["steps"] if len(s["float_layers"]) < len(kept)]
    assert fewer and not any(s["passed"] for s in fewer)  # the smaller prefixes were tried
    assert record["target"] == "SNR >= 20 dB against the original (evaluate.min_snr_db)"
    assert record["quantized_layers"] == 6


def test_an_impossible_target_fails_listing_every_step_tried(outlier):
    with pytest.raises(PipelineError) as refused:
        _search(outlier, EvaluateConfig(min_snr_db=500.0))
    message = str(refused.value)
    assert message.startswith("int8_selective cannot meet the accuracy target even with every")
    assert "0 in float: SNR" in message and "6 in float: SNR" in message
    assert "(raise evaluate.max_metric_drop or lower evaluate.min_snr_db" in message
    assert "\n" not in message


def test_a_task_metric_without_an_allowed_drop_is_refused_naming_the_key(outlier):
    from dataclasses import replace

    model = replace(MODEL, task=Task.super_resolution)
    held_out = {"input": SAMPLES["input"][:4]}
    targets = np.zeros((4, 16, 16, 3), np.float32)  # ground truth: the task metric applies
    with pytest.raises(PipelineError, match=r"set evaluate.max_metric_drop.super_resolution"):
        quantize_selective(outlier, model, EvaluateConfig(), SAMPLES, held_out, targets)


def test_a_model_plain_int8_holds_keeps_every_layer_quantized(tmp_path):
    network = build_keras()
    model_bytes, record = _search(_savedmodel(tmp_path, network), EvaluateConfig(min_snr_db=20.0))
    assert [s["float_layers"] for s in record["steps"]] == [[]] and record["ranking"] == []
    assert record["steps"][0]["size_bytes"] == len(model_bytes)


OUTLIER_PROJECT = [
    "model=custom",
    "model.frameworks=[tf]",
    "model.keras._target_=tests.user_model.build_keras_outlier_channel",
    "model.torch=null",
    "model.torch_weights=null",
    *LITERT_BUNDLE_ONLY,
    "model.share_weights=false",
    "model.input_shape=[1,16,16,3]",
    "data.eval_samples=8",
    "quantize.modes=[float32,int8,int8_selective]",
    "quantize.calibration_samples=8",
    "evaluate.warmup=1",
    "evaluate.runs=5",
    "evaluate.rounds=1",
    "evaluate.tf_bf16=false",
    "evaluate.start_together=2",
]


@pytest.fixture(scope="module")
def outlier_project(tmp_path_factory, shared_cache, sr_project):
    """The outlier network as a user's own TF model, through `dvc repro` (C++ runners from the
    run-cache the sr project filled)."""
    import tensorflow as tf

    project = make_project(tmp_path_factory.mktemp("outlier"), shared_cache, OUTLIER_PROJECT)
    (project / "inputs").mkdir(exist_ok=True)
    tf.train.Checkpoint(model=build_keras_outlier_channel()).write(str(project / "inputs/ckpt"))
    np.save(project / "inputs/eval_x.npy", SAMPLES["input"][:8])
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "user model"], project)
    run(["dvc", "repro"], project)
    return project


@pytest.mark.pipeline
def test_the_report_shows_plain_int8_failing_and_int8_selective_passing(outlier_project):
    found = cells(outlier_project)
    for language in ("python", "cpp"):
        plain, selective = (
            found[f"tflite/int8@{language}"],
            found[f"tflite/int8_selective@{language}"],
        )
        assert plain["passed"] is False and plain["verdict"].startswith("SNR "), plain["verdict"]
        assert selective["passed"] is True, selective["verdict"]
    page = (outlier_project / "reports/index.html").read_text()
    assert "int8_selective: layers kept in float vs accuracy" in page
    assert "tflite/int8_selective: 2 of 6 layers kept in float for SNR &gt;= 20 dB" in page
