"""The shared libraries an ELF binary loads: each DT_NEEDED entry, followed through the wheel
folders it is found in, or left to the system (glibc, libstdc++, libgcc) and named."""

import re
import subprocess
from pathlib import Path

from pipelines.errors import PipelineError

# What every Linux machine with a C++ runtime has; a bundle names these instead of shipping them.
SYSTEM = frozenset({
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0",
    "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
})  # fmt: skip
ENTRY = re.compile(r"\((NEEDED|RUNPATH|RPATH)\)\s+[^\[]*\[(.*)\]")


def dynamic_entries(binary: Path) -> dict[str, list[str]]:
    """NEEDED, RUNPATH and RPATH of `binary`, from `readelf -d` (any ELF machine)."""
    result = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True)
    if result.returncode != 0:
        raise PipelineError(f"readelf cannot read {binary}: {result.stderr.strip()} (is it an ELF file?)")
    found: dict[str, list[str]] = {"NEEDED": [], "RUNPATH": [], "RPATH": []}
    for tag, value in ENTRY.findall(result.stdout):
        found[tag].append(value)
    return found


def closure(binary: Path, search: list[Path]) -> tuple[list[Path], list[str]]:
    """The libraries `binary` loads, directly or through each other: those found in `search`
    (to bundle, in load order) and the system ones (names, sorted). A library that is in
    neither fails in one line."""
    bundled: dict[str, Path] = {}
    system: set[str] = set()
    pending = list(dynamic_entries(binary)["NEEDED"])
    while pending:
        name = pending.pop(0)
        if name in bundled or name in system:
            continue
        if name in SYSTEM:
            system.add(name)
            continue
        found = next((folder / name for folder in search if (folder / name).is_file()), None)
        if found is None:
            raise PipelineError(
                f"{binary.name} needs {name}, which is neither a system library nor in "
                f"{', '.join(map(str, search))} (reinstall the wheel that ships it: make setup)"
            )
        bundled[name] = found
        pending += dynamic_entries(found)["NEEDED"]
    return list(bundled.values()), sorted(system)
