"""Configure and build cpp/ against the libraries inside the installed wheels."""

import logging
import os
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelines import jsonfile, paths, toolchain
from pipelines.config import CppConfig, CppRuntime
from pipelines.errors import PipelineError

log = logging.getLogger(__name__)

PROGRAMS = {
    CppRuntime.torch: "torch_runner",
    CppRuntime.tf: "tf_runner",
    CppRuntime.litert: "litert_runner",
}
OPTIONS = {
    CppRuntime.torch: "CKPT2CPP_WITH_TORCH",
    CppRuntime.tf: "CKPT2CPP_WITH_TF",
    CppRuntime.litert: "CKPT2CPP_WITH_LITERT",
}
BUILD_INFO = "build.json"
# In the CMake build tree: the toolchain fingerprint it was configured with.
CONFIGURED_FOR = "ckpt2cpp-toolchain.json"


def runpath(lib_dir: Path, runner_dir: Path) -> str:
    """The RUNPATH entry that finds `lib_dir` from a program in `runner_dir`: $ORIGIN-relative
    when the library folder is inside the project (a venv in the checkout), so the binary holds
    no absolute path of the checkout; absolute otherwise (a venv elsewhere is the same path from
    every checkout)."""
    lib, runners = Path(os.path.abspath(lib_dir)), Path(os.path.abspath(runner_dir))
    if lib.is_relative_to(Path.cwd()):
        return "$ORIGIN/" + os.path.relpath(lib, runners)
    return str(lib)


def configure_command(
    source: Path,
    build_dir: Path,
    cpp: CppConfig,
    libs: toolchain.Libraries,
    runner_dir: Path = paths.CPP_BIN,
) -> list[str]:
    """The cmake configure line; every library path comes from the wheels found here. The
    runners' RUNPATHs are written for where build_cpp puts them (`runner_dir`)."""
    command = [
        "cmake",
        "-S",
        str(source),
        "-B",
        str(build_dir),
        f"-DCMAKE_BUILD_TYPE={cpp.build_type.value}",
        f"-DCMAKE_CXX_COMPILER={toolchain.compiler()}",
        f"-DCMAKE_CXX_FLAGS={' '.join(cpp.cxx_flags)}",
        f"-DCMAKE_PREFIX_PATH={libs.torch_cmake_prefix}",
        f"-DTENSORFLOW_INCLUDE_DIR={libs.tensorflow_include}",
        f"-DTENSORFLOW_LIB_DIR={libs.tensorflow_lib}",
        f"-DLITERT_LIBRARY={libs.litert_library}",
        f"-DCKPT2CPP_TORCH_RUNPATH={runpath(libs.torch_lib, runner_dir)}",
        f"-DCKPT2CPP_TF_RUNPATH={runpath(libs.tensorflow_lib, runner_dir)}",
        f"-DCKPT2CPP_LITERT_RUNPATH={runpath(libs.litert_library.parent, runner_dir)}",
    ]
    command += [f"-D{OPTIONS[r]}={'ON' if r in cpp.runtimes else 'OFF'}" for r in CppRuntime]
    return command


