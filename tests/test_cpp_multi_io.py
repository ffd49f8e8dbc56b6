"""The C++ runners on models with several named inputs and outputs and integer inputs: real
two-input, two-output models in every format the runners take (SavedModel, frozen graph, float32
and full-integer .tflite, TorchScript, AOTInductor), run with --input NAME=FILE / --output
NAME=FILE and compared with the framework's own Python outputs; the one-line errors of the named
form; and the one-input form, which must give the same bytes as before.

The runners are those the sr project's build_cpp stage built (shared by the test session)."""

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from pipelines.evaluate.cells import runtime_env

pytestmark = pytest.mark.pipeline

N = 3  # samples per input
RNG_SEED = 0


@dataclass
class Model:
    """One model file, the runner that takes it, and what it should give."""

    program: str
    path: Path
    inputs: dict[str, np.ndarray]  # name -> [N, ...], in the order to pass them
    expected: dict[str, np.ndarray]  # name -> [N, ...] from the framework's Python runtime
    flags: list[str] = field(default_factory=list)  # runner flags (tf_runner's nodes)


# ---- the runners ----


@pytest.fixture(scope="module")
def bin_dir(sr_project) -> Path:
    """torch_runner, tf_runner and litert_runner as the sr project's build_cpp stage built them
    (once per test session, shared with the other tests)."""
    return sr_project / "build/bin"


def runner(bin_dir: Path, program: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / program), *args],
        env=runtime_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_error_line(result, code, *fragments):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---- the models ----


def sample_inputs(ids_dtype) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(RNG_SEED)
    return {
        "x": rng.standard_normal((N, 4, 3)).astype(np.float32),
        "ids": rng.integers(0, 5, (N, 4)).astype(ids_dtype),
    }


def per_sample(call, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs `call(**sample)` on each sample alone (batch 1), as the runners do, and stacks the
    outputs (a dict name -> array) on axis 0."""
    outs = [call(**{k: v[i : i + 1] for k, v in inputs.items()}) for i in range(N)]
    return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in outs[0]}


def signature_nodes(saved: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The graph tensors ("op:index") of a SavedModel's serving_default inputs and outputs."""
    from tensorflow.python.tools import saved_model_utils

    meta_graph = saved_model_utils.get_meta_graph_def(str(saved), "serve")
    signature = meta_graph.signature_def["serving_default"]
    return (
        {name: t.name for name, t in signature.inputs.items()},
        {name: t.name for name, t in signature.outputs.items()},
    )


def build_tf_models(folder: Path) -> dict[str, Model]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from pipelines.backends.tflite.runner import dequantize, quantize

    class TwoInTwoOut(tf.Module):
        def __init__(self):
            super().__init__()
            w = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
            self.w = tf.Variable(w)

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, 4, 3], tf.float32, name="x"),
                tf.TensorSpec([1, 4], tf.int32, name="ids"),
            ]
        )
        def serve(self, x, ids):
            feat = (
                tf.tanh(tf.einsum("bnc,cd->bnd", x, self.w)) * tf.cast(ids, tf.float32)[..., None]
            )
            return {"feat": feat, "ids2": ids * 3 + 1}

    module = TwoInTwoOut()
    inputs = sample_inputs(np.int32)
    models = {}

    saved = folder / "savedmodel"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    signature_inputs, signature_outputs = signature_nodes(saved)
    nodes = [
        *[f for name, node in signature_inputs.items() for f in ("--input-node", f"{name}={node}")],
        *[
            f
            for name, node in signature_outputs.items()
            for f in ("--output-node", f"{name}={node}")
        ],
    ]
    loaded = tf.saved_model.load(str(saved)).signatures["serving_default"]
    expected = per_sample(lambda **kw: {k: v.numpy() for k, v in loaded(**kw).items()}, inputs)
    models["savedmodel"] = Model("tf_runner", saved, inputs, expected, nodes)

    concrete = module.serve.get_concrete_function()
    frozen_fn = convert_variables_to_constants_v2(concrete)
    frozen = folder / "frozen.pb"
    frozen.write_bytes(frozen_fn.graph.as_graph_def().SerializeToString())
    # The frozen function's outputs are the flattened dict: give them their names back.
    named = tf.nest.pack_sequence_as(concrete.structured_outputs, frozen_fn.outputs)
    outputs = {name: t.name for name, t in named.items()}
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(frozen_fn.graph.as_graph_def(), name="")
    with tf.compat.v1.Session(graph=graph) as session:
        expected = per_sample(
            lambda **kw: dict(
                zip(
                    outputs,
                    session.run(list(outputs.values()), {f"{k}:0": v for k, v in kw.items()}),
                    strict=True,
                )
            ),
            inputs,
        )
    nodes = [
        *[f for name in inputs for f in ("--input-node", f"{name}={name}:0")],
        *[f for name, node in outputs.items() for f in ("--output-node", f"{name}={node}")],
    ]
    models["frozen"] = Model("tf_runner", frozen, inputs, expected, nodes)

    def litert_reference(path):
        signature_runner = Interpreter(str(path)).get_signature_runner("serving_default")
        return per_sample(signature_runner, inputs)

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    tflite = folder / "float32.tflite"
    tflite.write_bytes(converter.convert())
    models["tflite_float32"] = Model("litert_runner", tflite, inputs, litert_reference(tflite))

    def representative():
        rng = np.random.default_rng(2)
        for _ in range(32):
            yield {
                "x": rng.standard_normal((1, 4, 3)).astype(np.float32),
                "ids": rng.integers(0, 5, (1, 4)).astype(np.int32),
            }

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    tflite = folder / "int8.tflite"
    tflite.write_bytes(converter.convert())
    signature_runner = Interpreter(str(tflite)).get_signature_runner("serving_default")
    # The full-integer converter quantizes the float input and output only: ids and ids2 stay
    # int32 (measured with TF 2.21).
    in_details = signature_runner.get_input_details()
    out_details = signature_runner.get_output_details()
    assert in_details["x"]["dtype"] == np.int8 and in_details["ids"]["dtype"] == np.int32
    assert out_details["feat"]["dtype"] == np.int8 and out_details["ids2"]["dtype"] == np.int32
    raw_inputs = {
        "x": quantize(inputs["x"], *in_details["x"]["quantization"], np.int8),
        "ids": inputs["ids"],
    }
    raw = per_sample(signature_runner, raw_inputs)
    dequantized = {
        "feat": dequantize(raw["feat"], *out_details["feat"]["quantization"]),
        "ids2": raw["ids2"],
    }
    models["tflite_int8"] = Model("litert_runner", tflite, inputs, dequantized)
    models["tflite_int8_raw"] = Model("litert_runner", tflite, raw_inputs, raw, ["--raw-output"])
    return models


