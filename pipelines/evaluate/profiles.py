"""Per-op profiles side by side: where each exported artifact's inference time goes, grouped by
op type, with every quantized LiteRT mode against its float32 twin.

The runners write the profiles (`--profile`): LiteRT's own profiler through litert_runner, TF's
step stats and torch.profiler from Python (pipelines/run.py)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.evaluate.compare import CellResult
from pipelines.pages.text import fmt

FLOAT_TWIN = "tflite/float32"
ROWS = 10  # op types shown per table


@dataclass(frozen=True)
class ProfileTable:
    """Op types (rows) against artifacts (columns): ms per inference and share of the total."""

    title: str
    profilers: list[str]
    columns: list[str]
    rows: list[tuple[str, list[str]]]
    totals: list[str]


def by_kind(profile: dict[str, Any]) -> dict[str, float]:
    """ms per inference of each op type, largest first."""
    found: dict[str, float] = {}
    for op in profile["ops"]:
        found[op["kind"]] = found.get(op["kind"], 0.0) + op["ms"]
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def _table(title: str, profiles: dict[str, dict[str, Any]]) -> ProfileTable:
    kinds = {cell: by_kind(p) for cell, p in profiles.items()}
    totals = {cell: sum(k.values()) for cell, k in kinds.items()}
    largest: dict[str, float] = {}
    for found in kinds.values():
        for kind, ms in found.items():
            largest[kind] = max(largest.get(kind, 0.0), ms)
    shown = sorted(largest, key=lambda kind: -largest[kind])[:ROWS]
    rows = [
        (
            kind,
            [
                f"{fmt(kinds[cell][kind])} ({100 * kinds[cell][kind] / totals[cell]:.0f} %)"
                if kind in kinds[cell] and totals[cell]
                else "-"
                for cell in profiles
            ],
        )
        for kind in shown
    ]
    return ProfileTable(
        title=title,
        profilers=sorted({str(p.get("profiler", "")) for p in profiles.values()}),
        columns=list(profiles),
        rows=rows,
        totals=[fmt(totals[cell]) for cell in profiles],
    )


def tables(results: Sequence[CellResult]) -> list[ProfileTable]:
    """One table per framework's artifacts that have a profile (LiteRT: float32 first)."""
    found = {r.key: r.profile for r in results if r.profile}
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for key in sorted(found, key=lambda k: (not k.startswith(FLOAT_TWIN + "@"), k)):
        groups.setdefault(key.split("/")[0], {})[key] = found[key]
    titles = {"tflite": "LiteRT", "tf": "TensorFlow", "torch": "PyTorch"}
    return [_table(titles.get(name, name), group) for name, group in groups.items()]


def quantized_notes(results: Sequence[CellResult]) -> list[str]:
    """Per quantized LiteRT mode: how much faster its convolutions (and the rest) run than
    float32's, and the ops it adds, from their profiles."""
    profiles = {r.artifact: r.profile for r in results if r.profile}
    base = profiles.get(FLOAT_TWIN)
    if base is None:
        return []
    float_kinds = by_kind(base)
    notes = []
    for artifact, profile in sorted(profiles.items()):
        if not artifact.startswith("tflite/") or artifact == FLOAT_TWIN:
            continue
        kinds = by_kind(profile)
        conv = sum(ms for kind, ms in kinds.items() if kind.startswith("Conv"))
        float_conv = sum(ms for kind, ms in float_kinds.items() if kind.startswith("Conv"))
        added = {
            k: ms for k, ms in kinds.items() if k not in float_kinds and not k.startswith("Conv")
        }
        line = (
            f"{artifact}: {sum(kinds.values()):.3g} ms of ops against float32's "
            f"{sum(float_kinds.values()):.3g} ms"
        )
        if conv and float_conv:
            kernels = ", ".join(k for k in kinds if k.startswith("Conv"))
            line += f"; convolutions {float_conv / conv:.2f}x as fast ({kernels})"
        if added:
            line += "; added: " + ", ".join(f"{k} {ms:.3g} ms" for k, ms in added.items())
        notes.append(line)
    return notes
