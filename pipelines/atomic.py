"""Write outputs so that a failure never leaves a partial artifact behind."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def remove(path: Path) -> None:
    """Delete a file or directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_outputs(*finals: Path) -> Iterator[list[Path]]:
    """Yield one temporary sibling per final path; move them all into place only if the block
    succeeds, so a failed stage leaves its old outputs (or none) and never a partial one.

    The block creates a file or directory at each yielded path.
    """
    temps = []
    for final in finals:
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f".{final.name}.tmp*"):  # left by a killed run
            remove(stale)
        temps.append(final.with_name(f".{final.name}.tmp{os.getpid()}"))
    try:
        yield temps
        for temp in temps:
            if not temp.exists():
                raise FileNotFoundError(f"the stage wrote nothing to {temp}")
        for temp, final in zip(temps, finals, strict=True):
            remove(final)
            os.replace(temp, final)
    finally:
        for temp in temps:
            remove(temp)


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """:func:`atomic_outputs` for a single path."""
    with atomic_outputs(Path(final)) as (temp,):
        yield temp
