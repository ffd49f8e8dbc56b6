"""Where project code lives: dotted module names to the files that hold them.

Used by the dependency check (`python -m pipelines.deps`) and by the `network_file` resolver that
turns `model.keras` / `model.torch` into the file a stage executes, so dvc.yaml can depend on the
user's own network module.
"""

from pathlib import Path
from typing import Any

# The file that imports a network builder; it stands in for a builder that is switched off (null)
# or lives outside the project (a library such as keras.applications, pinned in pyproject.toml).
BUILDER_LOADER = "pipelines/models/builder.py"
# Top-level packages of this project; a network module in any other package is the user's.
PROJECT_PACKAGES = ("pipelines", "stages")


def module_file(root: Path, dotted: str) -> Path | None:
    """The file that defines module `dotted` under `root` (a package's __init__.py), or None."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def defining_module(root: Path, dotted: str) -> str | None:
    """The longest prefix of `dotted` (module.attribute...) that is a module under `root`."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if module_file(root, name) is not None:
            return name
    return None


def network_file(builder: Any, root: Path | None = None) -> str:
    """The project path a stage executes to build `builder` ({_target_: ...} or None).

    A module of this project gives its file; a module in a user's package gives the package's
    folder (so every file of the package is a dependency); a builder that is off or not in the
    project gives BUILDER_LOADER, which the network stages depend on anyway.
    """
    root = root or Path.cwd()
    target = None if builder is None else builder.get("_target_")
    module = defining_module(root, str(target)) if target else None
    if module is None:
        return BUILDER_LOADER
    top = module.split(".")[0]
    if top not in PROJECT_PACKAGES and (root / top).is_dir():
        return top
    path = module_file(root, module)
    assert path is not None
    return path.relative_to(root).as_posix()
