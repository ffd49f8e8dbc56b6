"""The PyTorch exports: the shape trap is caught, script and AOTInductor fix it, devices stay portable."""

import numpy as np
import pytest
import torch

from pipelines.backends.torch.export import export
from pipelines.backends.torch.loader import load_export
from pipelines.config import ExportMethod, ModelConfig, Task, TraceConfig
from pipelines.errors import NotApplicable, PipelineError
from tests.conftest import token_model
from tests.user_model import DeviceBound, ShapeTrap, UserNet

MODEL = ModelConfig(name="user", task=Task.generic, input_shape=[1, 16, 16, 3])
EXAMPLE = {"input": np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)}


def test_tracing_the_shape_trap_fails_naming_the_size_and_the_fix(tmp_path):
    with pytest.raises(PipelineError) as caught:
        export(
            ExportMethod.trace, ShapeTrap().eval(), MODEL, TraceConfig(), EXAMPLE, tmp_path / "m.pt"
        )
    message = str(caught.value)
    assert "wrong at input size [1, 3, 24, 20]" in message  # the first derived check size
    assert "output shape [1, 3, 32, 32] instead of [1, 3, 48, 40]" in message
    assert (
        "trace.methods=[script]" in message and "Converting a tensor to a Python integer" in message
    )


def test_a_fixed_shape_trace_can_be_accepted_and_is_recorded(tmp_path):
    info = export(
        ExportMethod.trace,
        ShapeTrap().eval(),
        MODEL,
        TraceConfig(allow_fixed_shape=True),
        EXAMPLE,
        tmp_path / "m.pt",
    )
    assert info["fixed_shape"] is True
    assert info["inputs"][0]["shape"] == [1, 3, 16, 16]
    assert info["tracer_warnings"]


@pytest.mark.parametrize(
    ("method", "suffix"), [(ExportMethod.script, ".pt"), (ExportMethod.aoti, ".pt2")]
)
def test_script_and_aoti_export_the_shape_trap_correctly(tmp_path, method, suffix):
    info = export(
        method,
        ShapeTrap().eval(),
        MODEL,
        TraceConfig(min_size=8, max_size=64),
        EXAMPLE,
        tmp_path / f"m{suffix}",
    )
    assert info["fixed_shape"] is False
    assert [s["shape"] for s in info["verified_sizes"]] == [[1, 3, 24, 20], [1, 3, 20, 24]]
    assert all(s["ok"] for s in info["verified_sizes"])
    out = load_export(tmp_path / f"m{suffix}")(torch.rand(1, 3, 40, 24))
    assert tuple(out.shape) == (1, 3, 80, 48)


def test_configured_check_sizes_are_used(tmp_path):
    info = export(
        ExportMethod.trace,
        UserNet().eval(),
        MODEL,
        TraceConfig(check_sizes=[[9, 31]]),
        EXAMPLE,
        tmp_path / "m.pt",
    )
    assert [s["shape"] for s in info["verified_sizes"]] == [[1, 3, 9, 31]]
    assert info["traced_max_abs_error"] <= 1e-5 and info["traced_on"] == "cpu"


def test_a_hard_coded_device_is_refused(tmp_path):
    with pytest.raises(
        PipelineError,
        match=r"device\(s\) \['cpu \(aten::ones at user_model.py\(\d+\): forward\)'\].*device=x.device",
    ):
        export(
            ExportMethod.trace,
            DeviceBound().eval(),
            MODEL,
            TraceConfig(),
            EXAMPLE,
            tmp_path / "m.pt",
        )


def test_torchscript_loads_on_the_cpu_with_map_location(tmp_path):
    module = UserNet().eval()
    export(ExportMethod.trace, module, MODEL, TraceConfig(), EXAMPLE, tmp_path / "m.pt")
    loaded = torch.jit.load(str(tmp_path / "m.pt"), map_location="cpu")
    assert all(p.device.type == "cpu" for p in loaded.parameters())
    x = torch.rand(1, 3, 12, 12)
    assert torch.allclose(loaded(x), module(x), atol=1e-6)


def no_gpu_reason() -> str:
    if torch.version.cuda is None:
        return f"the installed torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    return "no CUDA device on this machine"


@pytest.mark.skipif(not torch.cuda.is_available(), reason=no_gpu_reason())
def test_traced_on_the_gpu_the_file_runs_on_cpu_and_gpu(tmp_path):
    info = export(
        ExportMethod.trace,
        UserNet().eval(),
        MODEL,
        TraceConfig(device="cuda"),
        EXAMPLE,
        tmp_path / "m.pt",
    )
    assert info["traced_on"] == "cuda"
    assert set(info["loads_on"]) == {"cpu", "cuda"} and max(info["loads_on"].values()) <= 1e-5


