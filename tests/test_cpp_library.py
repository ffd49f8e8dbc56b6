"""The ckpt2cpp C++ library (cpp/include/ckpt2cpp/model.h) through its own unit tests, C++17
with warnings as errors, on small real models written here whose outputs from the same runtime
in Python it must give bit for bit: cpp/tests/test_model.cpp (LiteRT) under CTest, and
test_torch_model.cpp and test_tf_model.cpp against the sr project's libtorch and TensorFlow
bundles."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines import toolchain
from pipelines.backends.tflite.runner import dequantize, quantize

REPO = Path(__file__).resolve().parents[1]


def _convert(tf, module, signature, representative=None):
    converter = tf.lite.TFLiteConverter.from_concrete_functions([signature], module)
    if representative is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def write_models(folder: Path) -> None:
    """float.tflite, int8.tflite and two/model.tflite, one sample per input and the outputs
    Python's LiteRT gives for it (see the header of cpp/tests/test_model.cpp)."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    class Affine(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * 2.0 + 1.0}

    class Two(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([1, 3], tf.float32, name="a"),
                tf.TensorSpec([1, 2], tf.int32, name="ids"),
            ]
        )
        def serve(self, a, ids):
            return {"total": tf.reduce_sum(a, axis=1, keepdims=True), "next": ids + 1}

    rng = np.random.default_rng(0)

    def representative():
        for _ in range(16):
            yield [rng.uniform(-1, 1, (1, 4)).astype(np.float32)]

    affine, two = Affine(), Two()
    (folder / "two").mkdir()
    models = {
        "float": (folder / "float.tflite", _convert(tf, affine, affine.serve.get_concrete_function())),
        "int8": (
            folder / "int8.tflite",
            _convert(tf, affine, affine.serve.get_concrete_function(), representative),
        ),
        "two": (folder / "two/model.tflite", _convert(tf, two, two.serve.get_concrete_function())),
    }
    # the int8 model also gets edge values, which Python and C++ must quantize alike
    edges = np.array([[np.nan, np.inf, -np.inf, 1e9]], np.float32)
    samples = {
        "x": np.array([[0.25, -0.5, 0.75, -1.0]], np.float32),
        "a": np.array([[1.0, 2.5, -0.5]], np.float32),
        "ids": np.array([[3, 7]], np.int32),
    }
    for name, (path, content) in models.items():
        path.write_bytes(content)
        python_litert_outputs(Interpreter(str(path)), folder, name, samples)
    python_litert_outputs(Interpreter(str(models["int8"][0])), folder, "edges", {"x": edges})


def python_litert_outputs(interpreter, folder: Path, name: str, samples) -> None:
    """<name>_<input>.npy for each input and <name>_<output>.npy, what Python's LiteRT gives
    for them (through the Python runner's quantization where the model is quantized)."""
    runner = interpreter.get_signature_runner()
    details_in, details_out = runner.get_input_details(), runner.get_output_details()
    feed = {}
    for tensor, details in details_in.items():
        np.save(folder / f"{name}_{tensor}.npy", samples[tensor])
        q = details["quantization"]
        feed[tensor] = quantize(samples[tensor], *q, details["dtype"]) if q[0] else samples[tensor]
    for tensor, value in runner(**feed).items():
        q = details_out[tensor]["quantization"]
        np.save(folder / f"{name}_{tensor}.npy", dequantize(value, *q) if q[0] else value)


def build_litert_tree(build: Path, targets: list[str], *flags: str) -> Path:
    """cpp/ configured in `build` for LiteRT alone with the library's tests and `flags`, and
    `targets` built; `build`."""
    configure = [
        "cmake", "-S", str(REPO / "cpp"), "-B", str(build), "-DCKPT2CPP_WITH_TORCH=OFF",
        "-DCKPT2CPP_WITH_TF=OFF", f"-DLITERT_LIBRARY={toolchain.libraries().litert_library}",
        "-DCKPT2CPP_BUILD_TESTS=ON", *flags,
    ]  # fmt: skip
    for command in (configure, ["cmake", "--build", str(build), "-j2", "--target", *targets]):
        subprocess.run(command, check=True, capture_output=True, text=True)
    return build


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """cpp/ configured with the library's tests, ckpt2cpp_tests built (LiteRT only)."""
    return build_litert_tree(tmp_path_factory.mktemp("library-build"), ["ckpt2cpp_tests"])


