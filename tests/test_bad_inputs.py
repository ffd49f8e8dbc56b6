"""Bad inputs: each gets one line that names the problem and the fix, a non-zero exit, and
leaves nothing partial. The bad-input table in docs/errors.md is checked against what each case
prints."""

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipelines import data, sidecar
from pipelines.config import DataSource, ModelConfig
from pipelines.errors import PipelineError
from tests.conftest import BIN, REPO, TINY_SR, run

TABLE_START, TABLE_END = "<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"


def documented() -> dict[str, str]:
    """The bad-input table of docs/errors.md: input -> the exact line printed (paths as
    <project>)."""
    text = (REPO / "docs/errors.md").read_text()
    table = text.split(TABLE_START)[1].split(TABLE_END)[0]
    rows = [line.split(" | ") for line in table.strip().splitlines()[2:]]
    return {row[0].removeprefix("| "): row[1].strip("` |") for row in rows}


@dataclass
class Case:
    """Where a case runs: a scratch folder, and the fixtures it may ask for."""

    folder: Path
    request: pytest.FixtureRequest


def one_error_line(result: subprocess.CompletedProcess, folder: Path) -> str:
    """The single `error:` line of a failed command, with `folder` written as <project>."""
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    return re.sub(r"\.tmp\d+", ".tmp<pid>", errors[0].replace(str(folder), "<project>"))


