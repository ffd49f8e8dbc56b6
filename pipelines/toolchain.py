"""The C++ toolchain fingerprint: compiler, CMake, and the wheels the runners link against.

cpp/toolchain.json records it and is a DVC dependency of `build_cpp`, like a lock file: when an
environment differs (another compiler, another torch), `python -m pipelines.toolchain` (run by
`make`) rewrites it, git shows the change, and `dvc repro` rebuilds the runners. Library
locations are recorded relative to site-packages, so two checkouts with the same environment
produce the same file.

    python -m pipelines.toolchain           # rewrite cpp/toolchain.json if it changed
    python -m pipelines.toolchain --check   # exit 1 if it does not describe this machine
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import PipelineError, report

LOCK = Path("cpp/toolchain.json")
PACKAGES = {"torch": "torch", "tensorflow": "tensorflow-cpu", "ai_edge_litert": "ai-edge-litert"}


@dataclass(frozen=True)
class Libraries:
    """Absolute locations inside the installed wheels (found without importing them)."""

    torch_cmake_prefix: Path
    torch_lib: Path
    tensorflow_include: Path
    tensorflow_lib: Path
    litert_library: Path

    def runtime_dirs(self) -> list[Path]:
        return [self.torch_lib, self.tensorflow_lib, self.litert_library.parent]


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(f"python package {module} is not installed (run make setup)")
    return Path(next(iter(spec.submodule_search_locations)))


def libraries() -> Libraries:
    torch_dir, tf_dir, litert_dir = (package_dir(m) for m in PACKAGES)
    return Libraries(
        torch_cmake_prefix=torch_dir / "share" / "cmake",
        torch_lib=torch_dir / "lib",
        tensorflow_include=tf_dir / "include",
        tensorflow_lib=tf_dir,
        litert_library=litert_dir / "libLiteRt.so",
    )


def compiler() -> str:
    return os.environ.get("CXX", "c++")


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        raise PipelineError(f"{command[0]} not found (install it: apt-get install g++ cmake)")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = result.stdout.splitlines()
    if result.returncode != 0 or not lines:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"`{' '.join(command)}` failed (exit code {result.returncode}): {last}")
    return lines[0].strip()


def fingerprint() -> dict[str, Any]:
    """Everything that decides whether a built runner still runs here."""
    site = package_dir("torch").parent
    libs = libraries()
    return {
        "compiler": _first_line([compiler(), "--version"]),
        "cmake": _first_line(["cmake", "--version"]),
        "machine": platform.machine(),
        "libc": " ".join(platform.libc_ver()),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "packages": {name: importlib.metadata.version(name) for name in PACKAGES.values()},
        "libraries": {
            field: str(Path(os.path.relpath(path, site))) for field, path in libs.__dict__.items()
        },
    }


def render(fingerprint_: dict[str, Any]) -> str:
    return json.dumps(fingerprint_, indent=2, sort_keys=True) + "\n"


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable list of what differs between two fingerprints."""
    out = []
    for key in sorted(set(recorded) | set(current)):
        if recorded.get(key) != current.get(key):
            out.append(f"{key}: {recorded.get(key)!r} recorded, {current.get(key)!r} here")
    return out


def compare_with_lock() -> tuple[dict[str, Any], list[str]]:
    """This machine's fingerprint, and how cpp/toolchain.json differs from it."""
    current = fingerprint()
    recorded = json.loads(LOCK.read_text()) if LOCK.is_file() else {}
    return current, differences(recorded, current)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.toolchain", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1, writing nothing, if {LOCK} does not describe this machine",
    )
    return parser.parse_args(argv)


def update(check_only: bool) -> None:
    """Rewrite the lock when this machine differs from it (or, with `check_only`, refuse)."""
    current, diff = compare_with_lock()
    if diff and check_only:
        raise PipelineError(
            f"{LOCK} does not describe this machine ({'; '.join(diff)}): "
            "run python -m pipelines.toolchain"
        )
    if diff:
        LOCK.write_text(render(current))
        print(f"updated {LOCK}: the C++ runners will be rebuilt by the next dvc repro")


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        update(args.check)
    except PipelineError as error:
        report(error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