def models_env(folder: Path) -> dict[str, str]:
    folder.mkdir()
    write_models(folder)
    return {**os.environ, "CKPT2CPP_TEST_MODELS": str(folder)}


def test_library_unit_tests_pass_under_ctest(build, tmp_path):
    result = subprocess.run(
        ["ctest", "--output-on-failure", "--test-dir", str(build)],
        env=models_env(tmp_path / "models"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100% tests passed" in result.stdout, result.stdout


@pytest.mark.parametrize("broken", ["float_y.npy", "int8_x.npy"])
def test_library_unit_tests_fail_on_a_wrong_reference(build, tmp_path, broken):
    """The C++ tests can fail: a reference output or sample changed by one unit is caught."""
    env = models_env(tmp_path / "models")
    path = tmp_path / "models" / broken
    np.save(path, np.load(path) + np.float32(1))
    result = subprocess.run(
        [str(build / "bin/ckpt2cpp_tests")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "FAIL:" in result.stderr, result.stderr


def write_torch_models(folder: Path) -> None:
    """The TorchScript models, samples and Python outputs cpp/tests/test_torch_model.cpp reads
    (see its header)."""
    import torch

    class Dict(torch.nn.Module):
        def forward(self, x: torch.Tensor, ids: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"total": x.sum(dim=1, keepdim=True), "next": ids + 1}

    class Affine(torch.nn.Module):
        def forward(self, x):
            return (x * 2 + 1,)

    def tensor(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape}

    samples = {
        "dict": {"x": np.array([[1.0, 2.5, -0.5]], np.float32), "ids": np.array([[3, 7]], np.int64)},
        "dynamic": {"x": np.linspace(-1, 1, 70, dtype=np.float32).reshape(1, 2, 5, 7)},
    }
    traced = torch.jit.trace(Affine(), torch.zeros(1, 2, 5, 7))
    models = {
        "dict": (torch.jit.script(Dict()), [tensor("x", "float32", [1, 3]), tensor("ids", "int64", [1, 2])],
                 [tensor("next", "int64", [1, 2]), tensor("total", "float32", [1, 1])]),
        "dynamic": (traced, [tensor("x", "float32", [1, 2, -1, -1])],
                    [tensor("y", "float32", [1, 2, -1, -1])]),
    }  # fmt: skip
    for name, (module, inputs, outputs) in models.items():
        (folder / name).mkdir()
        module.save(str(folder / name / "model.pt"))
        sidecar = {"format": "torchscript", "inputs": inputs, "outputs": outputs}
        (folder / name / "model.json").write_text(json.dumps(sidecar))
        with torch.inference_mode():
            result = module(*(torch.from_numpy(samples[name][t["name"]]) for t in inputs))
        names = [t["name"] for t in outputs]
        returned = result if isinstance(result, dict) else dict(zip(names, result, strict=True))
        for tensor_name, value in {**samples[name], **{k: v.numpy() for k, v in returned.items()}}.items():
            np.save(folder / f"{name}_{tensor_name}.npy", value)
    for broken in ("bad_json", "no_json"):
        shutil.copytree(folder / "dynamic", folder / broken)
    (folder / "bad_json" / "model.json").write_text('{"inputs": [')
    (folder / "no_json" / "model.json").unlink()
    shutil.copytree(folder / "dict", folder / "wrong_output")
    wrong = {"format": "torchscript", "inputs": models["dict"][1],
             "outputs": [tensor("next", "int64", [1, 2]), tensor("logits", "float32", [1, 1])]}  # fmt: skip
    (folder / "wrong_output" / "model.json").write_text(json.dumps(wrong))


def write_tf_models(folder: Path) -> None:
    """The graphs, samples and Python outputs cpp/tests/test_tf_model.cpp reads (see its header)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        ids = tf.compat.v1.placeholder(tf.int64, [None, 2], name="ids")
        total = tf.identity(tf.reduce_sum(x, axis=1, keepdims=True), name="total")
        following = tf.identity(ids + 1, name="next")
        samples = {"x": np.array([[1.0, 2.5, -0.5]], np.float32), "ids": np.array([[3, 7]], np.int64)}
        with tf.compat.v1.Session(graph=graph) as session:
            got = session.run({"next": following, "total": total}, {x: samples["x"], ids: samples["ids"]})
            outputs = {"next": following, "total": total}
            saved = str(folder / "saved" / "model")
            tf.compat.v1.saved_model.simple_save(session, saved, {"x": x, "ids": ids}, outputs)
    for name, value in {**samples, **got}.items():
        np.save(folder / f"graph_{name}.npy", value)

    def tensor(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape, "node": f"{name}:0"}

    sidecar = {
        "format": "graphdef",
        "inputs": [tensor("x", "float32", [-1, 3]), tensor("ids", "int64", [-1, 2])],
        "outputs": [tensor("next", "int64", [-1, 2]), tensor("total", "float32", [-1, 1])],
    }
    (folder / "graph").mkdir()
    (folder / "graph" / "model.pb").write_bytes(graph.as_graph_def().SerializeToString())
    for name in ("graph", "saved"):
        (folder / name / "model.json").write_text(json.dumps(sidecar))
    shutil.copytree(folder / "graph", folder / "no_json")
    (folder / "no_json" / "model.json").unlink()
    shutil.copytree(folder / "graph", folder / "bad_node")
    wrong = {**sidecar, "outputs": [*sidecar["outputs"][:1], tensor("logits", "float32", [-1, 1])]}
    (folder / "bad_node" / "model.json").write_text(json.dumps(wrong))


def runtime_bundle(project: Path, runtime: str) -> Path:
    """The project's x86-64 bundle of `runtime` (include/, lib/ with libckpt2cpp.so on it)."""
    found = json.loads((project / "dist" / "bundles.json").read_text())["bundles"]
    (name,) = [n for n, r in found.items() if r["runtime"] == runtime and r["platform"] == "x86_64"]
    return project / "dist" / name


WRITERS = {"torch": write_torch_models, "tf": write_tf_models}


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("runtime", "broken"),
    [("torch", None), ("torch", "dict_next.npy"), ("tf", None), ("tf", "graph_next.npy")],
)
def test_library_unit_tests_on_a_runtime_bundle(sr_project, tmp_path, runtime, broken):
    """cpp/tests/test_<runtime>_model.cpp, built as C++17 with warnings as errors against the sr
    project's bundle of that runtime, passes; with a reference output changed by one, it fails."""
    bundle = runtime_bundle(sr_project, runtime)
    program = tmp_path / f"test_{runtime}_model"
    compile_command = [
        "g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{bundle / 'include'}", f"-I{REPO / 'cpp'}",
        str(REPO / f"cpp/tests/test_{runtime}_model.cpp"), f"-L{bundle / 'lib'}", "-lckpt2cpp",
        f"-Wl,-rpath,{bundle / 'lib'}", "-o", str(program),
    ]  # fmt: skip
    subprocess.run(compile_command, check=True, capture_output=True, text=True)
    (tmp_path / "models").mkdir()
    WRITERS[runtime](tmp_path / "models")
    if broken:
        path = tmp_path / "models" / broken
        np.save(path, np.load(path) + 1)
    result = subprocess.run([str(program)], capture_output=True, text=True,
                            env={**os.environ, "CKPT2CPP_TEST_MODELS": str(tmp_path / "models")})  # fmt: skip
    if broken:
        failed = f"FAIL: {broken.split('_')[0]} output next"
        assert result.returncode == 1 and failed in result.stderr, result.stderr
    else:
        assert result.returncode == 0 and "all library tests passed" in result.stdout, result.stderr
