"""Per-op profiles side by side: where each exported artifact's inference time goes, grouped by
op type, with every quantized LiteRT mode against its float32 twin.

The runners write the profiles (`--profile`): LiteRT's own profiler through litert_runner, TF's
step stats and torch.profiler from Python (pipelines/run.py)."""

from dataclasses import dataclass
from typing import Any

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


Profiles = dict[str, dict[str, Any]]  # cell key (`tflite/int8@cpp`) -> its profile


def tables(profiles: Profiles) -> list[ProfileTable]:
    """One table per framework's profiled cells (LiteRT: float32 first)."""
    groups: dict[str, Profiles] = {}
    for key in sorted(profiles, key=lambda k: (not k.startswith(FLOAT_TWIN + "@"), k)):
        groups.setdefault(key.split("/")[0], {})[key] = profiles[key]
    titles = {"tflite": "LiteRT", "tf": "TensorFlow", "torch": "PyTorch"}
    return [_table(titles.get(name, name), group) for name, group in groups.items()]


def quantized_notes(profiles: Profiles) -> list[str]:
    """Per quantized LiteRT cell: how much faster its convolutions (and the rest) ran than
    float32's, and the ops it adds, from their profiles."""
    by_artifact = {key.split("@")[0]: profile for key, profile in profiles.items()}
    base = by_artifact.get(FLOAT_TWIN)
    if base is None:
        return []
    float_kinds = by_kind(base)
    notes = []
    for artifact, profile in sorted(by_artifact.items()):
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


def markdown(table: ProfileTable) -> str:
    """A table as Markdown (bench/README.md)."""
    lines = [
        f"**{table.title}** ({'; '.join(table.profilers)})",
        "",
        "| op type | " + " | ".join(table.columns) + " |",
        "|---|" + "---|" * len(table.columns),
        *(f"| {kind} | " + " | ".join(values) + " |" for kind, values in table.rows),
        "| all profiled ops, ms | " + " | ".join(table.totals) + " |",
    ]
    return "\n".join(lines)
