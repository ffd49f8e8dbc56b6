"""The C++ runners' contract: same outputs as Python (see test_pipeline_artifacts) and one clear
error line, a non-zero exit and no crash for every kind of bad input."""

import json
import subprocess

import numpy as np
import pytest

from pipelines.backends.tf.nodes import cpp_flags
from pipelines.evaluate.cells import runtime_env

pytestmark = pytest.mark.pipeline

ARTIFACTS = {
    "torch_runner": "artifacts/torch/trace/model.pt",
    "tf_runner": "artifacts/savedmodel/model",
    "litert_runner": "artifacts/tflite/int8/model.tflite",
}
# tf_runner takes the graph nodes on its command line; these are the frozen graph's.
FROZEN_NODES = ["--input-node", "input:0", "--output-node", "output:0"]
LAYOUT = {
    "torch_runner": (2, 3, 64, 64),
    "tf_runner": (2, 64, 64, 3),
    "litert_runner": (2, 64, 64, 3),
}


def model_args(project, program, model=None):
    """--model (the program's artifact unless `model`) and, for tf_runner, the nodes: those the
    artifact's sidecar lists, as the evaluation passes them, or the frozen graph's."""
    if program != "tf_runner":
        return ["--model", model or ARTIFACTS[program]]
    nodes = FROZEN_NODES if model else cpp_flags(project / ARTIFACTS[program])
    return ["--model", model or ARTIFACTS[program], *nodes]


def runner(project, program, *args, timeout=60, stdin=""):
    return subprocess.run(
        [str(project / "build/bin" / program), *args],
        cwd=project,
        env=runtime_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def files(sr_project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runner-inputs")
    rng = np.random.default_rng(0)
    made = {"not_npy": folder / "not.npy"}
    made["not_npy"].write_text("this is not an npy file")
    for program, shape in LAYOUT.items():
        made[f"{program}:good"] = folder / f"{program}-good.npy"
        np.save(made[f"{program}:good"], rng.random(shape, dtype=np.float32))
        made[f"{program}:shape"] = folder / f"{program}-shape.npy"
        wrong = list(shape)
        wrong[1 if program == "torch_runner" else 3] += 1  # one channel too many
        np.save(made[f"{program}:shape"], rng.random(wrong, dtype=np.float32))
        made[f"{program}:dtype"] = folder / f"{program}-dtype.npy"
        np.save(made[f"{program}:dtype"], np.zeros(shape, np.int32))
    return made


def assert_one_error_line(result, *fragments):
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def run_good_input(project, files, program, out, *flags, stdin=""):
    """The program on its artifact and good input, writing `out`, with `flags`."""
    model = model_args(project, program)
    good = str(files[f"{program}:good"])
    return runner(
        project, program, *model, "--input", good, "--output", str(out), *flags, stdin=stdin
    )


@pytest.mark.parametrize("program", list(ARTIFACTS))
def test_good_input_gives_outputs_and_stats(sr_project, files, tmp_path, program):
    out, stats = tmp_path / "out.npy", tmp_path / "stats.json"
    flags = ["--json", str(stats), "--runs", "5", "--warmup", "1", "--rounds", "3", "--interleaved"]
    result = run_good_input(sr_project, files, program, out, *flags, stdin="go\n" * 3)
    assert result.returncode == 0, result.stderr
    assert np.load(out).shape[0] == 2
    keys = json.loads(stats.read_text())
    assert keys["runs"] == 5 and keys["min_ms"] <= keys["p99_ms"] <= keys["max_ms"]
    # each turn is announced, and p50 is the median of the rounds' p50s
    turns = [line.split()[0] for line in result.stdout.splitlines()[:4]]
    assert turns == ["ready", "round", "round", "round"], result.stdout
    assert len(keys["round_p50_ms"]) == 3
    assert keys["p50_ms"] == sorted(keys["round_p50_ms"])[1]


@pytest.mark.parametrize("program", list(ARTIFACTS))
def test_an_interleaved_runner_whose_turns_stop_says_so(sr_project, files, tmp_path, program):
    out = tmp_path / "out.npy"
    flags = ["--rounds", "2", "--interleaved"]
    result = run_good_input(sr_project, files, program, out, *flags, stdin="go\n")
    assert_one_error_line(result, "stdin closed before round 2")
    assert not out.exists()


def corrupt_model(program, folder):
    """Junk bytes where a model should be."""
    path = (
        folder
        / {"torch_runner": "junk.pt", "tf_runner": "junk.pb", "litert_runner": "junk.tflite"}[
            program
        ]
    )
    path.write_bytes(b"\x00junk" * 100)
    return str(path)


# What each runner says of junk bytes given as its model: the library's complaint, then the hint
# (LiteRT echoes the file's first bytes, a NUL among them, which must not cut the line short).
CORRUPT = {
    "torch_runner": "cannot load TorchScript model",
    "tf_runner": "cannot import frozen GraphDef",
    "litert_runner": "should be 'TFL3' (expected a .tflite flatbuffer",
}


@pytest.mark.parametrize("program", list(ARTIFACTS))
@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("missing_model", "not found"),
        ("corrupt_model", CORRUPT),
        ("wrong_shape", "shape"),
        ("wrong_dtype", "dtype"),
        ("not_npy", "is not a .npy file (bad magic bytes) (give --input a .npy file"),
        ("no_model_flag", "--model"),
    ],
)
def test_bad_input_gives_one_clear_line(sr_project, files, tmp_path, program, case, fragment):
    model, good = model_args(sr_project, program), str(files[f"{program}:good"])
    missing = "does/not/exist" + (".pt" if program == "torch_runner" else "")
    args = {
        "missing_model": [*model_args(sr_project, program, missing), "--input", good],
        "corrupt_model": [
            *model_args(sr_project, program, corrupt_model(program, tmp_path)),
            "--input",
            good,
        ],
        "wrong_shape": [*model, "--input", str(files[f"{program}:shape"])],
        "wrong_dtype": [*model, "--input", str(files[f"{program}:dtype"])],
        "not_npy": [*model, "--input", str(files["not_npy"])],
        "no_model_flag": ["--input", good],
    }[case]
    result = runner(sr_project, program, *args, "--output", str(tmp_path / "out.npy"))
    assert_one_error_line(result, fragment[program] if isinstance(fragment, dict) else fragment)
    assert not (tmp_path / "out.npy").exists()


