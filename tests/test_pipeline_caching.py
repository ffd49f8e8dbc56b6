"""DVC reruns exactly what a change invalidates, and restores what it has seen before.

These tests change the sr project and put it back as they found it (the run-cache makes that
cheap), so the read-only tests in other files see the default build.
"""

import sys
from pathlib import Path

import pytest

from tests.conftest import assert_up_to_date, compose, run, stages_restored, stages_run

pytestmark = pytest.mark.pipeline

TRACE = sorted(["trace@trace", "trace@aoti", "trace@aoti_int8", "trace@aoti_bf16"])


def restore(project: Path) -> None:
    run(["git", "checkout", "--", "params.yaml", "cpp"], project)
    run(["dvc", "repro"], project)
    assert_up_to_date(project)


def plan(project: Path) -> list[str]:
    """The stages `dvc repro --dry` would run, sorted: DVC orders independent stages differently
    from run to run (trace@aoti came before trace@trace in one CI run)."""
    return sorted(stages_run(run(["dvc", "repro", "--dry"], project).stdout))


def ran(project: Path, target: str) -> list[str]:
    """The stages `dvc repro target` ran, sorted (see `plan`)."""
    return sorted(stages_run(run(["dvc", "repro", target], project).stdout))


QUANTIZE = sorted(
    f"quantize@{m}" for m in ("float32", "dynamic", "float16", "int8", "uint8", "int8_selective")
)


def test_a_quantize_parameter_reruns_only_the_quantize_variants_and_evaluate(sr_project):
    original = (sr_project / "artifacts/tflite/int8/model.tflite").read_bytes()
    try:
        compose(sr_project, "quantize.calibration_samples=100")
        # a matrix lists the same params for every variant, so all variants rerun
        assert plan(sr_project) == sorted([*QUANTIZE, "evaluate"])
        assert ran(sr_project, "quantize@int8") == ["quantize@int8"]  # one variant, as a sample
        compose(sr_project)  # back to the default: restored from the run-cache, nothing runs
        log = run(["dvc", "repro", "quantize@int8"], sr_project).stdout
        assert stages_run(log) == []
        assert stages_restored(log) == ["quantize@int8"]
        assert (sr_project / "artifacts/tflite/int8/model.tflite").read_bytes() == original
    finally:
        restore(sr_project)


def test_a_trace_parameter_reruns_only_the_trace_variants(sr_project):
    try:
        compose(sr_project, "trace.atol=2e-5")
        # `--dry` lists the stages invalidated directly; evaluate follows only if outputs change
        assert plan(sr_project) == TRACE
        assert ran(sr_project, "trace@trace") == ["trace@trace"]  # one variant, as a sample
    finally:
        restore(sr_project)


def test_an_evaluate_parameter_reruns_only_evaluate(sr_project):
    try:
        compose(sr_project, "evaluate.runs=7")
        assert plan(sr_project) == ["evaluate"]
    finally:
        restore(sr_project)


def test_editing_one_runner_rebuilds_only_that_program(sr_project):
    source = sr_project / "cpp/litert/litert_runner.cpp"
    try:
        source.write_text(source.read_text() + "\n// edited by a test\n")
        assert plan(sr_project) == ["build_cpp"]
        log = run(["dvc", "repro", "build_cpp"], sr_project).stdout
        assert stages_run(log) == ["build_cpp"]
        assert "Building CXX object CMakeFiles/litert_runner.dir" in log
        assert "CMakeFiles/torch_runner.dir" not in log and "CMakeFiles/tf_runner.dir" not in log
        # a comment changes no byte of the program (the build is reproducible), so nothing
        # downstream of build_cpp has to run again
        assert_up_to_date(sr_project)
    finally:
        restore(sr_project)


def test_a_new_toolchain_fingerprint_rebuilds_the_runners(sr_project):
    """Last in this file: it leaves build/cmake configured for g++, so the next real build of
    the runners starts afresh (the test above needs an incremental one)."""
    lock = sr_project / "cpp/toolchain.json"
    try:
        lock.write_text(lock.read_text().replace('"python"', '"python_"'))
        assert plan(sr_project) == ["build_cpp", "package"]  # both compile
        # a lock that does not describe this machine is refused, not built against
        result = run(["dvc", "repro", "build_cpp"], sr_project, check=False)
        assert result.returncode != 0
        assert "describes another toolchain" in result.stdout + result.stderr
        # another compiler (g++ instead of c++) is another fingerprint: recorded, then rebuilt
        other_compiler = {"CXX": "g++"}
        run([sys.executable, "-m", "pipelines.toolchain"], sr_project, extra_env=other_compiler)
        assert '"compiler": "g++ ' in lock.read_text()
        log = run(["dvc", "repro", "build_cpp"], sr_project, extra_env=other_compiler).stdout
        assert stages_run(log) == ["build_cpp"]
        for program in ("torch_runner", "tf_runner", "litert_runner"):
            assert f"Building CXX object CMakeFiles/{program}.dir" in log
    finally:
        restore(sr_project)