def build_torch_models(folder: Path) -> dict[str, Model]:
    import torch

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(3, 2)

        def both(self, x, ids):
            return torch.tanh(self.lin(x)) * ids.unsqueeze(-1).to(torch.float32), ids * 3 + 1

    class AsTuple(Features):
        def forward(self, x, ids):
            return self.both(x, ids)

    class AsDict(Features):
        def forward(self, x: torch.Tensor, ids: torch.Tensor) -> dict[str, torch.Tensor]:
            feat, ids2 = self.both(x, ids)
            return {"feat": feat, "ids2": ids2}

    def reference(call, inputs, names=("feat", "ids2")):
        def one(**kw):
            with torch.inference_mode():
                out = call(*[torch.from_numpy(v) for v in kw.values()])
            out = out if isinstance(out, dict) else dict(zip(names, out, strict=True))
            return {k: v.numpy() for k, v in out.items()}

        return per_sample(one, inputs)

    models = {}
    for key, cls, ids_dtype, how in [
        ("trace_tuple", AsTuple, np.int32, "trace"),
        ("script_dict", AsDict, np.int64, "script"),
    ]:
        inputs = sample_inputs(ids_dtype)
        example = tuple(torch.from_numpy(v[:1]) for v in inputs.values())
        module = cls().eval()
        compiled = torch.jit.trace(module, example) if how == "trace" else torch.jit.script(module)
        path = folder / f"{key}.pt"
        compiled.save(str(path))
        models[key] = Model(
            "torch_runner", path, inputs, reference(torch.jit.load(str(path)), inputs)
        )

    for key, cls, ids_dtype in [("aoti_dict", AsDict, np.int32), ("aoti_tuple", AsTuple, np.int64)]:
        inputs = sample_inputs(ids_dtype)
        example = tuple(torch.from_numpy(v[:1]) for v in inputs.values())
        exported = torch.export.export(cls().eval(), example)
        path = folder / f"{key}.pt2"
        torch._inductor.aoti_compile_and_package(exported, package_path=str(path))
        loaded = torch._inductor.aoti_load_package(str(path))
        models[key] = Model("torch_runner", path, inputs, reference(loaded, inputs))
    return models


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Model]:
    folder = tmp_path_factory.mktemp("multi-io-models")
    return {**build_tf_models(folder), **build_torch_models(folder)}