class RowReader(torch.nn.Module):
    """A recurrent layer over image rows: the network itself takes one image size only."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(16 * 3, 8, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x.permute(0, 2, 3, 1).flatten(2))[1][-1]


@pytest.mark.parametrize(
    ("method", "suffix"), [(ExportMethod.script, ".pt"), (ExportMethod.aoti, ".pt2")]
)
def test_a_network_that_takes_one_size_is_exported_at_that_size_and_says_why(
    tmp_path, method, suffix
):
    network = RowReader().eval()
    info = export(method, network, MODEL, TraceConfig(), EXAMPLE, tmp_path / f"m{suffix}")
    assert info["fixed_shape"] is True and info["verified_sizes"] == []
    assert info["inputs"][0]["shape"] == [1, 3, 16, 16]
    assert info["fixed_shape_reason"].startswith(
        "the network itself takes only [1, 3, 16, 16] (eager PyTorch at [1, 3, 24, 20]: "
        "input.size(-1) must be equal to input_size. Expected 48, got 60"
    )
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        assert torch.allclose(load_export(tmp_path / f"m{suffix}")(x), network(x), atol=1e-5)


def test_a_trace_pinned_to_its_device_by_a_recurrent_layer_is_not_applicable(tmp_path):
    with pytest.raises(NotApplicable) as caught:
        export(
            ExportMethod.trace, RowReader().eval(), MODEL, TraceConfig(), EXAMPLE, tmp_path / "m.pt"
        )
    assert "hard-codes device(s) ['cpu (aten::zeros at torch/nn/modules/rnn.py(" in str(
        caught.value
    )
    assert "script and aoti keep the device symbolic" in str(caught.value)


class TokenNet(torch.nn.Module):
    """Token ids in, an embedding and a linear head out."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens).mean(dim=1))


@pytest.mark.parametrize(
    ("method", "suffix"),
    [(ExportMethod.trace, ".pt"), (ExportMethod.script, ".pt"), (ExportMethod.aoti, ".pt2")],
)
def test_token_ids_are_exported_as_integers_at_the_configured_shape(tmp_path, method, suffix):
    tokens = token_model(5)
    ids = np.array([[1, 2, 3, 4, 5], [9, 8, 7, 6, 5]], np.int32)
    network = TokenNet().eval()
    info = export(method, network, tokens, TraceConfig(), {"input": ids}, tmp_path / f"m{suffix}")
    assert info["inputs"][0] == {"name": "input", "dtype": "int32", "shape": [1, 5]}
    assert info["fixed_shape"] and "no image input" in info["fixed_shape_reason"]
    x = torch.from_numpy(ids[1:])
    with torch.inference_mode():
        assert torch.allclose(load_export(tmp_path / f"m{suffix}")(x), network(x), atol=1e-6)


def test_aoti_int8_quantizes_with_the_calibration_at_the_traced_size(tmp_path):
    network = UserNet().eval()
    # calibration samples of another size: the program is calibrated with dynamic sizes
    calibration = {"input": np.random.default_rng(2).random((8, 24, 20, 3), dtype=np.float32)}
    out = tmp_path / "m.pt2"
    info = export(ExportMethod.aoti_int8, network, MODEL, TraceConfig(), EXAMPLE, out, calibration)
    assert info["format"] == "aoti" and info["inputs"][0]["shape"] == [1, 3, 16, 16]
    assert info["fixed_shape"] and "compiled for the traced size" in info["fixed_shape_reason"]
    assert 0 < info["traced_max_abs_error"] < 0.05  # quantized, and close to float
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(load_export(out)(x), network(x), atol=0.05)


def test_aoti_bf16_computes_in_bfloat16_behind_float32_inputs_and_outputs(tmp_path):
    network = UserNet().eval()
    out = tmp_path / "m.pt2"
    info = export(ExportMethod.aoti_bf16, network, MODEL, TraceConfig(), EXAMPLE, out)
    assert info["inputs"][0] == {"name": "input", "dtype": "float32", "shape": [1, 3, -1, -1]}
    assert info["outputs"][0]["dtype"] == "float32" and not info["fixed_shape"]
    assert all(s["ok"] for s in info["verified_sizes"])  # other sizes, within trace.bf16_rtol
    x = torch.rand(1, 3, 24, 40)
    with torch.inference_mode():
        got, want = load_export(out)(x), network(x)
    assert got.dtype == torch.float32
    assert 1e-4 < float((got - want).abs().max()) < 0.05 * max(1.0, float(want.abs().max()))


def test_aoti_int8_without_calibration_samples_is_refused(tmp_path):
    with pytest.raises(PipelineError, match="aoti_int8 needs calibration samples"):
        export(
            ExportMethod.aoti_int8,
            UserNet().eval(),
            MODEL,
            TraceConfig(),
            EXAMPLE,
            tmp_path / "m.pt2",
        )
