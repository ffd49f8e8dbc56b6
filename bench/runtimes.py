"""Latency of every artifact in its Python runtime and its C++ runner, at 1 and 2 threads,
measured side by side.

    python bench/runtimes.py [--rounds 5] [--runs 30] [--threads 1 2]

Needs a built workspace (`make run`). The machine is shared and noisy, so all cells of one
thread count take turns in one interleaved run (pipelines/evaluate/cells.py: each cell times
a round while the others wait); a cell's p50 is the median of its rounds' p50s.
"""

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import peers
from bench.machine import precision
from pipelines import data, paths, tensors
from pipelines.backends.registry import Artifact, artifacts
from pipelines.config import Language, load
from pipelines.evaluate.cells import Cell, CellRun, RunSettings
from pipelines.evaluate.evaluation import plan, time_cells
from pipelines.evaluate.profiles import Profiles, markdown, quantized_notes, tables

P50 = dict[str, float]  # cell key -> p50 ms


@dataclass
class Measured:
    """One interleaved run: each cell's p50, its rounds' p50s, its max abs error against its
    framework's original model and, where it profiled, its per-op profile."""

    p50: P50
    rounds: dict[str, list[float]]
    errors: dict[str, float]
    profiles: Profiles


def errors(cells: list[tuple[Artifact, Cell]], done: list[CellRun]) -> dict[str, float]:
    """Each cell's max abs error against the original model of its framework, same inputs."""
    outputs = {r.cell.key: tensors.first(r.outputs) for r in done if r.outputs is not None}
    found = {}
    for (artifact, _), run in zip(cells, done, strict=True):
        reference = outputs.get(peers.original(artifact.framework))
        mine = outputs.get(run.cell.key)
        if reference is not None and mine is not None and mine.shape == reference.shape:
            found[run.cell.key] = float(np.abs(mine - reference).max())
    return found


