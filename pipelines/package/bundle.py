"""One deploy bundle on disk: its layout, its README, its checksums and its .tar.gz.

    <bundle>/model/           the artifact (model.tflite, model.pt2, model.pt, model.pb or a
                              SavedModel folder model/) and its model.json
    <bundle>/include/         the ckpt2cpp C++17 API
    <bundle>/lib/             libckpt2cpp.so and the runtime libraries it loads, RUNPATH $ORIGIN
    <bundle>/lib/cmake/ckpt2cpp/ckpt2cppConfig.cmake
    <bundle>/examples/        main.cpp and its CMakeLists.txt
    <bundle>/samples/         <input name>.npy, evaluation samples the example runs
    <bundle>/licenses/        the licence texts of the bundled libraries
    <bundle>/bundle.json      what the stage checked and measured
    <bundle>/README.md, SHA256SUMS
"""

import gzip
import hashlib
import shutil
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import jsonfile
from pipelines.tensors import Tensors

CPP = Path("cpp")
LICENSE_WORDS = ("LICENSE", "LICENCE", "NOTICE", "COPYING")


def lay_out(bundle: Path, model_files: list[Path], library: Path, runtime_libs: list[Path],
            samples: Tensors) -> None:  # fmt: skip
    """Write everything but the README, bundle.json and SHA256SUMS into `bundle`."""
    (bundle / "model").mkdir(parents=True)
    for source in model_files:
        if source.is_dir():  # a SavedModel
            shutil.copytree(source, bundle / "model" / source.name)
        else:
            shutil.copy2(source, bundle / "model" / source.name)
    shutil.copytree(CPP / "include", bundle / "include")
    (bundle / "lib" / "cmake" / "ckpt2cpp").mkdir(parents=True)
    for source in (library, *runtime_libs):
        shutil.copy2(source, bundle / "lib" / source.name)
    shutil.copy2(CPP / "bundle" / "ckpt2cppConfig.cmake", bundle / "lib" / "cmake" / "ckpt2cpp")
    shutil.copytree(CPP / "bundle" / "examples", bundle / "examples")
    (bundle / "samples").mkdir()
    for name, array in samples.items():
        np.save(bundle / "samples" / f"{name}.npy", array)
    write_licenses(bundle / "licenses", runtime_libs)


def _dist_info(library: Path) -> Path | None:
    """The .dist-info folder of the wheel that installed `library` (its RECORD lists it), in
    the nearest folder above it that holds wheels' .dist-info folders (site-packages)."""
    for root in library.parents:
        infos = sorted(root.glob("*.dist-info"))
        if not infos:
            continue
        relative = library.relative_to(root).as_posix()
        for info in infos:
            record = info / "RECORD"
            listed = record.read_text().splitlines() if record.is_file() else []
            if any(line.split(",")[0] == relative for line in listed):
                return info
        return None
    return None


def _licence_files(info: Path, package: Path) -> list[tuple[Path, Path]]:
    """A wheel's licence texts, each with the path it keeps in the bundle: those in its
    .dist-info (third-party ones keep their folders), and those at the top of its package folder
    and of the package's include/ (TensorFlow ships its texts there)."""
    found = [(f, f.relative_to(info)) for f in sorted(info.rglob("*"))]
    for folder in (package, package / "include"):
        found += [(f, f.relative_to(package)) for f in sorted(folder.glob("*"))]
    return [(f, kept) for f, kept in found
            if f.is_file() and any(word in f.name.upper() for word in LICENSE_WORDS)]  # fmt: skip


def write_licenses(folder: Path, libraries: list[Path]) -> None:
    """The licence files of the wheels the bundled libraries come from, one folder per wheel."""
    folder.mkdir()
    for library in libraries:
        info = _dist_info(library)
        if info is None:
            continue
        name = info.name.split("-")[0].replace("_", "-")
        package = info.parent / library.resolve().relative_to(info.parent.resolve()).parts[0]
        for file, kept in _licence_files(info, package):
            copy = folder / name / kept
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy)


def megabytes(paths: list[Path]) -> float:
    """The size in MB (10^6 bytes), to the kB, of the files and of the files in the folders."""
    found = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return round(sum(f.stat().st_size for f in found) / 1e6, 3)


def files(bundle: Path) -> list[Path]:
    """Every file of the bundle, sorted, relative to it."""
    return sorted(p.relative_to(bundle) for p in bundle.rglob("*") if p.is_file())


def write_checksums(bundle: Path) -> None:
    """SHA256SUMS, in the format `sha256sum -c SHA256SUMS` checks."""
    lines = [
        f"{hashlib.sha256((bundle / f).read_bytes()).hexdigest()}  {f}"
        for f in files(bundle) if f.name != "SHA256SUMS"
    ]  # fmt: skip
    (bundle / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def write_archive(bundle: Path, archive: Path) -> None:
    """`archive` (.tar.gz) of `bundle` under its own name, byte for byte the same for the same
    files: sorted entries, no owners, times and modes normalized, gzip without a timestamp."""

    def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        info.mode = 0o755 if info.isdir() or info.mode & 0o100 else 0o644
        return info

    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.add(bundle, arcname=bundle.name, recursive=False, filter=normalized)
        for relative in sorted(p.relative_to(bundle) for p in bundle.rglob("*")):
            tar.add(bundle / relative, arcname=f"{bundle.name}/{relative}",
                    recursive=False, filter=normalized)  # fmt: skip


def write_record(bundle: Path, record: dict[str, Any]) -> None:
    """bundle.json: what the stage checked and measured."""
    jsonfile.write(bundle / "bundle.json", record, sort_keys=True)
