"""Clean runs are bit-identical wherever they run: each stage built again in another folder from
the same inputs writes the same bytes as the first build (same machine, same environment)."""

import shutil

import pytest

from tests.conftest import TINY, assert_up_to_date, lock_outs, make_project, run

pytestmark = pytest.mark.pipeline

# Every stage but evaluate (it measures latency) and package (its bundles record the example's
# timings): the tiny project's stages, and the AOTInductor packages of the sr project (the tiny
# one exports TorchScript only).
TINY_STAGES = ["checkpoint", "freeze", "savedmodel", "quantize@int8", "trace@trace", "build_cpp"]
SR_STAGES = ["trace@aoti", "trace@aoti_int8", "trace@aoti_bf16"]


def _rebuilt_elsewhere(project, folder, shared_cache, overrides, stages, restore=()):
    """lock_outs of `stages` rebuilt (forced, not restored from the run-cache) in a new copy of
    the project in `folder`, after restoring the outputs of `restore` from the shared cache."""
    other = make_project(folder, shared_cache, overrides)
    shutil.copy2(project / "dvc.lock", other / "dvc.lock")
    if restore:
        run(["dvc", "checkout", *restore], other)
    run(["dvc", "repro", "--force", "--single-item", *stages], other, timeout=1800)
    return {stage: lock_outs(other)[stage] for stage in stages}


def test_the_tiny_project_builds_the_same_bytes_in_another_folder(
    tiny_project, shared_cache, tmp_path
):
    before = {stage: lock_outs(tiny_project)[stage] for stage in TINY_STAGES}
    folder = tmp_path / "another" / "folder"
    assert _rebuilt_elsewhere(tiny_project, folder, shared_cache, TINY, TINY_STAGES) == before
    assert_up_to_date(tiny_project)


def test_the_aoti_packages_are_the_same_bytes_in_another_folder(sr_project, shared_cache, tmp_path):
    """TorchScript and AOTInductor keep no source path (debug records and stack traces dropped),
    no memory address (size asserts off) and no uninitialized bytes (oneDNN descriptor padding
    zeroed), so aoti_int8 included, the packages are equal."""
    before = {stage: lock_outs(sr_project)[stage] for stage in SR_STAGES}
    restore = ["checkpoint"]
    after = _rebuilt_elsewhere(sr_project, tmp_path / "sr2", shared_cache, [], SR_STAGES, restore)
    assert after == before
