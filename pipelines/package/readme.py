"""The README of one bundle: how to build and call it, what goes in and out, and the numbers the
evaluation and the bundle's own proof measured."""

from pathlib import Path
from typing import Any

import numpy as np

# Inputs the snippet feeds as an Array (integer inputs, and float32 inputs of dynamic shape):
# the ckpt2cpp dtype and the C++ element type.
ARRAY_TYPES = {"int32": ("Int32", "std::int32_t"), "int64": ("Int64", "std::int64_t"),
               "float32": ("Float32", "float")}  # fmt: skip


def snippet(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
            shapes: dict[str, list[int]]) -> str:  # fmt: skip
    """A program that calls the model: each input fed one zero sample (shaped as in `shapes`,
    for inputs of dynamic shape), the first output read."""
    lines = ['#include "ckpt2cpp/model.h"', "", "int main() {",
             '  auto model = ckpt2cpp::Model::load("model");  // this folder\'s model/']  # fmt: skip
    for t in inputs:
        dynamic = any(d < 0 for d in t["shape"])
        shape = shapes[t["name"]] if dynamic else t["shape"]
        count = int(np.prod(shape))
        if t["dtype"] in ("int32", "int64") or dynamic:
            dtype, c_type = ARRAY_TYPES.get(t["dtype"], ARRAY_TYPES["float32"])
            lines.append(f"  ckpt2cpp::Array {t['name']}{{ckpt2cpp::Dtype::{dtype}, "
                         f"{{{', '.join(map(str, shape))}}}, "
                         f"std::vector<unsigned char>({count} * sizeof({c_type}))}};")  # fmt: skip
        else:  # float32, or float32 quantized onto an int8/uint8 input
            lines.append(f"  std::vector<float> {t['name']}({count});  // one sample, {t['shape']}")
        lines.append(f'  model->set_input("{t["name"]}", {t["name"]});')
    out = outputs[0]
    lines += ["  model->run();",
              f'  const ckpt2cpp::Array& y = model->output("{out["name"]}");  // {out["shape"]}',
              "  return y.data.empty();", "}"]  # fmt: skip
    return "\n".join(lines)


def _tensor_rows(tensors: list[dict[str, Any]]) -> list[str]:
    rows = []
    for t in tensors:
        quantized = f"scale {t['scale']:.6g}, zero point {t['zero_point']}" if t.get("scale") else "-"
        rows.append(f"| `{t['name']}` | {t['dtype']} | {t['shape']} | {quantized} |")
    return rows


