"""The architectures people deploy (tests/gallery.py), each through every stage by `dvc repro`
as a user's own model: every cell passes, or the stage said why the artifact is not applicable.

The gallery table in docs/your-model.md is this test's result: after changing the gallery or what
a stage does with it, rewrite the table with `CKPT2CPP_WRITE_GALLERY=1 pytest tests/test_gallery.py`.
"""

import contextlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    LITERT_BUNDLE_ONLY,
    REPO,
    assert_up_to_date,
    cells,
    env,
    make_project,
    run,
)

pytestmark = pytest.mark.pipeline

SAMPLES = 4


@dataclass(frozen=True)
class Input:
    """One model input and the random samples drawn for it."""

    name: str = "input"
    shape: tuple[int, ...] = (1, 32, 32, 3)
    layout: str = "image"
    vocabulary: int = 0  # token ids in [0, vocabulary) as int32; 0: real values in [0, 1)

    @property
    def dtype(self) -> str:
        return "int32" if self.vocabulary else "float32"


@dataclass(frozen=True)
class Entry:
    """One gallery project: a Keras network and a PyTorch network taking the same inputs, each
    described for the gallery table (docs/your-model.md)."""

    name: str
    keras: str  # a builder in tests/gallery.py
    keras_label: str
    torch: str  # an nn.Module class in tests/gallery.py
    torch_label: str
    inputs: tuple[Input, ...] = (Input(),)
    outputs: tuple[str, ...] = ()  # model.outputs (empty: one output)


GALLERY = [
    Entry(
        "cnn",
        "keras_mobilenet",
        "Keras Applications MobileNetV2 (`weights=None`, alpha 0.35): depthwise separable "
        "convolutions, batch norm, ReLU6, global pooling, softmax",
        "ResNet",
        "ResNet-style classifier: residual blocks, batch norm (eval mode), strided stage",
    ),
    Entry(
        "unet",
        "keras_unet",
        "encoder-decoder: strided convolutions, transposed convolutions, skip concatenations",
        "UNet",
        "encoder-decoder: strided convolutions, transposed convolutions, skip concatenations",
    ),
    Entry(
        "attention",
        "keras_attention",
        "vision-transformer block: patch embedding, Keras `MultiHeadAttention`, layer norm, MLP",
        "TransformerClassifier",
        "vision transformer: patch embedding, `nn.TransformerEncoder` (2 layers)",
    ),
    Entry(
        "recurrent",
        "keras_recurrent",
        "`LSTM` over a sequence of 12 feature vectors (`unroll=True`)",
        "RecurrentRegressor",
        "`nn.GRU` over a sequence of 12 feature vectors",
        inputs=(Input(shape=(1, 12, 6), layout="none"),),
    ),
    Entry(
        "tokens",
        "keras_token_classifier",
        "token ids (int32) → `Embedding`, 1-D convolution, pooling",
        "TokenClassifier",
        "token ids (int32) → `nn.Embedding`, `nn.TransformerEncoder`, pooling",
        inputs=(Input(shape=(1, 16), layout="none", vocabulary=100),),
    ),
    Entry(
        "two_io",
        "keras_two_in_two_out",
        "two inputs (an image, int32 token ids) → two outputs (class logits, a per-pixel mask)",
        "TwoInTwoOut",
        "two inputs (an image, int32 token ids) → two outputs (class logits, a per-pixel mask)",
        inputs=(
            Input(name="image"),
            Input(name="ids", shape=(1, 8), layout="none", vocabulary=50),
        ),
        outputs=("logits", "mask"),
    ),
]

TF_ARTIFACTS = ["tf/savedmodel", "tf/frozen", "tflite/float32", "tflite/int8"]
TORCH_ARTIFACTS = ["torch/trace", "torch/script", "torch/aoti"]


