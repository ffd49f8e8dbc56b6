"""Shared fixtures: temporary copies of the project in which DVC runs for real.

Tests never touch the developer's checkout: a project copy is the tracked (and new, unignored)
files of this checkout in a fresh git repository, with a DVC cache shared by all copies of the
session so that stages already built elsewhere (the C++ runners, say) are restored from the
run-cache instead of rebuilt.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.sweep.experiments import stages_run  # noqa: F401  (tests import it from here)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Every git commit the tests cause, in the project copies and in the clones that tests, DVC
# and the sweep make of them, takes its identity from here: clones do not inherit a repository's
# local config, and a fresh machine may have no global one.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "tests",
    "GIT_AUTHOR_EMAIL": "tests@ckpt2cpp.local",
    "GIT_COMMITTER_NAME": "tests",
    "GIT_COMMITTER_EMAIL": "tests@ckpt2cpp.local",
}


def env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every command the tests run: the venv first on PATH, quiet
    TensorFlow, the git identity, then `extra_env`."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **GIT_IDENTITY,
        **(extra_env or {}),
    }


def run(
    command: list[str],
    cwd: Path,
    check: bool = True,
    timeout: float = 1200,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a command in env(extra_env); with `check`, fail showing its output if it fails."""
    result = subprocess.run(
        command, cwd=cwd, env=env(extra_env), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def run_module(
    folder: Path,
    *args: str,
    check: bool = False,
    timeout: float = 600,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m ARGS` in `folder` (outside a project copy), importing this checkout."""
    return run(
        [sys.executable, "-m", *args],
        folder,
        check=check,
        timeout=timeout,
        extra_env={"PYTHONPATH": str(REPO), **(extra_env or {})},
    )


def token_model(length: int):
    """The model config of a network taking `length` int32 token ids (no image layout)."""
    from pipelines.config import InputDtype, InputLayout, ModelConfig, Task

    return ModelConfig(
        name="tokens",
        task=Task.generic,
        input_shape=[1, length],
        input_dtype=InputDtype.int32,
        input_layout=InputLayout.none,
    )


def compose(project: Path, *overrides: str) -> None:
    """Write the project's params.yaml from conf/ and `overrides`, as `pipelines.compose` does."""
    run([sys.executable, "-m", "pipelines.compose", *overrides], project)


def assert_up_to_date(project: Path) -> None:
    """`dvc status` finds nothing to do: every stage's outputs match its dependencies."""
    assert "Data and pipelines are up to date." in run(["dvc", "status"], project).stdout


def cells(project: Path) -> dict[str, dict]:
    """The evaluation's cells (one per artifact and runtime), by key, from reports/cells.json."""
    return {c["key"]: c for c in json.loads((project / "reports/cells.json").read_text())}


def changed_stages(project: Path) -> set[str]:
    """Stages with a dependency that `dvc status` finds modified (deleted ones, such as the
    artifacts of a copy made without them, and outputs are not counted). DVC's own status,
    called in this process: what `dvc status --json` prints, without starting DVC each time."""
    from dvc.repo import Repo

    # from inside the project, as the command runs: elsewhere DVC names each stage by the path
    # of its dvc.yaml relative to the current directory (`../p/dvc.yaml:evaluate`)
    with contextlib.chdir(project), Repo(".") as repo:
        status = repo.status()
    return {
        stage
        for stage, changes in status.items()
        for change in changes
        if isinstance(change, dict) and "modified" in change.get("changed deps", {}).values()
    }


def changed_by_editing(project: Path, source: str) -> set[str]:
    """The stages `dvc status` finds changed while `source` has one more line (then restored)."""
    path = project / source
    original = path.read_bytes()
    path.write_bytes(original + b"\n# edited by a test\n")
    try:
        return changed_stages(project)
    finally:
        path.write_bytes(original)


def stages_restored(output: str) -> list[str]:
    """Stages a `dvc repro` log restored from the run-cache without running them."""
    return [
        line.split("'")[1]
        for line in output.splitlines()
        if line.endswith("is cached - skipping run, checking out outputs")
    ]


def tracked_files() -> list[str]:
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO)
    return [f for f in listed.stdout.split("\0") if f and (REPO / f).is_file()]


def make_project(destination: Path, cache: Path, overrides: list[str] = ()) -> Path:
    """Copy the project, compose params.yaml with `overrides`, and commit it in a new git repo."""
    for name in tracked_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    (destination / "dvc.lock").unlink(missing_ok=True)  # build everything afresh
    run(["git", "init", "-q"], destination)
    run(["dvc", "config", "--local", "cache.dir", str(cache)], destination)
    compose(destination, *overrides)
    run(["git", "add", "-A"], destination)
    run(["git", "commit", "-qm", "test project"], destination)
    return destination


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dvc-cache")


@pytest.fixture(scope="session")
def sr_project(tmp_path_factory, shared_cache) -> Path:
    """The bundled super-resolution example, built by `dvc repro` with the default config."""
    project = make_project(tmp_path_factory.mktemp("sr"), shared_cache)
    run(["dvc", "repro"], project, timeout=1800)
    return project


# The sr project proves the ARM64 bundles (QEMU is slow) and the libtorch one (436 MB of
# libraries); the other test projects bundle their LiteRT pick, for x86-64 only.
LITERT_BUNDLE_ONLY = ["package.platforms=[x86_64]", "package.artifacts=[best:litert]"]


# The digits example as the tests run it: the quantization modes and exports its tests look at
# (the sr project covers every one), so each of the many evaluations the sweep tests run has 16
# cells instead of 30, and the fixture builds four .tflite files and two exports.
DIGITS = [
    "model=digits",
    "quantize.modes=[float32,dynamic,int8,uint8]",
    "trace.methods=[trace,aoti]",
    "evaluate.tf_bf16=false",
    "evaluate.start_together=2",  # load times do not matter here: two cells load at once
    *LITERT_BUNDLE_ONLY,
]


def set_params(*overrides: str) -> list[str]:
    """`-S OVERRIDE` for each of `overrides`, for `dvc exp run`."""
    return [arg for override in overrides for arg in ("-S", override)]


@pytest.fixture(scope="session")
def digits_project(tmp_path_factory, shared_cache, sr_project) -> Path:
    """The bundled digits classifier, built the DVC+Hydra way: `dvc exp run -S model=digits`
    (with DIGITS' other overrides).

    Depends on sr_project so the C++ runners it built come from the shared run-cache.
    """
    project = make_project(tmp_path_factory.mktemp("digits"), shared_cache)
    run(["dvc", "exp", "run", *set_params(*DIGITS)], project, timeout=1800)
    return project


# A tiny sr model: seconds per stage, for tests that run stages many times.
TINY_SR = [
    "model.arch.width=8",
    "model.arch.blocks=1",
    "model.input_shape=[1,16,16,3]",
    "model.train.epochs=1",
    "data.train_patches=64",
    "data.patch_size=8",
    "data.eval_samples=4",
    "data.calibration_pool=16",
    "quantize.calibration_samples=8",
]
TINY = [
    *TINY_SR,
    "quantize.modes=[int8]",
    "trace.methods=[trace]",
    "evaluate.runs=3",
    "evaluate.rounds=1",
    "evaluate.tf_bf16=false",
    "evaluate.start_together=2",
    *LITERT_BUNDLE_ONLY,
]


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory, shared_cache, sr_project) -> Path:
    """The tiny sr pipeline, built (the C++ runners come from sr_project's run-cache). Tests may
    rerun or break its stages but must leave it up to date."""
    project = make_project(tmp_path_factory.mktemp("tiny"), shared_cache, TINY)
    run(["dvc", "repro"], project)
    return project


def lock_outs(project: Path) -> dict[str, dict[str, str]]:
    """Per stage of dvc.lock: each output path and its recorded hash."""
    stages = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    return {
        name: {out["path"]: out.get("md5", "") for out in body.get("outs", [])}
        for name, body in stages.items()
    }
