"""The TF chain's stages, run as their modules on a tiny configuration (no DVC here)."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines import tensors
from tests.conftest import TINY_SR, run_module


def stage(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m <args>` in `workdir`, importing the package from this checkout."""
    return run_module(workdir, *args, check=check)


def compose(workdir: Path, *overrides: str) -> None:
    stage(workdir, "pipelines.compose", *TINY_SR, *overrides)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failing stage prints (TensorFlow's own start-up chatter aside)."""
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-2000:]
    return errors[0]


@pytest.fixture(scope="module")
def tiny_sr(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("tiny-sr")
    compose(workdir)
    for name in ("checkpoint", "freeze", "savedmodel"):
        stage(workdir, f"stages.{name}")
    return workdir


def sidecar(path: Path) -> dict:
    return json.loads(path.read_text())


def test_checkpoint_writes_both_frameworks_and_the_evaluation_set(tiny_sr):
    assert (tiny_sr / "artifacts/checkpoint/tf/ckpt.index").is_file()
    assert (tiny_sr / "artifacts/checkpoint/torch/weights.pt").is_file()
    inputs = tensors.load(tiny_sr / "artifacts/dataset/eval_inputs.npz")["input"]
    targets = np.load(tiny_sr / "artifacts/dataset/eval_targets.npy")
    assert inputs.shape == (4, 16, 16, 3) and targets.shape == (4, 32, 32, 3)
    summary = sidecar(tiny_sr / "artifacts/checkpoint/summary.json")
    assert summary["tf"]["psnr"] == pytest.approx(
        summary["torch"]["psnr"], abs=1e-3
    )  # shared weights


def test_frozen_graph_and_savedmodel_use_the_configured_names(tiny_sr):
    frozen = sidecar(tiny_sr / "artifacts/frozen/model.json")
    assert (frozen["inputs"][0]["node"], frozen["outputs"][0]["node"]) == ("input:0", "output:0")
    assert frozen["inputs"][0]["shape"] == [-1, -1, -1, 3]
    saved = sidecar(tiny_sr / "artifacts/savedmodel/model.json")
    assert saved["tags"] == ["serve"] and saved["signature"] == "serving_default"
    assert saved["inputs"][0]["node"] == "serving_default_input:0"
    assert saved["verified_max_abs_error"] <= 1e-5


def test_names_are_configurable(tmp_path, tiny_sr):
    shutil.copytree(tiny_sr / "artifacts", tmp_path / "artifacts")
    compose(tmp_path, "model.input_name=lowres", "model.output_name=highres")
    dataset = tmp_path / "artifacts/dataset/eval_inputs.npz"
    # what the checkpoint stage (which a renamed input reruns) writes: the samples by name
    tensors.save({"lowres": tensors.load(dataset)["input"]}, dataset)
    stage(tmp_path, "stages.freeze")
    frozen = sidecar(tmp_path / "artifacts/frozen/model.json")
    assert (frozen["inputs"][0]["node"], frozen["outputs"][0]["node"]) == ("lowres:0", "highres:0")


@pytest.mark.parametrize("mode", ["float32", "dynamic", "float16", "int8", "uint8"])
def test_quantize_writes_a_model_and_an_honest_sidecar(tiny_sr, mode):
    stage(tiny_sr, "stages.quantize", mode)
    info = sidecar(tiny_sr / f"artifacts/tflite/{mode}/model.json")
    assert info["size_bytes"] == (tiny_sr / f"artifacts/tflite/{mode}/model.tflite").stat().st_size
    io_dtype = {"int8": "int8", "uint8": "uint8"}.get(mode, "float32")
    assert info["inputs"][0]["dtype"] == info["outputs"][0]["dtype"] == io_dtype
    assert info["inputs"][0]["shape"] == [1, 16, 16, 3]
    if mode in ("int8", "uint8"):
        assert info["inputs"][0]["scale"] > 0
    # width 8: every weight tensor is under 1024 elements, so dynamic range changes nothing
    assert info["effective"] is (mode != "dynamic")
    if mode == "dynamic":
        assert "changed nothing" in info["effect"] and "1024" in info["effect"]


def test_an_ineffective_mode_can_be_made_fatal(tmp_path, tiny_sr):
    shutil.copytree(tiny_sr / "artifacts", tmp_path / "artifacts")
    shutil.rmtree(tmp_path / "artifacts/tflite", ignore_errors=True)
    compose(tmp_path, "quantize.fail_if_ineffective=true")
    line = error_line(stage(tmp_path, "stages.quantize", "dynamic", check=False))
    assert "dynamic changed nothing" in line and "fail_if_ineffective" in line
    assert not (tmp_path / "artifacts/tflite/dynamic").exists()


def test_freeze_without_a_checkpoint_fails_cleanly(tmp_path):
    compose(tmp_path)
    line = error_line(stage(tmp_path, "stages.freeze", check=False))
    assert "TF checkpoint artifacts/checkpoint/tf/ckpt not found" in line
    assert not (tmp_path / "artifacts/frozen").exists()


@pytest.mark.parametrize(
    ("builder", "shape", "complaint"),
    [
        (
            "build_keras_with_unsupported_op",
            [1, 8, 8, 3],
            "'tf.Erfinv' op is neither a custom op nor a flex op (replace the op in the network "
            "to get this artifact)",
        ),
        (
            "build_keras_lstm",
            [1, 8, 4, 3],
            "'tf.TensorListReserve' op requires element_shape to be static during TF Lite "
            "transformation pass (a recurrent layer's loop over a dynamic batch: build the layer with "
            "unroll=True)",
        ),
    ],
)
def test_a_model_the_converter_refuses_is_not_applicable_naming_the_op_and_the_fix(
    tmp_path, builder, shape, complaint
):
    from pipelines.backends.tf.export import savedmodel
    from pipelines.backends.tflite.export import convert
    from pipelines.config import ModelConfig, QuantMode, Task
    from pipelines.errors import NotApplicable
    from tests import user_model

    network = getattr(user_model, builder)()
    model = ModelConfig(name="user", task=Task.generic, input_shape=shape)
    x = np.random.default_rng(0).random((2, *shape[1:]), dtype=np.float32)
    savedmodel(network, model, tmp_path / "model", {"input": x}, {"output": np.asarray(network(x))})
    with pytest.raises(NotApplicable) as caught:
        convert(tmp_path / "model", QuantMode.float32, model, None)
    assert (
        str(caught.value) == f"the TFLite converter refused the model in mode float32: {complaint}"
    )
