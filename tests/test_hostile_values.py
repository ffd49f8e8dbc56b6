"""Hostile values execute nothing: shell characters in any string parameter are refused at load
or reach no shell, and torch weights that would run code on unpickling are refused."""

import ast
import dataclasses
import sys
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np
import pytest
from omegaconf import OmegaConf

from pipelines.compose import compose, to_params_yaml
from pipelines.config import (
    BuilderConfig,
    Config,
    ConfigError,
    CppConfig,
    ModelConfig,
    TensorConfig,
    validate,
)
from pipelines.errors import PipelineError
from tests.conftest import REPO, run, run_module, tracked_files

HOSTILE = "x;touch PWNED $(touch PWNED) `touch PWNED` | touch PWNED && touch PWNED #"

# Every string parameter of the schema, by what the pipeline does with it. A new string key makes
# test_every_string_parameter_is_classified fail until it is placed here (and, if it is a path the
# pipeline writes to, refused when absolute or escaping the project: none is today, every output
# path is fixed in pipelines/paths.py).
REFUSED_AT_LOAD = {  # hostile values, refused when params.yaml is loaded
    "model.input_name": HOSTILE,
    "model.output_name": HOSTILE,
    "model.inputs": [TensorConfig(name=HOSTILE, shape=[1, 4])],
    "model.outputs": [HOSTILE],
    "trace.device": HOSTILE,
    "cpp.cxx_flags": ["-O2", HOSTILE],
    "sweep.remote": HOSTILE,
    "package.artifacts": [HOSTILE],
    "package.arm_cpus": [HOSTILE],
    "evaluate.max_metric_drop": {HOSTILE: 1.0},
}
INPUT_PATHS = {  # read from anywhere, never written, never given to a subprocess
    "model.tf_checkpoint",
    "model.torch_weights",
    "model.keras_code",  # the network's source file, a DVC dependency (derived from _target_)
    "model.torch_code",
    "data.eval_inputs",
    "data.eval_targets",
    "data.calibration_inputs",
}
LOOKED_UP = {"data.train_images", "data.eval_images"}  # names of scikit-image's bundled photos
CODE = {"model.keras._target_", "model.torch._target_", "model.arch"}  # imported and called
TEXT = {"model.name", "evaluate.tolerances"}  # data in JSON files and report pages

# Calls that hand a string to /bin/sh.
SHELL_CALLS = {"system", "popen", "getoutput", "getstatusoutput", "create_subprocess_shell"}


def string_keys(schema: type, prefix: str = "") -> set[str]:
    """Dotted keys of `schema` whose values are, or contain, strings (dict keys included)."""
    keys: set[str] = set()
    hints = get_type_hints(schema)
    for field in dataclasses.fields(schema):
        kind = hints[field.name]
        if get_origin(kind) in (Union, types.UnionType):
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        key = prefix + field.name
        if dataclasses.is_dataclass(kind):
            keys |= string_keys(kind, key + ".")  # type: ignore[arg-type]
        elif kind in (str, Any) or str in get_args(kind):
            keys.add(key)
        elif any(dataclasses.is_dataclass(a) and string_keys(a) for a in get_args(kind)):
            keys.add(key)  # a list of records with strings: classified as a whole
    return keys


def test_every_string_parameter_is_classified():
    classified = set(REFUSED_AT_LOAD) | INPUT_PATHS | LOOKED_UP | CODE | TEXT
    assert string_keys(Config) == classified


@pytest.mark.parametrize("key", sorted(REFUSED_AT_LOAD))
def test_shell_characters_are_refused_at_load_in_one_line(key):
    raw = compose(["model=digits"])
    OmegaConf.update(raw, key, REFUSED_AT_LOAD[key], merge=False)
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert str(refused.value).startswith(key)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "flag",
    [
        "-O2 $(touch PWNED)",
        "-O2;touch PWNED",
        "-O2`touch PWNED`",
        "-O2|sh",
        "-O2&&touch PWNED",
        "-O2>PWNED",
        "-DNAME='a b'",
        "-O2\ntouch PWNED",
        "-I$HOME",
        "O2",
        "-",
        "",
    ],
)
def test_a_cxx_flag_that_is_not_one_safe_token_is_refused(flag):
    with pytest.raises(ConfigError, match=r"^cpp\.cxx_flags\[1\]=.* is invalid: allowed values"):
        CppConfig(cxx_flags=["-O2", flag]).check()


def test_real_compiler_flags_are_accepted():
    flags = [
        "-O3",
        "-march=native",
        "-fno-omit-frame-pointer",
        "-DNAME=1",
        "-I/usr/include",
        "-Wl,--as-needed",
        "-std=c++20",
        "-fsanitize=address,undefined",
    ]
    overrides = [f"cpp.cxx_flags=[{','.join(repr(f) for f in flags)}]"]
    assert validate(compose(overrides)).cpp.cxx_flags == flags


def test_compose_refuses_a_hostile_flag_and_writes_nothing(tmp_path):
    result = run(
        [sys.executable, "-m", "pipelines.compose", "cpp.cxx_flags=['-O2;touch PWNED #']"],
        tmp_path,
        check=False,
        timeout=120,
        extra_env={"PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cpp.cxx_flags[0]='-O2;touch PWNED #' is invalid")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_no_source_file_starts_a_shell():
    found = []
    for name in tracked_files():
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse((REPO / name).read_text(), name)):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "attr", getattr(node.func, "id", ""))
            shell = any(
                k.arg == "shell" and not (isinstance(k.value, ast.Constant) and not k.value.value)
                for k in node.keywords
            )
            if shell or called in SHELL_CALLS:
                found.append(f"{name}:{node.lineno}")
    assert found == []


def _user_files(folder: Path) -> None:
    import torch

    from tests.user_model import UserNet

    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(UserNet().state_dict(), folder / "weights.pt")
    samples = np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32)
    np.save(folder / "eval_x.npy", samples)


def test_hostile_names_and_input_paths_are_used_literally_and_run_nothing(tmp_path):
    folder = f"inputs/{HOSTILE}"
    _user_files(tmp_path / folder)
    cfg = compose(
        [
            "model=custom",
            "model.frameworks=[torch]",
            "model.keras=null",
            "model.tf_checkpoint=null",
            "model.torch._target_=tests.user_model.UserNet",
            "model.input_shape=[1,8,8,3]",
        ]
    )
    cfg.model.name = HOSTILE
    cfg.model.torch_weights = f"{folder}/weights.pt"
    cfg.data.eval_inputs = cfg.data.calibration_inputs = f"{folder}/eval_x.npy"
    (tmp_path / "params.yaml").write_text(to_params_yaml(cfg))
    result = run_module(tmp_path, "stages.checkpoint", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = (tmp_path / "artifacts/checkpoint/summary.json").read_text()
    assert HOSTILE.replace('"', '\\"') in summary
    assert not [p for p in tmp_path.rglob("PWNED")]


class RunsCode:
    """Unpickling this (torch.load without weights_only) would create the file PWNED."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_weights_that_run_code_when_unpickled_are_refused(tmp_path):
    import torch

    from pipelines.backends.torch import loader

    weights = tmp_path / "weights.pt"
    torch.save({"conv0.weight": RunsCode(tmp_path / "PWNED")}, weights)
    model = ModelConfig(
        name="x", input_shape=[1, 8, 8, 3], torch=BuilderConfig("tests.user_model.UserNet")
    )
    with pytest.raises(PipelineError, match="unreadable or corrupt"):
        loader.restore(model, weights)
    assert not (tmp_path / "PWNED").exists()