def npy_files(folder: Path, arrays: dict[str, np.ndarray], prefix="in") -> dict[str, Path]:
    files = {}
    for name, array in arrays.items():
        files[name] = folder / f"{prefix}-{name}.npy"
        np.save(files[name], array)
    return files


def named_args(model: Model, folder: Path, outputs=None) -> list[str]:
    """--model, the runner flags, --input NAME=FILE for each input and --output NAME=FILE for
    each name in `outputs` (default: every expected output, in reverse order, so that matching by
    name, not position, is what puts them right)."""
    inputs = npy_files(folder, model.inputs)
    names = list(reversed(model.expected)) if outputs is None else outputs
    args = ["--model", str(model.path), *model.flags]
    args += [a for name, path in inputs.items() for a in ("--input", f"{name}={path}")]
    args += [a for name in names for a in ("--output", f"{name}={folder / f'out-{name}.npy'}")]
    return args


# ---- named inputs and outputs give the framework's outputs ----

POSITIONAL = {"trace_tuple", "aoti_tuple"}  # outputs matched by position: pass them in order


@pytest.mark.parametrize(
    "key",
    [
        "savedmodel",
        "frozen",
        "tflite_float32",
        "tflite_int8",
        "tflite_int8_raw",
        "trace_tuple",
        "script_dict",
        "aoti_dict",
        "aoti_tuple",
    ],
)
def test_named_inputs_and_outputs_match_python(bin_dir, models, tmp_path, key):
    model = models[key]
    outputs = list(model.expected) if key in POSITIONAL else None
    stats = tmp_path / "stats.json"
    result = runner(
        bin_dir,
        model.program,
        *named_args(model, tmp_path, outputs),
        "--json",
        str(stats),
        "--warmup",
        "1",
        "--runs",
        "4",
    )
    assert result.returncode == 0, result.stderr
    assert stats.is_file()
    for name, expected in model.expected.items():
        got = np.load(tmp_path / f"out-{name}.npy")
        assert got.dtype == expected.dtype and got.shape == expected.shape, (
            name,
            got.dtype,
            got.shape,
        )
        if np.issubdtype(expected.dtype, np.integer):
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=name)
    # The integer input reached the model: ids2 = 3 * ids + 1.
    ids = model.inputs["ids"]
    np.testing.assert_array_equal(model.expected["ids2"], ids * 3 + 1)
    assert f"{N} samples ->" in result.stdout


# ---- errors of the named form ----


def error_case(model: Model, folder: Path, case: str) -> list[str]:
    """The command line of one faulty run on `model`."""
    files = npy_files(folder, model.inputs)
    ins = [a for name, path in files.items() for a in ("--input", f"{name}={path}")]
    outs = [
        a for name in ("feat", "ids2") for a in ("--output", f"{name}={folder / f'{name}.npy'}")
    ]
    base = ["--model", str(model.path), *model.flags]
    if case == "missing_output":
        return [*base, *ins, *outs[:2]]  # feat only
    if case == "unknown_input":
        renamed = ["--input", f"nope={files['x']}", "--input", f"ids={files['ids']}"]
        return [*base, *renamed, *outs]
    if case == "unknown_output":
        return [*base, *ins, *outs[:2], "--output", f"nope={folder / 'nope.npy'}"]
    if case == "different_n":
        short = folder / "ids-short.npy"
        np.save(short, model.inputs["ids"][:2])
        return [*base, "--input", f"x={files['x']}", "--input", f"ids={short}", *outs]
    if case == "wrong_dtype":
        wrong = folder / "ids-wrong.npy"
        other = np.int64 if model.inputs["ids"].dtype == np.int32 else np.int32
        if model.program == "torch_runner" and model.path.suffix == ".pt":
            other = np.float64  # a TorchScript module declares no input dtypes
        np.save(wrong, model.inputs["ids"].astype(other))
        return [*base, "--input", f"x={files['x']}", "--input", f"ids={wrong}", *outs]
    if case == "one_input_form":
        nodes = []
        if model.program == "tf_runner":  # the one-input form of the node flags: OP:INDEX alone
            node_of = dict(value.split("=", 1) for value in model.flags[1::2])
            nodes = ["--input-node", node_of["x"], "--output-node", node_of["feat"]]
        return [
            "--model",
            str(model.path),
            *nodes,
            "--input",
            str(files["x"]),
            "--output",
            str(folder / "o.npy"),
        ]
    if case == "mixed_forms":
        return [*base, *ins, "--output", str(folder / "o.npy")]
    raise AssertionError(case)


