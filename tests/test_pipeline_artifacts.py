"""`dvc repro` of the bundled super-resolution example: every artifact, and what it is worth."""

import json

import pytest

from bench.machine import machine
from pipelines import tensors
from tests.conftest import assert_up_to_date, cells, run, stages_run

pytestmark = pytest.mark.pipeline

MODES = ["float32", "dynamic", "float16", "int8", "uint8", "int8_selective"]
LOW_PRECISION = ("dynamic", "int8", "uint8", "int8_selective", "aoti_int8", "aoti_bf16")
BF16_TF = ("savedmodel_bf16", "frozen_bf16")  # TF artifacts run with oneDNN bf16 rewriting


def tf_uses_onednn(found: dict[str, dict]) -> bool:
    """Whether TensorFlow ran its oneDNN kernels here (it turns them on for some CPUs only; its
    profile then names _MklNative* ops, else Eigen's)."""
    frozen = [c for c in found.values() if c["artifact"] == "tf/frozen" and c["profile"]]
    return any(op["kind"].startswith("_MklNative") for c in frozen for op in c["profile"]["ops"])


def tf_rewrites_bf16(found: dict[str, dict]) -> bool:
    """TensorFlow rewrites a graph to bfloat16 only with oneDNN on and a CPU oneDNN computes
    bf16 on (AVX-512F or AVX-NE-CONVERT: IsBF16SupportedByOneDNNOnThisCPU); elsewhere (an
    AVX2-only AMD EPYC) the bf16 cells run float32."""
    return tf_uses_onednn(found) and bool({"avx512f", "avx_ne_convert"} & set(machine().flags))


def read(project, path):
    return json.loads((project / path).read_text())


def test_every_artifact_is_built(sr_project):
    expected = [
        "artifacts/checkpoint/tf/ckpt.index",
        "artifacts/checkpoint/torch/weights.pt",
        "artifacts/dataset/eval_inputs.npz",
        "artifacts/frozen/model.pb",
        "artifacts/frozen/model.json",
        "artifacts/savedmodel/model/saved_model.pb",
        "artifacts/savedmodel/model.json",
        *[f"artifacts/tflite/{m}/model.tflite" for m in MODES],
        "artifacts/torch/trace/model.pt",
        "artifacts/torch/aoti/model.pt2",
        "build/bin/torch_runner",
        "build/bin/tf_runner",
        "build/bin/litert_runner",
        "metrics/evaluate.json",
        "plots/cells.csv",
        "reports/index.html",
    ]
    assert [p for p in expected if not (sr_project / p).exists()] == []


def test_status_is_clean_and_a_second_repro_runs_nothing(sr_project):
    assert_up_to_date(sr_project)
    assert stages_run(run(["dvc", "repro"], sr_project).stdout) == []


def test_quantized_files_are_smaller_as_documented(sr_project):
    size = {m: read(sr_project, f"artifacts/tflite/{m}/model.json")["size_bytes"] for m in MODES}
    assert size["int8"] <= 0.3 * size["float32"]
    assert size["uint8"] <= 0.3 * size["float32"]
    assert size["int8_selective"] <= 0.3 * size["float32"]  # plain int8 meets sr's target
    assert size["dynamic"] <= 0.3 * size["float32"]
    assert size["float16"] <= 0.55 * size["float32"]
    assert all(read(sr_project, f"artifacts/tflite/{m}/model.json")["effective"] for m in MODES)


def test_int8_selective_keeps_no_layer_in_float_where_plain_int8_meets_the_target(sr_project):
    info = read(sr_project, "artifacts/tflite/int8_selective/model.json")["selective"]
    assert info["target"] == "psnr drop <= 1 (evaluate.max_metric_drop.super_resolution)"
    assert [s["float_layers"] for s in info["steps"]] == [[]] and info["steps"][0]["passed"]
    assert info["ranking"] == []  # no search needed


def test_the_super_resolution_model_beats_bicubic(sr_project):
    summary = read(sr_project, "artifacts/checkpoint/summary.json")
    assert summary["tf"]["psnr"] > summary["bicubic"]["psnr"]
    assert summary["torch"]["psnr"] == pytest.approx(summary["tf"]["psnr"], abs=1e-3)


def test_the_pytorch_twin_agrees_with_the_tf_reference(sr_project):
    twin = read(sr_project, "artifacts/torch/trace/model.json")["twin_vs_tf"]
    assert twin["shared_weights"] is True and twin["max_abs"] < 1e-5


def test_traced_and_aoti_exports_were_verified_at_other_sizes(sr_project):
    for method in ("trace", "aoti"):
        info = read(sr_project, f"artifacts/torch/{method}/model.json")
        assert info["traced_shape"] == [1, 3, 64, 64]
        assert [s["shape"] for s in info["verified_sizes"]] == [[1, 3, 96, 80], [1, 3, 80, 96]]
        assert all(s["ok"] for s in info["verified_sizes"])


def test_every_cell_ran_and_float_cells_match_the_original(sr_project):
    found = cells(sr_project)
    assert [k for k, c in found.items() if c["failure"]] == []
    float_kinds = ("savedmodel", "frozen", "float32", "trace", "aoti")
    for key, cell in found.items():
        if cell["kind"] in float_kinds:
            assert cell["errors"]["max_abs"] <= 1e-5, key
            assert cell["passed"], key
    languages = {(c["artifact"], c["language"]) for c in found.values()}
    for artifact in [
        "tf/savedmodel",
        "tf/frozen",
        *[f"tflite/{m}" for m in MODES],
        "torch/trace",
        "torch/aoti",
        "torch/aoti_int8",
        "torch/aoti_bf16",
        "tf/savedmodel_bf16",
        "tf/frozen_bf16",
    ]:
        assert {(artifact, "python"), (artifact, "cpp")} <= languages