def python(case: Case, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """Run `python -m ARGS` in the case folder, importing this checkout; its error line."""
    result = run(
        [sys.executable, "-m", *args],
        case.folder,
        check=False,
        timeout=600,
        extra_env={"PYTHONPATH": str(REPO), **(extra_env or {})},
    )
    return one_error_line(result, case.folder)


CASES: dict[str, Callable[[Case], str]] = {}
PIPELINE: set[str] = set()  # cases that need the built tiny project (tests/conftest.py)


def case(
    name: str, pipeline: bool = False
) -> Callable[[Callable[[Case], str]], Callable[[Case], str]]:
    """Register a producer of the error line docs/errors.md documents for `name`."""

    def register(producer: Callable[[Case], str]) -> Callable[[Case], str]:
        CASES[name] = producer
        if pipeline:
            PIPELINE.add(name)
        return producer

    return register


def compose_error(case: Case, override: str) -> str:
    line = python(case, "pipelines.compose", override)
    assert not (case.folder / "params.yaml").exists()
    return line


@case("an unknown config key")
def _unknown_key(case: Case) -> str:
    return compose_error(case, "model.nope=1")


@case("an unknown config group option")
def _unknown_group(case: Case) -> str:
    return compose_error(case, "model=nope")


@case("a value of the wrong type")
def _wrong_type(case: Case) -> str:
    return compose_error(case, "evaluate.runs=abc")


@case("a value out of range")
def _out_of_range(case: Case) -> str:
    return compose_error(case, "evaluate.runs=0")


@case("an unknown enum value")
def _unknown_mode(case: Case) -> str:
    return compose_error(case, "quantize.modes=[int7]")


@case("a compiler flag with shell characters")
def _hostile_flag(case: Case) -> str:
    return compose_error(case, "cpp.cxx_flags=['-O2;touch PWNED #']")


@case("the compiler missing from PATH")
def _no_compiler(case: Case) -> str:
    return python(case, "pipelines.toolchain", "--check", extra_env={"PATH": str(BIN)})


@case("cmake missing from PATH")
def _no_cmake(case: Case) -> str:
    tools = case.folder / "tools"
    tools.mkdir()
    (tools / "c++").symlink_to("/usr/bin/c++")
    return python(case, "pipelines.toolchain", "--check", extra_env={"PATH": str(tools)})


def checkpoint_on(case: Case, mount_options: str) -> str:
    """Run the checkpoint stage with artifacts/ on a tmpfs mounted with `mount_options`."""
    run([sys.executable, "-m", "pipelines.compose", *TINY_SR], case.folder,
        extra_env={"PYTHONPATH": str(REPO)})  # fmt: skip
    artifacts = case.folder / "artifacts"
    artifacts.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", mount_options, "tmpfs", str(artifacts)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        line = python(case, "stages.checkpoint")
        assert list(artifacts.iterdir()) == []  # nothing partial, no temporaries
    finally:
        subprocess.run(["umount", str(artifacts)], check=True)
    return line


@case("the artifact folder full")
def _disk_full(case: Case) -> str:
    return checkpoint_on(case, "size=16k")


@case("the artifact folder read-only")
def _read_only(case: Case) -> str:
    return checkpoint_on(case, "ro")


# --- the checkpoint stage restoring a user's model ------------------------------------------

TINY_ARCH = {"width": 8, "blocks": 1}  # TINY_SR's network
TF_USER = ["model.frameworks=[tf]", "model.tf_checkpoint=inputs/ckpt"]
TORCH_USER = [
    "model.frameworks=[torch]",
    "model.share_weights=false",
    "model.torch_weights=inputs/weights.pt",
]


@pytest.fixture(scope="module")
def user_weights(tmp_path_factory) -> Path:
    """What a user might bring, untrained: a tf.train.Checkpoint (`<net>/ckpt`) and a state_dict
    (`<net>.pt`) of TINY_SR's network (`sr`) and of another one (`other`, tests/user_model.py)."""
    import tensorflow as tf
    import torch

    from pipelines.models.keras_nets import super_resolution
    from pipelines.models.torch_nets import SuperResolution
    from tests.user_model import UserNet, build_keras

    folder = tmp_path_factory.mktemp("user-weights")
    for name, keras_model, module in (
        ("sr", super_resolution(**TINY_ARCH), SuperResolution(**TINY_ARCH)),
        ("other", build_keras(), UserNet()),
    ):
        tf.train.Checkpoint(model=keras_model).write(str(folder / name / "ckpt"))
        torch.save(module.state_dict(), folder / f"{name}.pt")
    return folder


def bring(case: Case, source: str) -> list[Path]:
    """Copy the user's file(s) `source` of user_weights to inputs/ckpt.* or inputs/weights.pt."""
    weights = case.request.getfixturevalue("user_weights")
    inputs = case.folder / "inputs"
    inputs.mkdir()
    if source.endswith(".pt"):
        return [Path(shutil.copy(weights / source, inputs / "weights.pt"))]
    files = sorted((weights / source).parent.glob("ckpt.*"))
    return [Path(shutil.copy(file, inputs / file.name)) for file in files]


def cut(path: Path) -> None:
    """Keep the first half of the file, as an interrupted copy would."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def junk(path: Path) -> None:
    path.write_bytes(b"\x00junk" * 100)


def restore_error(case: Case, *overrides: str) -> str:
    """The checkpoint stage's line with `overrides` on TINY_SR; it must leave no artifact."""
    run([sys.executable, "-m", "pipelines.compose", *TINY_SR, *overrides], case.folder,
        extra_env={"PYTHONPATH": str(REPO)})  # fmt: skip
    line = python(case, "stages.checkpoint")
    artifacts = case.folder / "artifacts"
    assert not artifacts.exists() or list(artifacts.iterdir()) == []
    return line


@case("model.tf_checkpoint missing")
def _tf_missing(case: Case) -> str:
    return restore_error(case, *TF_USER)


@case("model.tf_checkpoint truncated (its .data file cut short)")
def _tf_truncated(case: Case) -> str:
    cut(next(f for f in bring(case, "sr/ckpt") if ".data-" in f.name))
    return restore_error(case, *TF_USER)


@case("model.tf_checkpoint corrupt (junk bytes)")
def _tf_corrupt(case: Case) -> str:
    for file in bring(case, "sr/ckpt"):
        junk(file)
    return restore_error(case, *TF_USER)


@case("model.tf_checkpoint of another network")
def _tf_other_network(case: Case) -> str:
    bring(case, "other/ckpt")
    return restore_error(case, *TF_USER)


@case("model.tf_checkpoint of the network at another width")
def _tf_other_width(case: Case) -> str:
    bring(case, "sr/ckpt")
    return restore_error(case, *TF_USER, "model.arch.width=12")


@case("model.torch_weights missing")
def _torch_missing(case: Case) -> str:
    return restore_error(case, *TORCH_USER)


@case("model.torch_weights truncated")
def _torch_truncated(case: Case) -> str:
    cut(bring(case, "sr.pt")[0])
    return restore_error(case, *TORCH_USER)


@case("model.torch_weights corrupt (junk bytes)")
def _torch_corrupt(case: Case) -> str:
    junk(bring(case, "sr.pt")[0])
    return restore_error(case, *TORCH_USER)


@case("model.torch_weights of another network")
def _torch_other_network(case: Case) -> str:
    bring(case, "other.pt")
    return restore_error(case, *TORCH_USER)


@case("model.torch_weights of the network at another width")
def _torch_other_width(case: Case) -> str:
    bring(case, "sr.pt")
    return restore_error(case, *TORCH_USER, "model.arch.width=12")


# --- the Python runtimes (python -m pipelines.run) --------------------------------------------

# The tiny project's artifact for each Python runtime, and the layout that runtime takes.
RUNTIMES = {
    "keras": ("artifacts/checkpoint/tf/ckpt", "NHWC"),
    "savedmodel": ("artifacts/savedmodel/model", "NHWC"),
    "frozen": ("artifacts/frozen/model.pb", "NHWC"),
    "tflite": ("artifacts/tflite/int8/model.tflite", "NHWC"),
    "torch": ("artifacts/checkpoint/torch/weights.pt", "NCHW"),
    "torch_export": ("artifacts/torch/trace/model.pt", "NCHW"),
}
SAMPLE = {"NHWC": (16, 16, 3), "NCHW": (3, 16, 16)}  # TINY_SR's input_shape


def good_samples(layout: str) -> np.ndarray:
    return np.zeros((2, *SAMPLE[layout]), np.float32)


def run_error(case: Case, runtime: str, model: str, samples: np.ndarray | None = None) -> str:
    """pipelines.run's line for `model` (relative to the case folder) in `runtime` on `samples`
    (None: on the case's in.npy as it is); it must write no output."""
    if samples is not None:
        np.save(case.folder / "in.npy", samples)
    line = python(case, "pipelines.run", "--runtime", runtime, "--model", model,
                  "--input", "in.npy", "--output", "out.npy", "--runs", "1", "--warmup", "0")  # fmt: skip
    assert not (case.folder / "out.npy").exists()
    return line


def on_tiny(case: Case) -> Path:
    """Make the case folder see the built tiny project's artifacts and params; its path."""
    tiny = case.request.getfixturevalue("tiny_project")
    (case.folder / "artifacts").symlink_to(tiny / "artifacts")
    shutil.copy(tiny / "params.yaml", case.folder / "params.yaml")
    return tiny


def not_a_model(case: Case, runtime: str, name: str, sidecar_of: str | None = None) -> str:
    """Junk bytes as the model file `name` (for a SavedModel, its saved_model.pb), with the tiny
    project's sidecar for `sidecar_of` beside it when given."""
    layout = RUNTIMES[runtime][1]
    model = case.folder / "junk" / name
    junk_file = model / "saved_model.pb" if runtime == "savedmodel" else model
    junk_file.parent.mkdir(parents=True)
    junk(junk_file)
    if sidecar_of:
        shutil.copy(on_tiny(case) / sidecar_of, sidecar.sidecar_path(model))
    else:
        run([sys.executable, "-m", "pipelines.compose", *TINY_SR], case.folder,
            extra_env={"PYTHONPATH": str(REPO)})  # fmt: skip
    return run_error(case, runtime, f"junk/{name}", good_samples(layout))


@case("junk bytes as a .tflite, to the tflite runtime")
def _junk_tflite(case: Case) -> str:
    return not_a_model(case, "tflite", "model.tflite")


@case("junk bytes as a .pt, to the torch_export runtime")
def _junk_pt(case: Case) -> str:
    return not_a_model(case, "torch_export", "model.pt")


@case("junk bytes as a .pt2, to the torch_export runtime")
def _junk_pt2(case: Case) -> str:
    return not_a_model(case, "torch_export", "model.pt2")


@case("junk bytes as a .pb without its model.json, to the frozen runtime")
def _junk_pb_alone(case: Case) -> str:
    return not_a_model(case, "frozen", "model.pb")


@case("junk bytes as a .pb (with a valid model.json), to the frozen runtime", pipeline=True)
def _junk_pb(case: Case) -> str:
    return not_a_model(case, "frozen", "model.pb", "artifacts/frozen/model.json")


@case(
    "junk bytes as a SavedModel (with a valid model.json), to the savedmodel runtime", pipeline=True
)
def _junk_savedmodel(case: Case) -> str:
    return not_a_model(case, "savedmodel", "model", "artifacts/savedmodel/model.json")


@pytest.fixture(scope="module")
def unsigned_savedmodel(tiny_project, tmp_path_factory) -> Path:
    """The tiny project's SavedModel saved again with its one signature named "predict" (and
    no "serving_default"), its model.json beside it."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("unsigned")
    loaded = tf.saved_model.load(str(tiny_project / "artifacts/savedmodel/model"))
    signatures = {"predict": loaded.signatures["serving_default"]}
    tf.saved_model.save(loaded, str(folder / "model"), signatures=signatures)
    shutil.copy(tiny_project / "artifacts/savedmodel/model.json", folder / "model.json")
    return folder


@case(
    "a SavedModel without the serving_default signature, to the savedmodel runtime", pipeline=True
)
def _unsigned_run(case: Case) -> str:
    shutil.copytree(case.request.getfixturevalue("unsigned_savedmodel"), case.folder / "unsigned")
    on_tiny(case)
    return run_error(case, "savedmodel", "unsigned/model", good_samples("NHWC"))


@case("a SavedModel without the serving_default signature, to the quantize stage", pipeline=True)
def _unsigned_quantize(case: Case) -> str:
    unsigned = case.request.getfixturevalue("unsigned_savedmodel")
    shutil.copytree(unsigned, case.folder / "artifacts/savedmodel")
    shutil.copy(case.request.getfixturevalue("tiny_project") / "params.yaml", case.folder)
    line = python(case, "stages.quantize", "float32")
    assert not (case.folder / "artifacts/tflite/float32").exists()
    return line


def bad_samples(layout: str) -> dict[str, np.ndarray]:
    """Two samples that do not fit a `layout` model of TINY_SR's input, by fault."""
    shape = SAMPLE[layout]
    channel = shape.index(3)
    wide = tuple(4 if axis == channel else d for axis, d in enumerate(shape))
    flat = tuple(d for axis, d in enumerate(shape) if axis != channel)
    rng = np.random.default_rng(0)
    return {
        "shape (one channel too many)": rng.random((2, *wide), dtype=np.float32),
        "rank (no channel axis)": rng.random((2, *flat), dtype=np.float32),
        "dtype (float64)": rng.random((2, *shape)),
    }


def wrong_input(runtime: str, fault: str) -> Callable[[Case], str]:
    def produce(case: Case) -> str:
        on_tiny(case)
        model, layout = RUNTIMES[runtime]
        return run_error(case, runtime, model, bad_samples(layout)[fault])

    return produce


for _runtime, (_, _layout) in RUNTIMES.items():
    for _fault in bad_samples(_layout):
        case(f"an input of the wrong {_fault} to the {_runtime} runtime", pipeline=True)(
            wrong_input(_runtime, _fault)
        )


def npy_error(case: Case, content: bytes) -> str:
    """pipelines.run's line for an input file holding `content` (read before any model)."""
    (case.folder / "in.npy").write_bytes(content)
    return run_error(case, "tflite", "model.tflite")


@case("a truncated .npy given to pipelines.run")
def _npy_truncated(case: Case) -> str:
    np.save(case.folder / "full.npy", np.zeros((2, 16, 16, 3), np.float32))
    return npy_error(case, (case.folder / "full.npy").read_bytes()[:1000])


@case("a file that is not a .npy given to pipelines.run")
def _npy_not(case: Case) -> str:
    return npy_error(case, b"this is not an npy file")


def test_every_case_is_documented_and_every_documented_input_tested():
    assert sorted(CASES) == sorted(documented())


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.pipeline) if n in PIPELINE else n for n in sorted(CASES)],
)
def test_a_bad_input_prints_the_documented_line(name, tmp_path, request):
    assert CASES[name](Case(tmp_path, request)) == documented()[name]


@pytest.mark.parametrize(
    ("source", "fix"),
    [
        (DataSource.arrays, "give data.calibration_inputs with more samples"),
        (DataSource.photos, "crops cut from data.train_images"),
        (DataSource.digits, "raise data.calibration_pool"),
    ],
)
def test_too_few_calibration_samples_names_the_fix_for_the_source(tmp_path, source, fix):
    samples = {"input": np.zeros((4, 8, 8, 3), np.float32)}
    data.save(data.Dataset(None, None, samples, None, samples), tmp_path, source)
    with pytest.raises(PipelineError) as error:
        data.load_calibration(tmp_path, 8, ModelConfig(name="x", input_shape=[1, 8, 8, 3]))
    message = str(error.value)
    assert f"only 4 calibration samples were kept from data.source={source.name}" in message
    assert fix in message
    assert "\n" not in message
