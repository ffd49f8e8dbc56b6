"""What `make bench` relies on: the peers it measures the pipeline against (bench/peers.py) run
through the same timing protocol as every cell and compute what the original model computes;
the low-precision C++ cells reach low-precision oneDNN kernels (bench/kernels.py); a bundle's
example is timed beside its runtime's runner (bench/bundle.py); the scaling
benchmark converts the int8 .tflite at each size and judges every cell on the evaluation
set's tiles (bench/scaling.py)."""

import contextlib

import numpy as np
import pytest

from bench import bundle, kernels, peers, scaling
from bench.machine import machine
from bench.runtimes import errors
from pipelines import data, paths, tensors
from pipelines.backends.registry import artifacts
from pipelines.config import Language, load
from pipelines.evaluate.cells import RunSettings
from pipelines.evaluate.evaluation import plan, time_cells

pytestmark = pytest.mark.pipeline


def test_every_peer_takes_turns_with_the_cells_and_matches_the_original(
    tiny_project, tmp_path, monkeypatch
):
    monkeypatch.chdir(tiny_project)  # the built artifacts' paths are relative to the project
    cfg = load()
    cfg.evaluate.languages = [Language.python]
    found = peers.artifacts(cfg, tmp_path)
    originals = [a for a in artifacts(cfg) if a.reference]
    cells = plan(cfg, [*originals, *found], paths.CPP_BIN)
    inputs, _ = data.load_eval(paths.DATASET, cfg.model)
    settings = RunSettings(warmup=1, runs=3, rounds=2, threads=1, timeout_s=300)
    done = time_cells(cells, tensors.rows(inputs, 0, 2), cfg.model, settings, "peers")
    assert [r.failure for r in done] == [None] * len(done)
    assert all(len(r.stats["round_p50_ms"]) == 2 for r in done)
    found_errors = errors(cells, done)
    for artifact in found:
        error = found_errors[f"{artifact.name}@python"]
        if artifact.kind.endswith("_bf16"):  # close, and really in bfloat16 where the CPU can
            # (OpenVINO and TensorFlow compute bf16 from AVX-512 up; an AVX2-only CPU runs f32)
            low = (
                1e-4
                if "avx512f" in machine().flags
                or not artifact.name.startswith(("peer/openvino", "tf/"))
                else -1.0
            )
            assert low < error < 0.1, artifact.name
        else:
            assert error < 1e-4, artifact.name


VERBOSE = "\n".join(
    [
        "onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation",
        "onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core_vnni,"
        "forward_inference,src:u8::blocked:acdb::f0 wei:s8:p:blocked:AcdB64a4b::f0,,,mb1,0.02",
        "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:bf16::blocked,,,64x3,0.01",
    ]
)


def test_the_convolutions_of_a_verbose_log_are_counted_by_kernel_and_input_type():
    assert kernels.convolutions(VERBOSE * 2) == {"brg_conv_fwd:avx512_core_vnni (u8)": 2}


def test_low_precision_cells_reach_low_precision_kernels(sr_project):
    with contextlib.chdir(sr_project):
        table = kernels.section()
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    flags = machine().flags
    # TensorFlow logs oneDNN kernels only where it turns oneDNN on (not on an AVX2-only AMD EPYC)
    frozen = rows["tf/frozen@cpp"]
    assert "avx512_core (f32)" in frozen or ("avx512f" not in flags and "none logged" in frozen)
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        for cell in ("tf/frozen_bf16@cpp", "tf/savedmodel_bf16@cpp", "torch/aoti_bf16@cpp"):
            assert "(bf16)" in rows[cell] and "_bf16" in rows[cell].split("|")[3], rows[cell]
    if "avx512_vnni" in flags:
        assert "(u8)" in rows["torch/aoti_int8@cpp"], rows["torch/aoti_int8@cpp"]
        assert "vnni" in rows["torch/aoti_int8@cpp"] or "amx" in rows["torch/aoti_int8@cpp"]


def test_a_mosaic_cuts_back_into_the_samples_it_was_tiled_from():
    samples = np.random.default_rng(0).random((6, 4, 4, 3))
    mosaics = scaling.mosaics(samples, 8)  # 4 samples a mosaic; the second filled up
    assert mosaics.shape == (2, 8, 8, 3)
    assert (scaling.tiles(mosaics[:1], 4, 4) == samples[:4]).all()
    assert (scaling.tiles(mosaics[1:], 4, 4) == samples[[4, 5, 0, 1]]).all()


def test_the_int8_tflite_is_converted_again_at_each_size_and_judged_like_the_cells(
    tiny_project, tmp_path, monkeypatch
):
    from ai_edge_litert.interpreter import Interpreter

    monkeypatch.chdir(tiny_project)
    cfg = load()
    int8 = scaling.int8_at(cfg, 32, tmp_path)
    (details,) = Interpreter(model_path=str(int8.path)).get_input_details()
    assert list(details["shape"]) == [1, 32, 32, 3]  # the tiny model's 16x16, converted at 32x32
    found = scaling.measure(cfg, 32, 1, [int8])
    any_size = {a.name for a in artifacts(cfg) if a.name in scaling.ANY_SIZE}
    assert set(found) == any_size | {scaling.INT8}  # every C++ cell of the tiny project
    drops = {name: drop for name, (_, drop) in found.items() if drop is not None}
    assert set(drops) == set(found)  # each cell's outputs judged
    assert drops[scaling.REFERENCE] == 0
    assert all(abs(d) < 0.01 for n, d in drops.items() if n != scaling.INT8), drops  # float32
    assert drops[scaling.INT8] > 0.001  # really computed in int8


def test_the_bundle_benchmark_times_each_host_bundle_beside_its_runner(sr_project, monkeypatch):
    monkeypatch.chdir(sr_project)
    rows = bundle.measure(rounds=1, runs=3)
    hosts = sorted(p.name for p in (sr_project / "dist").glob("*-x86_64") if p.is_dir())
    assert [row.split("`")[1] for row in rows[2:]] == hosts
    assert {row.split(" | ")[1] for row in rows[2:]} == {
        "litert_runner",
        "torch_runner",
        "tf_runner",
    }
    for row in rows[2:]:
        runner, example, ratio = (float(cell) for cell in row.strip("| ").split(" | ")[2:])
        assert runner > 0 and example > 0 and abs(ratio - example / runner) <= 0.01