def _accuracy(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "not evaluated (the artifact has no C++ cell in reports/cells.json)"
    drop = cell.get("metric_drop")
    verdict = "passed" if cell.get("passed") else "did NOT pass"
    metric = f", task metric drop {drop:.3g}" if drop is not None else ""
    return f"{verdict} its accuracy target ({cell.get('verdict', '')}){metric}"


def _host_lines(record: dict[str, Any], cell: dict[str, Any] | None) -> list[str]:
    example = record["proof"]["runs"]["host"]["example"]
    evaluated = (
        f"{cell['latency']['p50_ms']:.3f} ms p50 in the evaluation's C++ cell"
        if cell and cell.get("latency") else "no C++ cell"
    )  # fmt: skip
    return [
        f"- Latency: {evaluated}; this bundle's example, built elsewhere with a scrubbed "
        f"environment: load {example['load_ms']:.1f} ms, first inference {example['first_ms']:.2f} "
        f"ms, p50 {example['p50_ms']:.3f} ms, peak RSS {example['peak_rss_mb']:.1f} MB "
        f"(1 thread, on {record['proof']['machine']}).",
        f"- Its outputs equal the same artifact's Python ({record['runtime']}) outputs bit for bit on the "
        f"{record['samples']} bundled samples.",
    ]


STATUS = {
    "ok": "runs, outputs right",
    "wrong": "runs, outputs WRONG",
    "refused": "does not run (SIGILL: the library needs a newer core)",
    "crashed": "crashes",
    "failed": "fails",
}


def _emulated_lines(record: dict[str, Any]) -> list[str]:
    proof = record["proof"]
    rows = []
    for cpu, run in proof["runs"].items():
        worst = max(run.get("max_abs", {}).values(), default=None)
        shown = "-" if worst is None else f"{worst:.3g}"
        rows.append(f"| `{cpu}` | {STATUS[run['status']]} | {shown} | {run.get('detail', '')} |")
    qemu_bug = any(cpu.split(",")[0] == "max" and run["status"] == "wrong" and "sme=off" not in cpu
                   for cpu, run in proof["runs"].items())  # fmt: skip
    note = (
        ["", "The wrong result on `max` is the emulator's: QEMU 7.2 (Debian 12) computes SME's "
         "SMOPA instruction wrongly (QEMU issue 2083, fixed in QEMU 9.0), and on `max`, which "
         "offers SME, XNNPACK's int8 kernels use it; `max,sme=off` keeps every other feature."]
        if qemu_bug else []
    )  # fmt: skip
    return [
        f"- Proven under `qemu-aarch64` (cross-built on {proof['machine']}) on these emulated "
        f"CPU models, against the host's Python outputs (allowed: max abs {proof['tolerance']:.3g}). "
        "Times under emulation are not speeds and are not given.",
        "",
        "| CPU model | result | max abs vs host | detail |",
        "|---|---|---|---|",
        *rows,
        *note,
    ]


def _build_lines(record: dict[str, Any]) -> list[str]:
    """How to build the example: CMake (a cross build on x86-64 for ARM), or one g++ line."""
    cross = (
        ["", "Cross-building on x86-64 (Debian: `g++-aarch64-linux-gnu`): add "
         "`-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 "
         "-DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++` to the first cmake command."]
        if record["emulated"] else []
    )  # fmt: skip
    return [
        "## Build and run the example",
        "",
        "```sh",
        "cmake -S examples -B build && cmake --build build",
        "build/example model samples .        # writes <output>.npy, prints load time and p50",
        "```",
        *cross,
        "",
        "Without CMake:",
        "",
        "```sh",
        "g++ -std=c++17 -O2 examples/main.cpp -Iinclude -Llib -lckpt2cpp "
        "-Wl,-rpath,\"$PWD/lib\" -o example",
        "```",
        "",
        "In your own CMake project: `find_package(ckpt2cpp CONFIG REQUIRED PATHS <this folder>)`, "
        "then `target_link_libraries(app PRIVATE ckpt2cpp::ckpt2cpp)`.",
    ]


def _interface_lines(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
                     shapes: dict[str, list[int]]) -> list[str]:  # fmt: skip
    """A program that calls the model, and the table of its inputs and outputs."""
    return [
        "## Calling the model",
        "",
        "```cpp",
        snippet(inputs, outputs, shapes),
        "```",
        "",
        "`set_input` takes the input's own dtype, or float32 for an int8/uint8 input (quantized "
        "with its scale and zero point); outputs come back float32 (int8/uint8 dequantized) or in "
        "their integer dtype. A shape of -1 takes any size: pass the sample's shape (an Array). "
        "Every failure throws `ckpt2cpp::Error` with one line naming the fix.",
        "",
        "| input | dtype | shape | quantization |",
        "|---|---|---|---|",
        *_tensor_rows(inputs),
        "",
        "| output | dtype | shape | quantization |",
        "|---|---|---|---|",
        *_tensor_rows(outputs),
    ]


def render(name: str, sidecar: dict[str, Any], cell: dict[str, Any] | None,
           record: dict[str, Any], shapes: dict[str, list[int]]) -> str:  # fmt: skip
    """The bundle's README.md; `shapes` are the bundled samples' (one sample, batch axis 1)."""
    footprint = record["footprint"]
    measured = _emulated_lines(record) if record["emulated"] else _host_lines(record, cell)
    lines = [
        f"# {name} for {record['platform']}: a ckpt2cpp deploy bundle",
        "",
        f"The `{name}` artifact ({sidecar.get('format')}, mode "
        f"`{sidecar.get('mode') or sidecar.get('method') or '-'}`) with "
        f"the ckpt2cpp C++17 API and the runtime it needs, for {record['platform']} Linux. "
        "Nothing else is needed on the target but glibc, libstdc++ and libgcc "
        f"({', '.join(record['system_libraries'])}).",
        "",
        *_build_lines(record),
        "",
        *_interface_lines(sidecar["inputs"], sidecar["outputs"], shapes),
        "",
        "## Measured",
        "",
        f"- Accuracy against the original model (evaluated on the host): {_accuracy(cell)}.",
        *measured,
        f"- Size: model {footprint['model_mb']} MB, libraries {footprint['libraries_mb']} MB, "
        f"{footprint['total_mb']} MB in all.",
        "",
        "`bundle.json` records every check; `sha256sum -c SHA256SUMS` verifies the files. The "
        "licences of the bundled libraries are in `licenses/`.",
        "",
    ]
    return "\n".join(lines)


def write(bundle: Path, text: str) -> None:
    (bundle / "README.md").write_text(text)
