"""Latency of every artifact in its Python runtime and its C++ runner, at 1 and 2 threads,
measured side by side.

    python bench/runtimes.py [--rounds 5] [--runs 30] [--threads 1 2]

Needs a built workspace (`make run`). The machine is shared and noisy, so all cells of one
thread count take turns in one interleaved run (pipelines/evaluate/cells.py: each cell times
a round while the others wait); a cell's p50 is the median of its rounds' p50s.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import data, paths, tensors
from pipelines.backends.registry import artifacts
from pipelines.config import Language, load
from pipelines.evaluate.cells import RunSettings
from pipelines.evaluate.evaluation import plan, time_cells
from pipelines.evaluate.profiles import Profiles, markdown, quantized_notes, tables

P50 = dict[str, float]  # cell key -> p50 ms


@dataclass
class Measured:
    """One interleaved run: each cell's p50, its rounds' p50s and, where it profiled, its
    per-op profile."""

    p50: P50
    rounds: dict[str, list[float]]
    profiles: Profiles


def measure(threads: int, rounds: int, runs: int) -> Measured:
    """Every cell of the built workspace (Python and C++) at `threads` threads."""
    cfg = load()
    cfg.evaluate.languages = list(Language)
    inputs, _ = data.load_eval(paths.DATASET, cfg.model)
    cells = plan(cfg, artifacts(cfg), paths.CPP_BIN)
    settings = RunSettings(warmup=10, runs=runs, rounds=rounds, threads=threads, timeout_s=600)
    done = time_cells(cells, tensors.rows(inputs, 0, 4), cfg.model, settings, f"{threads}T")
    ok = [r for r in done if r.ok]
    return Measured(
        p50={r.cell.key: r.stats["p50_ms"] for r in ok},
        rounds={r.cell.key: r.stats["round_p50_ms"] for r in ok},
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
    int8 = p50.get("torch/aoti_int8@cpp")
    floats = {k: v for k, v in p50.items() if k.startswith("torch/") and k.endswith("@cpp")}
    floats.pop("torch/aoti_int8@cpp", None)
    if int8 and floats:
        fastest = min(floats, key=floats.__getitem__)
        lines.append(
            f"- PyTorch int8 in C++: torch/aoti_int8 {int8:.3f} ms = {int8 / floats[fastest]:.2f}x "
            f"the fastest float PyTorch C++ cell ({fastest}, {floats[fastest]:.3f} ms)"
        )
    return lines


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


def section(rounds: int = 5, runs: int = 30, threads: tuple[int, ...] = (1, 2)) -> str:
    """The runtimes section of bench/README.md, with the per-op profiles of the first thread
    count's run."""
    measured = {t: measure(t, rounds, runs) for t in threads}
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
