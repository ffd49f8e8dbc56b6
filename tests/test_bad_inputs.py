"""Bad inputs: each gets one line that names the problem and the fix, a non-zero exit, and
leaves nothing partial. README.md's bad-input table is checked against what each case prints."""

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipelines import data
from pipelines.config import DataSource
from pipelines.errors import PipelineError
from tests.conftest import BIN, REPO, TINY_SR, run

TABLE_START, TABLE_END = "<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"


def documented() -> dict[str, str]:
    """README's bad-input table: input -> the exact line printed (paths as <project>)."""
    text = (REPO / "README.md").read_text()
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


def case(name: str) -> Callable[[Callable[[Case], str]], Callable[[Case], str]]:
    def register(producer: Callable[[Case], str]) -> Callable[[Case], str]:
        CASES[name] = producer
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


def test_every_case_is_documented_and_every_documented_input_tested():
    assert sorted(CASES) == sorted(documented())


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_input_prints_the_documented_line(name, tmp_path, request):
    assert CASES[name](Case(tmp_path, request)) == documented()[name]


@pytest.mark.parametrize(
    ("source", "fix"),
    [
        (DataSource.arrays, "give data.calibration_inputs with more samples"),
        (DataSource.photos, "data.train_patches"),
        (DataSource.digits, "raise data.calibration_pool"),
    ],
)
def test_too_few_calibration_samples_names_the_fix_for_the_source(tmp_path, source, fix):
    samples = np.zeros((4, 8, 8, 3), np.float32)
    data.save(data.Dataset(None, None, samples, None, samples), tmp_path, source)
    with pytest.raises(PipelineError) as error:
        data.load_calibration(tmp_path, 8)
    message = str(error.value)
    assert f"only 4 calibration samples were kept from data.source={source.name}" in message
    assert fix in message
    assert "\n" not in message