def test_tf_runner_names_an_unknown_node(sr_project, files, tmp_path):
    result = runner(
        sr_project,
        "tf_runner",
        "--model",
        "artifacts/frozen/model.pb",
        "--input",
        str(files["tf_runner:good"]),
        "--output",
        str(tmp_path / "o.npy"),
        "--input-node",
        "input:0",
        "--output-node",
        "nope:0",
    )
    assert_one_error_line(result, "node 'nope'", "not found")


def test_tf_runner_asks_for_the_nodes_it_was_not_given(sr_project, files, tmp_path):
    result = runner(
        sr_project,
        "tf_runner",
        "--model",
        ARTIFACTS["tf_runner"],
        "--input",
        str(files["tf_runner:good"]),
        "--output",
        str(tmp_path / "o.npy"),
    )
    assert_one_error_line(result, "missing --input-node", "pipelines.backends.tf.nodes")
    assert result.returncode == 2


def test_litert_runner_profiles_per_op_and_the_others_refuse_to(sr_project, files, tmp_path):
    out, ops = tmp_path / "out.npy", tmp_path / "ops.json"
    result = run_good_input(sr_project, files, "litert_runner", out, "--profile", str(ops))
    assert result.returncode == 0, result.stderr
    profile = json.loads(ops.read_text())
    assert {op["kind"] for op in profile["ops"]} >= {"Convolution (NHWC, QC8) IGEMM"}
    assert all(op["ms"] > 0 for op in profile["ops"] if op["kind"].startswith("Convolution"))
    result = run_good_input(sr_project, files, "tf_runner", out, "--profile", str(ops))
    assert_one_error_line(result, "--profile is not supported by this runner")
