"""The Hydra configuration: composition, the committed params.yaml, and clear errors."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from pipelines.compose import compose, to_params_yaml
from pipelines.config import ConfigError, QuantMode, load, validate
from tests.conftest import REPO, run_module


def compose_cli(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    """`python -m pipelines.compose` in `cwd` (where it writes params.yaml), composing this
    checkout's conf/ (found next to the package, whatever the working directory)."""
    return run_module(cwd, "pipelines.compose", *overrides, timeout=120)


def test_committed_params_yaml_equals_the_composition_of_conf():
    assert (REPO / "params.yaml").read_text() == to_params_yaml(compose())


def test_defaults_select_the_sr_model_and_every_quantization_mode():
    cfg = load(REPO / "params.yaml")
    assert cfg.model.name == "sr"
    assert cfg.quantize.modes == list(QuantMode)


def test_model_group_switches_the_matching_data():
    cfg = validate(compose(["model=digits"]))
    assert (cfg.model.name, cfg.data.source.name) == ("digits", "digits")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "quantize.modes=[int7]",
            ["quantize.modes[0]", "'int7'", "float32, dynamic, float16, int8, uint8"],
        ),
        ("model=nope", ["model=nope", "available: custom, digits, sr"]),
        (
            "model.input_shape=[1,-4,64,3]",
            ["model.input_shape", "-4", "[1, height, width, channels]"],
        ),
        ("evaluate.threads=0", ["evaluate.threads=0", "integers > 0"]),
        ("model.train.epochs=abc", ["model.train.epochs", "'abc'", "Integer"]),
        (  # the builder is switched off as a whole; the message gives that spelling
            "model.torch._target_=null",
            ["model.torch._target_", "is not Optional", "model.torch=null"],
        ),
    ],
)
def test_invalid_values_fail_with_one_line_naming_key_value_and_allowed(
    tmp_path, override, expected
):
    result = compose_cli(tmp_path, override)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in lines[0]
    assert not (tmp_path / "params.yaml").exists()


def test_a_stage_rejects_a_bad_params_yaml_before_any_work(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"]["input_shape"] = [1, 0, 64, 3]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_module(tmp_path, "stages.checkpoint", timeout=120)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: checkpoint: model.input_shape=[1, 0, 64, 3]")
    )
    assert not (tmp_path / "artifacts").exists()


def test_validate_rejects_unknown_keys():
    raw = OmegaConf.to_container(compose())
    raw["model"]["bogus"] = 1
    with pytest.raises(ConfigError, match="bogus"):
        validate(raw)


def test_a_sequence_input_takes_any_rank_but_an_image_takes_four():
    assert validate(
        compose(["model.input_layout=none", "model.input_shape=[1,16]", "model.input_dtype=int32"])
    ).model.input_shape == [1, 16]
    with pytest.raises(ConfigError, match=r"model.input_layout=none"):
        validate(compose(["model.input_shape=[1,16]"]))


SEVERAL = [
    "model.input_shape=null",
    "model.inputs=[{name:image,shape:[1,8,8,3],layout:image},{name:ids,shape:[1,4],dtype:int32}]",
    "model.outputs=[logits,mask]",
]


def test_several_inputs_and_outputs_are_declared_by_name():
    model = validate(compose(SEVERAL)).model
    assert [(t.name, t.shape, t.dtype.value) for t in model.input_tensors] == [
        ("image", [1, 8, 8, 3], "float32"),
        ("ids", [1, 4], "int32"),
    ]
    assert model.output_names == ["logits", "mask"] and model.is_image


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        (SEVERAL[1:], r"^model.input_shape=\[.*\] is invalid: .* null when model.inputs lists"),
        (
            ["model.input_shape=null"],
            r"^model.input_shape=None is invalid: allowed values are a shape",
        ),
        ([*SEVERAL[:2], "model.outputs=[ids,mask]"], r"^model.outputs=.* names that differ"),
        (
            ["model.input_shape=null", "model.inputs=[{name:image,shape:[1,8,8],layout:image}]"],
            r"^model.inputs\[0\].shape=\[1, 8, 8\] is invalid: allowed values are \[1, height",
        ),
    ],
)
def test_a_signature_that_is_ambiguous_or_clashes_is_refused_naming_the_key(overrides, refusal):
    with pytest.raises(ConfigError, match=refusal):
        validate(compose(overrides))


@pytest.mark.parametrize("modes", ["[int8,int8_selective]", "[int8]"])
def test_a_stale_int8_selective_folder_is_read_only_when_configured(tmp_path, monkeypatch, modes):
    """A folder left by an earlier configuration that built int8_selective: the evaluation's
    search figure reads it only while quantize.modes asks for the mode."""
    from pipelines import paths
    from pipelines.evaluate.evaluation import selective_search

    cfg = validate(compose([f"quantize.modes={modes}"]))
    monkeypatch.chdir(tmp_path)  # artifact paths are relative to the project
    stale = paths.tflite_model(QuantMode.int8_selective)
    stale.parent.mkdir(parents=True)
    stale.touch()
    record = {"steps": [{"float_layers": 0}, {"float_layers": 2}]}
    stale.with_suffix(".json").write_text(json.dumps({"format": "tflite", "selective": record}))
    found = selective_search(cfg)
    assert found == (record if "selective" in modes else None)