NOT_REQUESTED = "model output 'ids2' not requested"
TUPLE_SHORT = ("model returns 2 outputs, 1 --output given", "output 2 not requested")
UNKNOWN_INPUT = "unknown input name 'nope'"
UNKNOWN_OUTPUT = "unknown output name 'nope'"
DIFFERENT_N = ("inputs have different sample counts", "in-x.npy has N=3", "ids-short.npy has N=2")
INT64_FOR_INT32 = ("input dtype int64 of input 'ids' does not match model input", "(int32)")
MIXED = "--input/--output mix FILE and NAME=FILE"
# (model, case, exit code, what the one error line must say)
ERRORS = [
    ("savedmodel", "missing_output", 1, (NOT_REQUESTED, "give every output as --output NAME=FILE")),
    ("tflite_float32", "missing_output", 1, (NOT_REQUESTED, "feat, ids2")),
    ("script_dict", "missing_output", 1, (NOT_REQUESTED, "feat, ids2")),
    ("aoti_dict", "missing_output", 1, (NOT_REQUESTED, "feat, ids2")),
    ("trace_tuple", "missing_output", 1, TUPLE_SHORT),
    ("aoti_tuple", "missing_output", 1, TUPLE_SHORT),
    ("savedmodel", "unknown_input", 1, (UNKNOWN_INPUT, "the inputs named by --input-node: ")),
    ("frozen", "unknown_input", 1, (UNKNOWN_INPUT, "the inputs named by --input-node: x, ids")),
    ("tflite_float32", "unknown_input", 1, (UNKNOWN_INPUT, "the model's inputs (signature 0): ")),
    ("tflite_int8", "unknown_input", 1, (UNKNOWN_INPUT, "the model's inputs (signature 0): ")),
    ("script_dict", "unknown_output", 1, (UNKNOWN_OUTPUT, "feat, ids2")),
    ("aoti_dict", "unknown_output", 1, (UNKNOWN_OUTPUT, "feat, ids2")),
    ("tflite_float32", "unknown_output", 1, (UNKNOWN_OUTPUT, "feat, ids2")),
    ("savedmodel", "different_n", 1, DIFFERENT_N),
    ("tflite_float32", "different_n", 1, DIFFERENT_N),
    ("script_dict", "different_n", 1, DIFFERENT_N),
    ("savedmodel", "wrong_dtype", 1, INT64_FOR_INT32),
    ("frozen", "wrong_dtype", 1, INT64_FOR_INT32),
    ("tflite_float32", "wrong_dtype", 1, INT64_FOR_INT32),
    ("tflite_int8", "wrong_dtype", 1, INT64_FOR_INT32),
    ("script_dict", "wrong_dtype", 1, ("input dtype float64 of input 'ids'", "torch_runner")),
    ("aoti_dict", "wrong_dtype", 1, ("inference failed for input 'x'", "unmatched dtype")),
    # tf_runner knows a graph's inputs from --input-node only: TF names the one not fed.
    ("savedmodel", "one_input_form", 1, ("must feed a value", "serving_default_ids")),
    ("tflite_float32", "one_input_form", 1, ("model has 2 inputs: ", "--input NAME=FILE")),
    ("script_dict", "one_input_form", 1, ("model has 2 inputs: x, ids", "--input NAME=FILE")),
    ("aoti_dict", "one_input_form", 1, ("model has 2 inputs", "--input NAME=FILE")),
    ("savedmodel", "mixed_forms", 2, (MIXED,)),
    ("tflite_float32", "mixed_forms", 2, (MIXED,)),
    ("script_dict", "mixed_forms", 2, (MIXED,)),
]


@pytest.mark.parametrize(
    ("key", "case", "code", "fragments"), ERRORS, ids=[f"{key}-{case}" for key, case, *_ in ERRORS]
)
def test_bad_named_io_gives_one_clear_line(bin_dir, models, tmp_path, key, case, code, fragments):
    result = runner(bin_dir, models[key].program, *error_case(models[key], tmp_path, case))
    assert_one_error_line(result, code, *fragments)
    assert not list(tmp_path.glob("*feat.npy")) and not (tmp_path / "o.npy").exists()