def test_cpp_reproduces_python_on_every_artifact(sr_project):
    for key, cell in cells(sr_project).items():
        if cell["language"] == "cpp":
            limit = 0.0 if cell["artifact"].startswith("tflite/") else 1e-6
            if cell["kind"] in BF16_TF:
                # Grappler rewrites the SavedModel's graph in a TF1 session (C API) and its
                # signature function (Python) with bf16 casts placed a little differently:
                # outputs up to 2 in [0, 1.x] then differ by a bf16 step (2**-7) or two
                limit = 2**-6
            assert cell["quality"]["cpp_vs_python"] <= limit, key


def test_quantized_and_bf16_cells_stay_within_the_allowed_psnr_drop(sr_project):
    found = cells(sr_project)
    judged = [c for c in found.values() if c["kind"] in LOW_PRECISION + BF16_TF]
    assert len(judged) == 2 * (len(LOW_PRECISION) + len(BF16_TF))  # Python and C++ each
    for cell in judged:
        assert cell["metric_drop"] <= 1.0 and cell["passed"], cell["key"]
        if cell["kind"] in BF16_TF and not tf_rewrites_bf16(found):
            assert cell["errors"]["max_abs"] == 0.0, cell["key"]  # no rewrite on this CPU
        else:
            assert cell["errors"]["max_abs"] > 1e-5, cell["key"]  # it ran in low precision


def test_metrics_and_plots_are_visible_to_dvc(sr_project):
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], sr_project).stdout)
    data = next(iter(metrics.values()))["data"]["metrics/evaluate.json"]["data"]
    assert data["model"] == "sr" and data["cells"]["tflite/int8@cpp"]["p50_ms"] > 0
    run(["dvc", "plots", "show", "--out", "plots-html"], sr_project)
    assert (sr_project / "plots-html/index.html").stat().st_size > 1000


def test_the_report_holds_the_table_plots_and_image_grid(sr_project):
    page = (sr_project / "reports/index.html").read_text()
    for text in (
        "Every artifact in every runtime",
        "Latency per cell",
        "Image grid",
        "worst layers",
        "tflite/int8@cpp",
        "torch/aoti@cpp",
    ):
        assert text in page
    assert page.count("data:image/png;base64,") >= 4


def test_every_exported_artifact_says_where_its_time_goes(sr_project):
    """One cell per artifact profiles it per op with its runtime's own profiler: the kernels
    XNNPACK picked (float32 vs int8), TF's oneDNN ops, the AOTInductor package's kernels."""
    found = cells(sr_project)
    kinds = {
        c["artifact"]: {op["kind"] for op in c["profile"]["ops"]}
        for c in found.values()
        if c["profile"]
    }
    assert "Convolution (NHWC, F32) IGEMM" in kinds["tflite/float32"]
    # float16 weights, float32 arithmetic: XNNPACK computes in fp16 only where the CPU can
    if "avx512_fp16" not in machine().flags:
        assert "Convolution (NHWC, F32) IGEMM" in kinds["tflite/float16"]
    assert "Convolution (NHWC, QC8) IGEMM" in kinds["tflite/int8"]
    assert "QUANTIZE" in kinds["tflite/uint8"]  # uint8 I/O adds (un-delegated) ops
    fused = "_MklNativeFusedConv2D" if tf_uses_onednn(found) else "_FusedConv2D"
    assert fused in kinds["tf/frozen"] & kinds["tf/savedmodel"]
    # the bf16 rewrite casts the input to bfloat16 and the output back; float32 has no Cast
    assert ("Cast" in kinds["tf/frozen_bf16"] - kinds["tf/frozen"]) == tf_rewrites_bf16(found)
    assert "aten::mkldnn_convolution" in kinds["torch/trace"]
    assert any("qconv" in kind for kind in kinds["torch/aoti_int8"])
    assert any("mkldnn__convolution" in kind for kind in kinds["torch/aoti"])
    for artifact, profile in ((c["artifact"], c["profile"]) for c in found.values()):
        assert profile is None or all(op["ms"] >= 0 for op in profile["ops"]), artifact
    page = (sr_project / "reports/index.html").read_text()
    assert "Where the time goes" in page and "convolutions" in page


def test_evaluation_inputs_are_held_out_photos(sr_project):
    """The photos trained on and the photos evaluated on, hashed here from the files the
    configuration names, share no content, and the checkpoint stage recorded those hashes."""
    import numpy as np

    from pipelines.config import load
    from pipelines.data.held_out import content_hash
    from pipelines.data.photos import open_photo

    inputs = tensors.load(sr_project / "artifacts/dataset/eval_inputs.npz")["input"]
    assert inputs.shape == (16, 64, 64, 3) and inputs.min() >= 0.0 and inputs.max() <= 1.0
    data = load(sr_project / "params.yaml").data
    train = {name: content_hash(np.asarray(open_photo(name))) for name in data.train_images}
    evaluation = {name: content_hash(np.asarray(open_photo(name))) for name in data.eval_images}
    assert len(train) == 9 and len(evaluation) == 2
    assert not set(train.values()) & set(evaluation.values())
    recorded = json.loads((sr_project / "artifacts/dataset/held_out.json").read_text())
    assert recorded == {"train": train, "eval": evaluation}