def prepare_build_dir(build_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Start `build_dir` afresh when it was configured for another toolchain: CMake resets its
    cache when the compiler changes and then loses the -D settings (Torch is not found)."""
    record = build_dir / CONFIGURED_FOR
    if build_dir.exists() and (not record.is_file() or jsonfile.read(record) != fingerprint):
        log.info("the toolchain changed since %s was configured: configuring afresh", build_dir)
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    jsonfile.write(record, fingerprint, sort_keys=True)


def _run(command: list[str], what: str) -> None:
    """Run with output shown (not captured), so a failing compile is readable in the log."""
    log.info("$ %s", " ".join(command))
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise PipelineError(
            f"{what} failed with exit code {result.returncode} (the compiler output is above)"
        )


def check_lock() -> dict[str, Any]:
    """The live fingerprint, after checking that cpp/toolchain.json describes it."""
    current, diff = toolchain.compare_with_lock()
    if diff:
        raise PipelineError(
            f"{toolchain.LOCK} describes another toolchain ({'; '.join(diff)}): run "
            "`python -m pipelines.toolchain` (or make) so DVC sees the change, then dvc repro"
        )
    return current


def output_files(bin_dir: Path) -> list[Path]:
    """What build_cpp delivers: one file per program (DVC keeps the executable bit of a file
    output, not of files inside a directory output) and the build record."""
    return [bin_dir / name for name in (*PROGRAMS.values(), BUILD_INFO)]


STUB = """#!/bin/sh
echo "error: {program} was not built: cpp.runtimes does not include {runtime} (add it, then dvc repro)" >&2
exit 1
"""


def build(cpp: CppConfig, source: Path, build_dir: Path, outputs: list[Path]) -> dict[str, Any]:
    """Build the configured runners into `outputs` (see output_files), `cpp.jobs` at a time
    (each is one translation unit, so a build of one alone uses one core); a runtime left out of
    cpp.runtimes gets a stub that says so."""
    fingerprint = check_lock()
    libs = toolchain.libraries()
    prepare_build_dir(build_dir, fingerprint)
    _run(configure_command(source, build_dir, cpp, libs), "cmake configure")
    destination = dict(zip((*PROGRAMS.values(), BUILD_INFO), outputs, strict=True))
    programs = [program for runtime, program in PROGRAMS.items() if runtime in cpp.runtimes]
    for runtime, program in PROGRAMS.items():
        if runtime not in cpp.runtimes:
            destination[program].write_text(STUB.format(program=program, runtime=runtime.name))
            destination[program].chmod(0o755)
    started = time.perf_counter()
    if programs:  # the configured programs are CMake's `all`: --target would build one at a time
        _run(["cmake", "--build", str(build_dir), "-j", str(cpp.jobs)], f"building {programs}")
    seconds = round(time.perf_counter() - started, 2)
    for program in programs:
        shutil.copy2(build_dir / "bin" / program, destination[program])
    log.info("built %s in %.1f s, %d at a time", ", ".join(programs), seconds, cpp.jobs)
    info = {  # no timing and no path of this checkout: the record is a reproducible output
        "programs": sorted(programs),
        "build_type": cpp.build_type.value,
        "cxx_flags": cpp.cxx_flags,
        "toolchain": fingerprint,
    }
    jsonfile.write(destination[BUILD_INFO], info, sort_keys=True)
    return info


def build_library(cpp: CppConfig, source: Path, build_dir: Path, runtime: CppRuntime,
                  litert_library: Path, cross_flags: list[str]) -> Path:  # fmt: skip
    """libckpt2cpp.so on `runtime` (cpp/CMakeLists.txt: ckpt2cpp_<runtime>_shared); its path.
    In build_cpp's tree (`build_dir` configured as build_cpp configures it) this links the
    objects the runner was built from; with `cross_flags`, `build_dir` is a cross build of
    that runtime alone, against `litert_library`."""
    fingerprint = check_lock()
    if cross_flags:
        fingerprint = {**fingerprint, "cross": cross_flags}
        cpp = replace(cpp, runtimes=[runtime])
    elif runtime not in cpp.runtimes:  # an artifact named in package.artifacts
        cpp = replace(cpp, runtimes=[*cpp.runtimes, runtime])
    prepare_build_dir(build_dir, fingerprint)
    libs = replace(toolchain.libraries(), litert_library=litert_library)
    _run([*configure_command(source, build_dir, cpp, libs), *cross_flags], "cmake configure")
    target = f"ckpt2cpp_{runtime.name}_shared"
    _run(["cmake", "--build", str(build_dir), "-j", str(cpp.jobs), "--target", target], f"building {target}")
    return build_dir / "lib" / runtime.name / "libckpt2cpp.so"