def measure(threads: int, rounds: int, runs: int, extra: Sequence[Artifact] = ()) -> Measured:
    """Every cell of the built workspace (Python and C++), and `extra` artifacts' Python cells
    (the peers), at `threads` threads."""
    cfg = load()
    cfg.evaluate.languages = list(Language)
    inputs, _ = data.load_eval(paths.DATASET, cfg.model)
    cells = plan(cfg, [*artifacts(cfg), *extra], paths.CPP_BIN)
    settings = RunSettings(warmup=10, runs=runs, rounds=rounds, threads=threads, timeout_s=600)
    done = time_cells(cells, tensors.rows(inputs, 0, 4), cfg.model, settings, f"{threads}T")
    ok = [r for r in done if r.ok]
    return Measured(
        p50={r.cell.key: r.stats["p50_ms"] for r in ok},
        rounds={r.cell.key: r.stats["round_p50_ms"] for r in ok},
        errors=errors(cells, done),
        profiles={r.cell.key: r.profile for r in ok if r.profile},
    )


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def table(p50: dict[int, P50]) -> str:
    """Markdown: per artifact, Python and C++ p50 and C++/Python at each thread count."""
    counts = sorted(p50)
    head = ["artifact"] + [
        f"{col} ({t}T)" for t in counts for col in ("Python ms", "C++ ms", "C++/Python")
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names = sorted({k.split("@")[0] for by_key in p50.values() for k in by_key})
    for name in names:
        cols = [name]
        for t in counts:
            py, cpp = p50[t].get(f"{name}@python"), p50[t].get(f"{name}@cpp")
            cols += [f"{py:.3f}" if py else "-", f"{cpp:.3f}" if cpp else "-", _ratio(cpp, py)]
        rows.append("| " + " | ".join(cols) + " |")
    return "\n".join(rows)


def summary(p50: P50) -> list[str]:
    """The quantized cells against their float twins in the same C++ runner."""
    lines = []
    base = p50.get("tflite/float32@cpp")
    for key, value in sorted(p50.items()):
        if (
            base
            and key.startswith("tflite/")
            and key.endswith("@cpp")
            and key != "tflite/float32@cpp"
        ):
            lines.append(
                f"- LiteRT C++ {key.split('@')[0]}: {base / value:.2f}x the speed of float32"
            )
    for framework in ("torch", "tf"):
        cpp = {k: v for k, v in p50.items() if k.startswith(f"{framework}/") and k.endswith("@cpp")}
        floats = {k: v for k, v in cpp.items() if precision(kind_of(k)) == "float32"}
        if not floats:
            continue
        fastest = min(floats, key=floats.__getitem__)
        for key, value in sorted(cpp.items()):
            if key not in floats:
                lines.append(
                    f"- {precision(kind_of(key))} in C++: {key.split('@')[0]} {value:.3f} ms = "
                    f"{value / floats[fastest]:.2f}x the fastest float32 {framework} C++ cell "
                    f"({fastest}, {floats[fastest]:.3f} ms)"
                )
    return lines


def kind_of(key: str) -> str:
    """`torch/aoti_bf16@cpp` -> `aoti_bf16`: the artifact kind of a cell key."""
    return key.split("@")[0].split("/")[-1]


def _slower(measured: dict[int, Measured]) -> list[str]:
    """C++ cells slower than Python at some thread count, each with whether the two cells'
    round p50s overlap (then the difference is within this run's noise)."""
    found = []
    for t, run in measured.items():
        for key, cpp in run.p50.items():
            python = key.replace("@cpp", "@python")
            if key.endswith("@cpp") and cpp > run.p50.get(python, cpp):
                overlap = min(run.rounds[key]) <= max(run.rounds[python])
                noise = "rounds overlap: within noise" if overlap else "every round slower"
                found.append(f"{key.split('@')[0]} at {t}T ({cpp / run.p50[python]:.2f}, {noise})")
    return found


def verdicts() -> dict[str, bool]:
    """Whether the evaluation of the built workspace passed each cell (reports/cells.json)."""
    found = json.loads(Path("reports/cells.json").read_text())
    return {cell["key"]: bool(cell["passed"]) for cell in found}


def against_peers(run: Measured, passed: dict[str, bool]) -> list[str]:
    """Markdown: every ckpt2cpp C++ cell beside the fastest peer, then the peers themselves,
    each with its max abs error against the original model."""
    peer_p50 = {k: v for k, v in run.p50.items() if k.startswith("peer/")}
    if not peer_p50:
        return ["No peers measured: install the bench extra (`pip install -e '.[bench]'`)."]
    fastest = min(peer_p50, key=peer_p50.__getitem__)
    best = peer_p50[fastest]
    rows = [
        f"Fastest peer: {fastest.split('@')[0]}, {best:.3f} ms.",
        "",
        "| cell | p50 ms | / fastest peer | max abs vs original | evaluation |",
        "|---|---|---|---|---|",
    ]
    mine = sorted((k for k in run.p50 if k.endswith("@cpp")), key=run.p50.__getitem__)
    for key in [*mine, *sorted(peer_p50, key=peer_p50.__getitem__)]:
        verdict = "PASS" if passed.get(key) else "FAIL" if key in passed else "-"
        error = run.errors.get(key)
        rows.append(
            f"| {key} | {run.p50[key]:.3f} | {run.p50[key] / best:.2f} | "
            f"{f'{error:.2g}' if error is not None else '-'} | {verdict} |"
        )
    verified = [k for k in mine if passed.get(k)]
    if verified:
        top = verified[0]
        rows += [
            "",
            f"Fastest verified ckpt2cpp C++ cell: {top.split('@')[0]}, {run.p50[top]:.3f} ms = "
            f"{run.p50[top] / best:.2f}x the fastest peer (goal: at most 1.00).",
        ]
    return rows


def section(rounds: int = 5, runs: int = 30, threads: tuple[int, ...] = (1, 2)) -> str:
    """The runtimes section of bench/README.md: C++ against Python at each thread count, the
    first thread count's run against the peers, and its per-op profiles."""
    with tempfile.TemporaryDirectory() as folder:
        others = peers.artifacts(load(), Path(folder))
        measured = {
            t: measure(t, rounds, runs, others if t == min(threads) else []) for t in threads
        }
    first = measured[min(measured)]
    lines = [
        f"All cells of one thread count in one interleaved run: {rounds} rounds of {runs} runs, "
        "4 evaluation samples, p50 = median of the rounds' p50s.",
        "",
        table({t: m.p50 for t, m in measured.items()}),
        "",
        "C++ slower than Python (ratio > 1.00): " + (", ".join(_slower(measured)) or "none"),
        "",
        *summary(first.p50),
        "",
        f"### Against the runtimes users would pick instead ({min(measured)} thread, same run)",
        "",
        "ONNX Runtime on the PyTorch model exported to ONNX; OpenVINO on that ONNX file and on "
        "the SavedModel, float32 and bf16 (bench/peers.py). Evaluation: the verdict of the "
        "built workspace's `dvc repro` (tolerance or task-metric drop).",
        "",
        *against_peers(first, verdicts()),
        "",
        f"### Where the time goes ({min(measured)} thread, per-op profiles of the same run)",
        "",
        *(f"- {note}" for note in quantized_notes(first.profiles)),
    ]
    for found in tables(first.profiles):
        lines += ["", markdown(found)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(section(args.rounds, args.runs, tuple(args.threads)))


if __name__ == "__main__":
    main()