def _signature(entry: Entry) -> list[str]:
    """The one-input keys, or model.inputs / model.outputs for several."""
    if len(entry.inputs) == 1 and not entry.outputs:
        (one,) = entry.inputs
        return [
            f"model.input_shape={list(one.shape)}".replace(" ", ""),
            f"model.input_layout={one.layout}",
            f"model.input_dtype={one.dtype}",
        ]
    inputs = ",".join(
        f"{{name:{i.name},shape:{list(i.shape)},dtype:{i.dtype},layout:{i.layout}}}".replace(
            " ", ""
        )
        for i in entry.inputs
    )
    return [
        "model.input_shape=null",
        f"model.inputs=[{inputs}]",
        f"model.outputs=[{','.join(entry.outputs)}]",
        "data.eval_inputs=inputs/eval_x.npz",
    ]


def overrides(entry: Entry) -> list[str]:
    return [
        "model=custom",
        f"model.keras._target_=tests.gallery.{entry.keras}",
        f"model.torch._target_=tests.gallery.{entry.torch}",
        *_signature(entry),
        f"data.eval_samples={SAMPLES}",
        f"quantize.calibration_samples={SAMPLES}",
        *LITERT_BUNDLE_ONLY,
        "quantize.modes=[float32,int8]",
        "trace.methods=[trace,script,aoti]",
        "evaluate.warmup=1",
        "evaluate.runs=3",
        "evaluate.rounds=1",
        "evaluate.tf_bf16=false",  # the sr project covers the bf16 cells
        "evaluate.debug_layers=0",  # the int8 layer table: the sr tests cover it
    ]


def write_user_files(project: Path, entry: Entry) -> None:
    """Random weights for both networks (batch-norm statistics included) and random inputs
    (token ids for a token model)."""
    import tensorflow as tf
    import torch

    from tests import gallery

    (project / "inputs").mkdir(exist_ok=True)
    keras_model = getattr(gallery, entry.keras)()
    tf.train.Checkpoint(model=keras_model).write(str(project / "inputs/ckpt"))
    torch.manual_seed(0)
    module = getattr(gallery, entry.torch)()
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    torch.save(module.state_dict(), project / "inputs/weights.pt")
    rng = np.random.default_rng(0)
    inputs = {
        i.name: rng.integers(0, i.vocabulary, (SAMPLES, *i.shape[1:]), dtype=np.int32)
        if i.vocabulary
        else rng.random((SAMPLES, *i.shape[1:]), np.float32)
        for i in entry.inputs
    }
    if len(inputs) == 1:
        np.save(project / "inputs/eval_x.npy", inputs[entry.inputs[0].name])
    else:
        np.savez(project / "inputs/eval_x.npz", **inputs)


def _start(project: Path) -> subprocess.Popen:
    log = (project / "repro.log").open("w")
    return subprocess.Popen(
        ["dvc", "repro"], cwd=project, env=env(), stdout=log, stderr=subprocess.STDOUT
    )


@pytest.fixture(scope="module")
def gallery_projects(tmp_path_factory, shared_cache, sr_project) -> dict[str, Path]:
    """Every gallery project built, two at a time (their C++ runners come from the run-cache)."""
    projects = {}
    for entry in GALLERY:
        project = make_project(tmp_path_factory.mktemp(entry.name), shared_cache, overrides(entry))
        write_user_files(project, entry)
        run(["git", "add", "-A"], project)
        run(["git", "commit", "-qm", "user model"], project)
        projects[entry.name] = project
    pending = list(projects.values())
    while pending:
        batch, pending = pending[:2], pending[2:]
        for project, process in [(p, _start(p)) for p in batch]:
            code = process.wait(timeout=1800)
            assert code == 0, (project / "repro.log").read_text()[-4000:]
    return projects


def status(project: Path, artifact: str) -> str:
    """PASS (in Python and C++), n/a: <why>, or what failed."""
    from pipelines.backends.registry import not_applicable
    from pipelines.config import load

    with contextlib.chdir(project):  # artifact paths are relative to the project
        reason = not_applicable(load()).get(artifact)
    if reason is not None:
        return f"n/a: {reason}"
    judged = [c for c in cells(project).values() if c["artifact"] == artifact]
    failed = [f"{c['key']}: {c['verdict']}" for c in judged if not c["passed"]]
    languages = sorted(c["language"] for c in judged)
    return (
        "; ".join(failed) if failed else "PASS" if languages == ["cpp", "python"] else str(judged)
    )


