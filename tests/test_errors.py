"""Failures print one line; CKPT2CPP_DEBUG=1 adds the traceback of the error and its causes."""

import io
import sys

import pytest
import yaml

from pipelines.config import Framework, ModelConfig, TensorConfig
from pipelines.errors import DEBUG_ENV, PipelineError, cause_chain, report
from pipelines.models.builder import build_network
from tests.conftest import REPO, run


def _raise_with_hidden_cause() -> None:
    try:
        {}["the original cause"]
    except KeyError:
        raise PipelineError("the problem, then the fix") from None


def _reported(monkeypatch: pytest.MonkeyPatch, debug: str | None) -> str:
    if debug is None:
        monkeypatch.delenv(DEBUG_ENV, raising=False)
    else:
        monkeypatch.setenv(DEBUG_ENV, debug)
    stream = io.StringIO()
    with pytest.raises(PipelineError) as caught:
        _raise_with_hidden_cause()
    report(caught.value, "stage", stream)
    return stream.getvalue()


@pytest.mark.parametrize("debug", [None, "", "0"])
def test_without_the_switch_a_failure_is_one_line(monkeypatch, debug):
    assert _reported(monkeypatch, debug) == "error: stage: the problem, then the fix\n"


def test_with_the_switch_the_cause_chain_comes_first_even_when_raised_from_none(monkeypatch):
    text = _reported(monkeypatch, "1")
    lines = text.strip().splitlines()
    assert lines[-1] == "error: stage: the problem, then the fix"
    assert text.index("KeyError: 'the original cause'") < text.index("PipelineError: the problem")
    assert text.count("Traceback (most recent call last)") == 2
    assert "_raise_with_hidden_cause" in text


def _cli(cwd, command: list[str], debug: bool):
    return run(
        [sys.executable, "-m", *command],
        cwd,
        check=False,
        timeout=120,
        extra_env={"PYTHONPATH": str(REPO), DEBUG_ENV: "1" if debug else "0"},
    )


def test_compose_shows_the_hydra_traceback_only_with_the_switch(tmp_path):
    quiet = _cli(tmp_path, ["pipelines.compose", "model.train.epochs=abc"], debug=False)
    loud = _cli(tmp_path, ["pipelines.compose", "model.train.epochs=abc"], debug=True)
    assert quiet.returncode == loud.returncode == 1
    line = quiet.stderr.strip()
    assert line.startswith("error: model.train.epochs") and "\n" not in line
    assert "Traceback" in loud.stderr
    assert "hydra.errors.ConfigCompositionException" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == line


def test_a_stage_shows_the_traceback_only_with_the_switch(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["evaluate"]["threads"] = "many"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    quiet = _cli(tmp_path, ["stages.evaluate"], debug=False)
    loud = _cli(tmp_path, ["stages.evaluate"], debug=True)
    assert quiet.returncode == loud.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        "error: evaluate: evaluate.threads: Value 'many' of type 'str' could not be converted "
        "to Integer (give a value of the type and choices conf/ declares for it)"
    ]
    assert "omegaconf.errors.ValidationError" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()


def test_a_builder_that_fails_inside_its_module_keeps_its_cause(tmp_path, monkeypatch):
    (tmp_path / "broken_net.py").write_text("raise ZeroDivisionError('inside the module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = ModelConfig(name="x", input_shape=[1, 8, 8, 1])
    model.keras._target_ = "broken_net.build"  # type: ignore[union-attr]
    with pytest.raises(PipelineError, match="cannot be imported") as caught:
        build_network(model, Framework.tf)
    assert caught.value.__cause__ is not None
    assert ZeroDivisionError in [type(link) for link in cause_chain(caught.value)]


def test_an_unexpected_exception_is_one_line_and_its_traceback_goes_to_the_stage_log(
    tmp_path, monkeypatch, capsys
):
    from pipelines.stage import run_stage

    def body(cfg) -> None:
        raise RuntimeError("Graphs differed across invocations!\n" + "graph diff line\n" * 300)

    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        run_stage("trace@trace", body)
    assert exited.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: trace@trace: RuntimeError: Graphs differed across invocations! (the full "
        "traceback is in logs/trace@trace.log; if the network is fine, this is a ckpt2cpp bug: "
        "report it with that)"
    ]
    detail = (tmp_path / "logs/trace@trace.log").read_text()
    assert "Traceback" in detail and detail.count("graph diff line\n") >= 300


def test_a_network_with_more_inputs_than_configured_is_refused_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "two_inputs.py").write_text(
        "import torch\n"
        "class Pair(torch.nn.Module):\n"
        "    def forward(self, image, mask):\n"
        "        return image * mask\n"
        "class One(torch.nn.Module):\n"
        "    def forward(self, image, scale=2.0, **options):\n"
        "        return image * scale\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = ModelConfig(name="x", input_shape=[1, 8, 8, 1])
    model.torch._target_ = "two_inputs.Pair"  # type: ignore[union-attr]
    with pytest.raises(
        PipelineError,
        match=r"^two_inputs.Pair builds a network with 2 inputs but the config declares 1 "
        r"\(list them in model.inputs: ",
    ):
        build_network(model, Framework.torch)
    model.torch._target_ = "two_inputs.One"  # type: ignore[union-attr]
    build_network(model, Framework.torch)  # defaults and **options are not inputs
    model.torch._target_ = "two_inputs.Pair"  # type: ignore[union-attr]
    model.input_shape = None
    model.inputs = [TensorConfig("image", [1, 8, 8, 1]), TensorConfig("mask", [1, 8, 8, 1])]
    build_network(model, Framework.torch)  # declared: accepted
