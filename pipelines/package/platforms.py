"""The machines a bundle is built for: the host (x86-64, built and run natively) and 64-bit ARM
(cross-built with Debian's g++-aarch64-linux-gnu against LiteRT's aarch64 wheel, run under
qemu-aarch64 on named CPU models). Each says in one line why it is unavailable here, if it is."""

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines import toolchain
from pipelines.config import CppRuntime, Platform

ARM_SYSROOT = Path("/usr/aarch64-linux-gnu")
# LiteRT's aarch64 library, unpacked from its wheel by `make setup` (Makefile: arm64-litert).
ARM_LITERT = Path(sys.prefix) / "aarch64" / "ai_edge_litert" / "libLiteRt.so"
# LiteRT's CPU detection reads /proc/cpuinfo and crashes on the host's x86 one under QEMU; each
# emulated run sees this ARM one instead (bind-mounted for that process only). The CPU part is
# set per model (ARM_PARTS).
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: {part}
CPU revision\t: 0

"""
ARM_PARTS = {"cortex-a53": "0xd03", "cortex-a72": "0xd08", "cortex-a76": "0xd0b",
             "neoverse-n1": "0xd0c"}  # fmt: skip
# Runs `$@` with the file `$0` mounted over /proc/cpuinfo, in a private mount namespace.
WITH_ARM_CPUINFO = 'mount --bind "$0" /proc/cpuinfo && exec "$@"'


@dataclass(frozen=True)
class Target:
    """How to build for one platform and run what was built."""

    platform: Platform
    compiler: str
    litert_library: Path

    @property
    def emulated(self) -> bool:
        return self.platform is not Platform.x86_64

    def cmake_flags(self) -> list[str]:
        """The configure flags that build for this platform (a cross build on ARM)."""
        flags = [f"-DCMAKE_CXX_COMPILER={self.compiler}"]
        if self.emulated:
            flags += ["-DCMAKE_SYSTEM_NAME=Linux", f"-DCMAKE_SYSTEM_PROCESSOR={self.platform.value}"]
        return flags

    def library_dirs(self, runtime: CppRuntime) -> list[Path]:
        """Where the libraries of `runtime` for this platform are (the wheels' folders)."""
        if runtime is CppRuntime.litert:
            return [self.litert_library.parent]
        libs = toolchain.libraries()
        return [libs.torch_lib if runtime is CppRuntime.torch else libs.tensorflow_lib]

    def cannot_bundle(self, runtime: CppRuntime) -> str | None:
        """Why bundles of `runtime` cannot be built for this platform (one line), or None."""
        if self.emulated and runtime is not CppRuntime.litert:
            return (f"{runtime.name} bundles are x86-64 only: only LiteRT's {self.platform.value} "
                    "wheel is unpacked here (make arm64-litert)")  # fmt: skip
        return None

    def unavailable(self) -> str | None:
        """Why this platform cannot be built and proven here (one line), or None."""
        if not self.emulated:
            return None
        if shutil.which(self.compiler) is None:
            return f"{self.compiler} not found (apt-get install g++-aarch64-linux-gnu; make test does)"
        if shutil.which("qemu-aarch64") is None:
            return "qemu-aarch64 not found (apt-get install qemu-user; make test does)"
        if not self.litert_library.is_file():
            return f"{self.litert_library} not found (make arm64-litert unpacks LiteRT's aarch64 wheel there)"
        if os.geteuid() != 0:
            return "the emulated proof bind-mounts an ARM /proc/cpuinfo, which needs root"
        return None

    def loader_trace(self, binary: Path) -> list[str]:
        """A command that lists what `binary` loads, as ldd does (ldd itself on the host)."""
        if not self.emulated:
            return ["ldd", str(binary)]
        return ["qemu-aarch64", "-L", str(ARM_SYSROOT), "-E", "LD_TRACE_LOADED_OBJECTS=1", str(binary)]

    def runner(self, cpu: str | None, cpuinfo: Path) -> list[str]:
        """The prefix that runs a binary of this platform: nothing on the host; on ARM, QEMU as
        `cpu` with `cpuinfo` (an ARM /proc/cpuinfo for that CPU) mounted."""
        if not self.emulated:
            return []
        cpuinfo.write_text(ARM_CPUINFO.format(part=ARM_PARTS.get(cpu or "", "0xd0b")))  # else A76
        qemu = ["qemu-aarch64", "-cpu", cpu or "max", "-L", str(ARM_SYSROOT)]
        return ["unshare", "-m", "--", "sh", "-c", WITH_ARM_CPUINFO, str(cpuinfo), *qemu]


def target(platform: Platform) -> Target:
    if platform is Platform.x86_64:
        return Target(platform, toolchain.compiler(), toolchain.libraries().litert_library)
    return Target(platform, "aarch64-linux-gnu-g++", ARM_LITERT)
