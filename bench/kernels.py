"""Which oneDNN kernels the TensorFlow and PyTorch C++ cells reach: each runs a few inferences
with ONEDNN_VERBOSE=1 and its convolutions' implementations are counted. The instruction set is
in the name (avx512_core: float32 AVX-512, avx512_core_vnni: int8 VNNI, avx512_core_bf16: AVX-512
BF16, avx512_core_amx: the AMX tiles), so a low-precision cell that fell back to float32 kernels,
or missed the matrix engine, shows here.

    python bench/kernels.py

Needs a built `sr` workspace (`make run`).
"""

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import precision
from pipelines import data, paths, tensors
from pipelines.backends.registry import artifacts
from pipelines.config import CppRuntime, Language, load
from pipelines.evaluate.cells import RunSettings, runtime_env
from pipelines.evaluate.evaluation import cell_jobs, plan, write_inputs

ONEDNN = (CppRuntime.tf, CppRuntime.torch)  # the runners whose kernels come from oneDNN


def convolutions(verbose: str) -> Counter[str]:
    """`implementation (src dtype)` of every convolution oneDNN executed, from its verbose log:
    `onednn_verbose,v1,primitive,exec,cpu,convolution,IMPL,PROP,src:DTYPE:...,...`."""
    found: Counter[str] = Counter()
    for line in verbose.splitlines():
        fields = line.split(",")
        if fields[:1] != ["onednn_verbose"] or "exec" not in fields:
            continue
        at = fields.index("exec")
        if fields[at + 2 : at + 3] != ["convolution"]:
            continue
        source = next((f for f in fields[at + 5].split() if f.startswith("src:")), "src:?")
        found[f"{fields[at + 3]} ({source.split(':')[1]})"] += 1
    return found


def section() -> str:
    """The kernels section of bench/README.md."""
    cfg = load()
    cfg.evaluate.languages = [Language.cpp]
    found = [a for a in artifacts(cfg) if a.cpp_runtime in ONEDNN]
    cells = plan(cfg, found, paths.CPP_BIN)
    inputs, _ = data.load_eval(paths.DATASET, cfg.model)
    settings = RunSettings(warmup=0, runs=1, threads=1, timeout_s=300)
    rows = ["| C++ cell | computes in | convolutions oneDNN ran (executions) |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = write_inputs(tensors.rows(inputs, 0, 1), cfg.model, workdir)
        jobs = cell_jobs(cells, files, cfg.model, workdir)
        for (artifact, cell), job in zip(cells, jobs, strict=True):
            command = [f for f in job.command(settings) if f != "--interleaved"]
            done = subprocess.run(
                command,
                env={**runtime_env(), "ONEDNN_VERBOSE": "1"},
                capture_output=True,
                text=True,
                timeout=settings.timeout_s,
            )
            counted = convolutions(done.stdout + done.stderr)
            kernels = ", ".join(f"{name} x{n}" for name, n in counted.most_common()) or (
                "none logged" if done.returncode == 0 else f"failed: exit {done.returncode}"
            )
            rows.append(f"| {cell.key} | {precision(artifact.kind)} | {kernels} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(section())