def test_torch_runner_rejects_inputs_in_another_order_than_forward(bin_dir, models, tmp_path):
    model = models["script_dict"]
    files = npy_files(tmp_path, model.inputs)
    result = runner(
        bin_dir,
        "torch_runner",
        "--model",
        str(model.path),
        "--input",
        f"ids={files['ids']}",
        "--input",
        f"x={files['x']}",
        "--output",
        f"feat={tmp_path / 'f.npy'}",
        "--output",
        f"ids2={tmp_path / 'i.npy'}",
    )
    assert_one_error_line(result, 1, "--input order ids, x differs from forward(x, ids)")


def test_tf_runner_wants_node_flags_in_the_form_of_the_files(bin_dir, models, tmp_path):
    model = models["frozen"]
    args = named_args(model, tmp_path)
    args[args.index("x=x:0")] = "x:0"  # one --input-node without NAME=
    result = runner(bin_dir, "tf_runner", *args)
    assert_one_error_line(result, 2, "--input-node has no NAME= but --input/--output use NAME=FILE")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        (["--input", "=a.npy", "--output", "o.npy"], "--input '=a.npy' has an empty NAME"),
        (
            ["--input", "x=a.npy", "--input", "x=b.npy", "--output", "y=o.npy"],
            "--input x=... given twice",
        ),
        (
            ["--input", "a.npy", "--input", "b.npy", "--output", "o.npy"],
            "--input given 2 times without NAME=",
        ),
        (["--input", "x=a.npy", "--output", "y="], "--output 'y=' has an empty FILE"),
    ],
)
def test_bad_input_flags_are_usage_errors(bin_dir, values, fragment):
    result = runner(bin_dir, "litert_runner", "--model", "m.tflite", *values)
    assert_one_error_line(result, 2, fragment)


# ---- the one-input form is unchanged ----


@pytest.fixture(scope="module")
def one_input_models(tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """A one-input, one-output model per runner: the model and, for tf_runner, its input and
    output node."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import torch

    folder = tmp_path_factory.mktemp("one-input")

    class Scale(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * 2.0 + 1.0}

    module = Scale()
    saved = folder / "savedmodel"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    tflite = folder / "model.tflite"
    tflite.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert())

    class ScaleModule(torch.nn.Module):
        def forward(self, x):
            return x * 2.0 + 1.0

    traced = folder / "model.pt"
    torch.jit.trace(ScaleModule(), torch.zeros(1, 4, 3)).save(str(traced))
    (input_node,), (output_node,) = (nodes.values() for nodes in signature_nodes(saved))
    return {
        "tf_runner": (saved, [input_node, output_node]),
        "litert_runner": (tflite, []),
        "torch_runner": (traced, []),
    }


@pytest.mark.parametrize("program", ["tf_runner", "litert_runner", "torch_runner"])
def test_one_input_form_equals_the_named_form(bin_dir, one_input_models, tmp_path, program):
    """--input FILE --output FILE on a one-input model writes what NAME=FILE writes, and prints
    the result line it always printed ('-> FILE [shape]')."""
    model, nodes = one_input_models[program]
    x = np.random.default_rng(3).standard_normal((N, 4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    plain, named = tmp_path / "plain.npy", tmp_path / "named.npy"
    plain_nodes = ["--input-node", nodes[0], "--output-node", nodes[1]] if nodes else []
    named_nodes = (
        ["--input-node", f"x={nodes[0]}", "--output-node", f"y={nodes[1]}"] if nodes else []
    )
    output_name = "out" if program == "torch_runner" else "y"  # torch: any name, by position

    def run_form(node_flags: list[str], input_arg: str, output_arg: str):
        return runner(
            bin_dir,
            program,
            *("--model", str(model), *node_flags),
            *("--input", input_arg, "--output", output_arg, "--runs", "2"),
        )

    result = run_form(plain_nodes, str(tmp_path / "x.npy"), str(plain))
    assert result.returncode == 0, result.stderr
    assert f"{N} samples -> {plain} [{N}, 4, 3]; load" in result.stdout
    result = run_form(named_nodes, f"x={tmp_path / 'x.npy'}", f"{output_name}={named}")
    assert result.returncode == 0, result.stderr
    assert plain.read_bytes() == named.read_bytes()
    np.testing.assert_allclose(np.load(plain), x * 2.0 + 1.0, rtol=0, atol=1e-6)
