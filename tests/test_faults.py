"""Faults: a stage killed while it writes, and two `dvc repro` at once, leave nothing stale."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assert_up_to_date, env, lock_outs, run

pytestmark = pytest.mark.pipeline

STAGES = ["checkpoint", "freeze", "savedmodel", "quantize@int8", "trace@trace", "build_cpp",
          "evaluate"]  # fmt: skip


def temporaries(project: Path, outs: list[str]) -> list[Path]:
    """The atomic writer's temporary siblings of `outs` (`.<name>.tmp<pid>`)."""
    return [temp for out in outs for temp in (project / out).parent.glob(f".{Path(out).name}.tmp*")]


def start(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["dvc", *args], cwd=project, env=env(), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


# Stages that write all their outputs within milliseconds at the end die instead while their
# long step runs: evaluate while a cell runs, build_cpp while the compiler does (it builds two
# programs at a time, then copies them).
LONG_STEP = {"evaluate": b"-m\0pipelines.run\0", "build_cpp": b"cc1plus"}


def long_step_running(group: int, stage: str) -> bool:
    """Whether a process of `group` runs `stage`'s long step (LONG_STEP)."""
    marker = LONG_STEP.get(stage)
    for proc in Path("/proc").glob("[0-9]*") if marker else ():
        try:
            in_group = os.getpgid(int(proc.name)) == group
            command = (proc / "cmdline").read_bytes()
        except (OSError, ProcessLookupError):  # it ended while we looked
            continue
        if in_group and marker in command:
            return True
    return False


def kill_while_writing(project: Path, stage: str, outs: list[str]) -> None:
    """Run `stage` afresh and SIGKILL it (DVC and the stage) once its temporary output exists,
    or while its long step runs (LONG_STEP)."""
    process = start(project, "repro", "--force", "--single-item", stage)
    deadline = time.monotonic() + 300
    while not (temporaries(project, outs) or long_step_running(process.pid, stage)):
        assert process.poll() is None, f"{stage} ended before it wrote: {process.stdout.read()}"
        assert time.monotonic() < deadline, f"{stage} wrote no temporary output in 300 s"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_killed_mid_write_is_rebuilt_whole(tiny_project, stage):
    before = lock_outs(tiny_project)[stage]
    kill_while_writing(tiny_project, stage, list(before))
    status = run(["dvc", "status", stage], tiny_project).stdout
    assert "up to date" in status or "deleted" in status or "modified" in status, status
    run(["dvc", "repro"], tiny_project)
    assert_up_to_date(tiny_project)  # every output whole: what dvc.lock says it is
    after = lock_outs(tiny_project)[stage]
    assert set(after) == set(before)
    assert all((tiny_project / out).exists() for out in after)
    # DVC may restore the stage from its run-cache without running it; then the killed run's
    # temporaries stay until the stage next runs (test_atomic), ignored by git meanwhile
    untracked = run(["git", "status", "--porcelain", "--untracked-files=all"], tiny_project)
    assert ".tmp" not in untracked.stdout


def test_two_repros_at_once_never_corrupt_the_lock_or_the_cache(tiny_project):
    first, second = (start(tiny_project, "repro", "--force", "quantize@int8") for _ in range(2))
    results = [(p.wait(timeout=600), p.stdout.read()) for p in (first, second)]
    assert any(code == 0 for code, _ in results), results
    for code, log in results:
        assert code == 0 or "lock" in log.lower(), log  # the loser says the repo is locked
    lock_outs(tiny_project)  # still valid YAML with every stage
    assert_up_to_date(tiny_project)
    run(["dvc", "repro"], tiny_project)
    assert_up_to_date(tiny_project)
