"""What the benchmarks ran on: the CPU, its SIMD features, the runtimes' versions and thread
settings, and the peak arithmetic throughput the CPU can reach (how it is derived)."""

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

FEATURES = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_bf16",
    "amx_int8",
)
RUNTIMES = ("tensorflow-cpu", "ai-edge-litert", "torch", "torchao", "onnxruntime", "openvino")


FP32_RULE = (
    "2 FMA pipes x float32 lanes x 2 (multiply + add): AMD Zen 4 runs a 512-bit FMA on its two "
    "256-bit pipes (8 lanes each), Intel AVX-512 cores have two 512-bit units (16 lanes), AVX2 "
    "cores two 256-bit ones"
)


BF16_RULE = (
    "AMX (amx_bf16): 512 bf16 multiply-adds (1024 FLOP) per cycle in the tiles, 16x float32's "
    "AVX-512 rate on Intel; AVX-512 BF16 (avx512_bf16, no AMX): VDPBF16PS does 2 products per 32-bit lane, "
    "twice float32's FMA rate"
)


@dataclass(frozen=True)
class Machine:
    """The CPU as /proc/cpuinfo describes it."""

    model: str
    vendor: str
    family: int
    cores: int
    mhz: float  # the TSC (nominal) clock: BogoMIPS / 2 where no cpufreq is exposed
    flags: frozenset[str]

    @property
    def fp32_flops_per_cycle(self) -> int:
        """Float32 FLOPs per cycle and core (see FP32_RULE)."""
        lanes = 8 if self.vendor == "AuthenticAMD" or "avx512f" not in self.flags else 16
        return 2 * lanes * 2

    @property
    def int8_ops_per_cycle(self) -> int:
        """int8 multiply-adds x 2 per cycle and core with VNNI (VPDPBUSD: 4 products per 32-bit
        lane), 0 without it; AMX would be 1024 MACs, but only where amx_int8 is listed."""
        if "amx_int8" in self.flags:
            return 2048
        return 4 * self.fp32_flops_per_cycle if "avx512_vnni" in self.flags else 0

    @property
    def bf16_flops_per_cycle(self) -> int:
        """bfloat16 FLOPs per cycle and core: AMX tiles (512 multiply-adds) where amx_bf16 is
        listed, else AVX-512 BF16 (VDPBF16PS: 2 products per 32-bit lane, twice float32's
        FMA rate), else 0 (no bf16 arithmetic: it runs converted to float32)."""
        if "amx_bf16" in self.flags:
            return 1024
        return 2 * self.fp32_flops_per_cycle if "avx512_bf16" in self.flags else 0

    def ops_per_cycle(self, precision: str) -> int:
        """Per core and cycle, for `precision` (float32, bf16 or int8)."""
        return {
            "float32": self.fp32_flops_per_cycle,
            "bf16": self.bf16_flops_per_cycle,
            "int8": self.int8_ops_per_cycle,
        }[precision]

    def peak_gflops(self, ops_per_cycle: int) -> float:
        return self.cores * ops_per_cycle * self.mhz / 1e3


# What each artifact kind computes in (kinds not listed: float32).
PRECISION = {
    **dict.fromkeys(("dynamic", "int8", "uint8", "int8_selective", "aoti_int8"), "int8"),
    **dict.fromkeys(
        (
            "aoti_bf16",
            "savedmodel_bf16",
            "frozen_bf16",
            "openvino_onnx_bf16",
            "openvino_savedmodel_bf16",
        ),
        "bf16",
    ),
}


def precision(kind: str) -> str:
    """float32, bf16 or int8: what an artifact of `kind` computes in."""
    return PRECISION.get(kind, "float32")


def machine() -> Machine:
    """This machine's CPU (cores: those this process may run on)."""
    fields: dict[str, str] = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return Machine(
        model=fields.get("model name", platform.processor()),
        vendor=fields.get("vendor_id", ""),
        family=int(fields.get("cpu family", "0")),
        cores=len(os.sched_getaffinity(0)),
        mhz=float(fields.get("bogomips", "0")) / 2,
        flags=frozenset(fields.get("flags", "").split()),
    )


def versions() -> dict[str, str]:
    """The installed version of each runtime package."""
    found = {}
    for name in RUNTIMES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe() -> str:
    """The machine section of bench/README.md."""
    cpu = machine()
    has = [f for f in FEATURES if f in cpu.flags]
    lacks = [f for f in FEATURES if f not in cpu.flags]
    fp32 = cpu.peak_gflops(cpu.fp32_flops_per_cycle)
    int8 = cpu.peak_gflops(cpu.int8_ops_per_cycle)
    bf16 = cpu.peak_gflops(cpu.bf16_flops_per_cycle)
    lines = [
        f"- CPU: {cpu.model} ({cpu.vendor} family {cpu.family}), {cpu.cores} cores, "
        f"{cpu.mhz:.0f} MHz nominal (BogoMIPS / 2; the boost clock is not exposed here)",
        f"- SIMD: {', '.join(has)}; not present: {', '.join(lacks) or 'none'}",
        f"- float32 peak: {cpu.cores} cores x {cpu.fp32_flops_per_cycle} FLOP/cycle "
        f"x {cpu.mhz / 1e3:.2f} GHz = **{fp32:.0f} GFLOP/s** ({fp32 / cpu.cores:.0f} per core); "
        f"{FP32_RULE}",
        f"- bfloat16 peak: {cpu.bf16_flops_per_cycle} FLOP/cycle/core = **{bf16:.0f} GFLOP/s** "
        f"({bf16 / cpu.cores:.0f} per core); {BF16_RULE}",
        f"- int8 peak (VNNI, 4 products per 32-bit lane): {cpu.int8_ops_per_cycle} ops/cycle/core"
        f" = **{int8:.0f} GOP/s** ({int8 / cpu.cores:.0f} per core); AMX int8 (1024 multiply-adds "
        "per cycle) only where amx_int8 is listed",
        "- runtimes: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        "- threads: each runner is given `--threads T` (TF intra/inter-op pools, LiteRT "
        "interpreter threads with XNNPACK, torch set_num_threads); OMP/MKL variables unset",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe())