@pytest.mark.parametrize("entry", GALLERY, ids=[e.name for e in GALLERY])
def test_every_artifact_passes_or_says_why_it_cannot_be_built(gallery_projects, entry):
    project = gallery_projects[entry.name]
    found = {a: status(project, a) for a in [*TF_ARTIFACTS, *TORCH_ARTIFACTS]}
    assert all(s == "PASS" or s.startswith("n/a: ") for s in found.values()), found
    assert all(c["passed"] for c in cells(project).values() if c["reference"])
    assert_up_to_date(project)


# A short reason per not-applicable artifact in the table; the full one is in the footnotes.
def _table(results: dict[str, dict[str, str]]) -> str:
    notes: list[str] = []

    def mark(state: str) -> str:
        if state == "PASS":
            return "✓"
        notes.append(state.removeprefix("n/a: "))
        return f"n/a [{len(notes)}]"

    rows = []
    for framework, names in (("Keras", TF_ARTIFACTS), ("PyTorch", TORCH_ARTIFACTS)):
        rows += [f"| {framework} architecture | {' | '.join(f'`{n}`' for n in names)} |"]
        rows += ["|---" * (len(names) + 1) + "|"]
        for entry in GALLERY:
            label = entry.keras_label if framework == "Keras" else entry.torch_label
            marks = [mark(results[entry.name][n]) for n in names]
            rows.append(f"| {label} | {' | '.join(marks)} |")
        rows.append("")
    rows += [f"[{i}] {note}  " for i, note in enumerate(notes, 1)]
    return "\n".join(rows).rstrip() + "\n"


GALLERY_PAGE = "docs/your-model.md"  # the page whose gallery table this test writes and checks
GALLERY_SECTION = re.compile(r"(<!-- gallery:start -->\n)(.*?)(<!-- gallery:end -->)", re.DOTALL)


def test_the_readme_gallery_table_is_the_result_of_this_run(gallery_projects):
    results = {
        e.name: {a: status(gallery_projects[e.name], a) for a in [*TF_ARTIFACTS, *TORCH_ARTIFACTS]}
        for e in GALLERY
    }
    table = _table(results)
    page = (REPO / GALLERY_PAGE).read_text()
    if os.environ.get("CKPT2CPP_WRITE_GALLERY"):
        page = GALLERY_SECTION.sub(lambda m: m.group(1) + table + m.group(3), page)
        (REPO / GALLERY_PAGE).write_text(page)
    documented = GALLERY_SECTION.search(page)
    assert documented is not None, f"{GALLERY_PAGE} has no <!-- gallery:start/end --> section"
    assert documented.group(2) == table, (
        f"the gallery table in {GALLERY_PAGE} differs from this run: rewrite it with "
        "CKPT2CPP_WRITE_GALLERY=1 pytest tests/test_gallery.py"
    )


def test_the_two_input_network_gets_a_bundle_whose_example_feeds_both_inputs_by_name(
    gallery_projects,
):
    """The package stage bundled the two-input, two-output network: its samples are one file
    per input name, and the example, built and run elsewhere, gave both outputs bit for bit as
    Python's LiteRT did."""
    project = gallery_projects["two_io"]
    bundles = json.loads((project / "dist/bundles.json").read_text())["bundles"]
    (name,) = bundles
    record = bundles[name]
    assert record["platform"] == "x86_64" and record["artifact"].startswith("tflite/")
    samples = sorted(p.name for p in (project / "dist" / name / "samples").glob("*.npy"))
    assert samples == ["ids.npy", "image.npy"]
    host = record["proof"]["runs"]["host"]
    assert host["status"] == "ok" and sorted(host["max_abs"]) == ["logits", "mask"]
    assert all(d == 0 for d in host["max_abs"].values())
