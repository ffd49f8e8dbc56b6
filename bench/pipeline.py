"""How long the pipeline takes: a first `dvc repro` of a fresh clone of this repository's HEAD
(every stage, its own time), a no-op `dvc repro` against a bare `dvc status`, and the same
4-job sweep run one job at a time, two at a time, and again from the cache.

    python bench/pipeline.py [--repeats 3]

Uses this checkout's .venv (the install is not timed) and an empty DVC cache in the clone.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.sweep.experiments import read_results

REPO = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"Running stage '([^']+)'")
# Four jobs that each evaluate again (nothing upstream changes; none is the default config).
SWEEP = ["evaluate.threads=1,2", "evaluate.rounds=2,4"]


def _env() -> dict[str, str]:
    """This venv's tools first on PATH, as `make run` has them."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def first_repro(clone: Path) -> tuple[dict[str, float], float]:
    """Seconds per stage of a first `dvc repro` in `clone`, and in all."""
    started = time.perf_counter()
    marks: list[tuple[str, float]] = []
    process = subprocess.Popen(
        ["dvc", "repro"],
        cwd=clone,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if found := STAGE.search(line):
            marks.append((found.group(1), time.perf_counter()))
    if process.wait() != 0:
        sys.exit("error: dvc repro failed in the fresh clone (run `make run` to see why)")
    total = time.perf_counter() - started
    ends = [t for _, t in marks[1:]] + [started + total]
    return {name: end - begin for (name, begin), end in zip(marks, ends, strict=True)}, total


def _seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - started


def noop(clone: Path, repeats: int) -> tuple[float, float]:
    """Median seconds of `dvc status` and of a no-op `dvc repro`, run alternately."""
    status, repro = [], []
    for _ in range(repeats):
        status.append(_seconds(["dvc", "status"], clone))
        repro.append(_seconds(["dvc", "repro"], clone))
    return sorted(status)[len(status) // 2], sorted(repro)[len(repro) // 2]


def sweep(clone: Path, n_jobs: int) -> tuple[float, list[list[str]]]:
    """Seconds of the SWEEP with `n_jobs` jobs at once in `clone`, and each job's stages run."""
    before = set(clone.glob("multirun/*"))
    command = [sys.executable, "-m", "pipelines.sweep", "-m", *SWEEP]
    seconds = _seconds([*command, f"hydra.launcher.n_jobs={n_jobs}"], clone)
    (folder,) = set(clone.glob("multirun/*")) - before
    return seconds, [result["stages_run"] for result in read_results(folder)]


def _cache_dir(clone: Path) -> Path:
    """The DVC cache `clone` uses (its run-cache is the `runs` folder inside)."""
    found = subprocess.run(
        ["dvc", "cache", "dir"], cwd=clone, env=_env(), check=True, capture_output=True, text=True
    )
    return Path(found.stdout.strip())


def sweeps(clone: Path) -> list[str]:
    """Table rows: the SWEEP one job at a time, two at a time, and again (from the run-cache).
    The run-cache is emptied before the first two, so that both run the same stages."""
    rows = []
    for label, n_jobs, fresh in (
        ("one job at a time", 1, True),
        ("two jobs at a time", 2, True),
        ("again, two at a time (cached)", 2, False),
    ):
        if fresh:
            shutil.rmtree(_cache_dir(clone) / "runs", ignore_errors=True)
        seconds, stages = sweep(clone, n_jobs)
        ran = sum(len(s) for s in stages)
        rows.append((label, seconds, ran))
    first = rows[0][1]
    return [f"| {label} | {s:.0f} | {first / s:.2f}x | {ran} |" for label, s, ran in rows]


def section(repeats: int = 3) -> str:
    """The pipeline section of bench/README.md."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "project"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        stages, total = first_repro(clone)
        status, repro = noop(clone, repeats)
        sweep_rows = sweeps(clone)
    lines = [
        f"First `dvc repro` of a fresh clone of HEAD (venv installed, DVC cache empty): "
        f"**{total:.0f} s** (goal: under 180 s).",
        "",
        "| stage | s | share |",
        "|---|---|---|",
        *(f"| {name} | {s:.1f} | {100 * s / total:.0f} % |" for name, s in stages.items()),
        "",
        f"No-op `dvc repro` {repro:.2f} s against a bare `dvc status` {status:.2f} s: "
        f"**{repro / status:.2f}x** (goal: at most 1.5x; median of {repeats}, run alternately).",
        "",
        f"Sweep throughput: `python -m pipelines.sweep -m {' '.join(SWEEP)}` (4 jobs, each "
        "evaluating again) in the same clone; the run-cache emptied before the first two runs.",
        "",
        "| run | s | throughput vs one at a time | stages run |",
        "|---|---|---|---|",
        *sweep_rows,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    print(section(parser.parse_args().repeats))


if __name__ == "__main__":
    main()
