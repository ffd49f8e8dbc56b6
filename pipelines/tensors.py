"""Named tensors: a model's inputs or outputs for N samples, one array per name (sample axis 0),
in the order the model takes or returns them. On disk: one .npz (np.savez) holding them all."""

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.config import InputLayout, TensorConfig
from pipelines.errors import PipelineError

Tensors = dict[str, np.ndarray]


def count(tensors: Tensors) -> int:
    """How many samples every tensor holds (they must agree)."""
    counts = {name: len(array) for name, array in tensors.items()}
    if len(set(counts.values())) != 1:
        raise PipelineError(f"the tensors hold different sample counts {counts} (give the same N)")
    return next(iter(counts.values()))


def rows(tensors: Tensors, start: int, stop: int) -> Tensors:
    """Samples start..stop-1 of every tensor."""
    return {name: array[start:stop] for name, array in tensors.items()}


def batches(tensors: Tensors, size: int) -> Iterator[Tensors]:
    """The samples in batches of `size` (the last one shorter)."""
    for start in range(0, count(tensors), size):
        yield rows(tensors, start, start + size)


def concat(parts: Sequence[Tensors]) -> Tensors:
    """Join batches with the same names along the sample axis."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def first(tensors: Tensors) -> np.ndarray:
    """The first tensor: the one a task metric judges."""
    return next(iter(tensors.values()))


def named(names: Sequence[str], values, convert: Callable[[Any], Any] = np.asarray) -> dict:
    """A network's return value (one array, a tuple/list in `names` order, or a dict by name)
    by name, each value passed through `convert` (default: a numpy array); a count or name
    that does not match `names` is refused."""
    if isinstance(values, dict):
        if set(values) != set(names):
            raise PipelineError(
                f"the network returns the outputs {sorted(values)} but the config names "
                f"{list(names)} (set model.outputs to the names it returns)"
            )
        return {name: convert(values[name]) for name in names}
    found = list(values) if isinstance(values, tuple | list) else [values]
    if len(found) != len(names):
        raise PipelineError(
            f"the network returns {len(found)} output(s) but the config names {len(names)}: "
            f"{list(names)} (list every output in model.outputs, in the order it returns them)"
        )
    return {name: convert(value) for name, value in zip(names, found, strict=True)}


def to_layout(tensors: Tensors, specs: Sequence[TensorConfig], nchw: bool) -> Tensors:
    """The inputs as a runtime takes them: image inputs NCHW for PyTorch (`nchw`), else as
    given (NHWC images, other tensors unchanged)."""
    images = {t.name for t in specs if t.layout is InputLayout.image}
    return {
        name: np.ascontiguousarray(a.transpose(0, 3, 1, 2)) if nchw and name in images else a
        for name, a in tensors.items()
    }


def save(tensors: Tensors, path: Path) -> None:
    """Write `tensors` to the .npz `path` (one array per name, no pickle)."""
    with open(path, "wb") as handle:
        np.savez(handle, allow_pickle=False, **tensors)


def load(path: Path) -> Tensors:
    """The tensors :func:`save` wrote, in their order."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
