"""`python -m pipelines.run` takes several inputs and outputs by name, as the C++ runners do."""

import numpy as np
import pytest

from pipelines.compose import write_params
from pipelines.run import main
from tests.conftest import REPO

SEVERAL = [
    "model.input_shape=null",
    "model.inputs=[{name:image,shape:[1,4,4,3],layout:image},{name:ids,shape:[1,5],dtype:int32}]",
    "model.outputs=[logits,mask]",
]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """params.yaml of a two-input, two-output model, and one file per input."""
    monkeypatch.chdir(REPO)  # the test doubles are importable from here
    write_params(SEVERAL, tmp_path / "params.yaml")
    np.save(tmp_path / "image.npy", np.random.default_rng(0).random((3, 4, 4, 3), np.float32))
    np.save(tmp_path / "ids.npy", np.arange(15, dtype=np.int32).reshape(3, 5))
    return tmp_path


def _run(project, *files: str) -> int:
    flags = [f.replace("@", str(project) + "/") for f in files]
    runner = ["--runtime", "tests.doubles.EchoRunner", "--model", "none", "--runs", "2"]
    return main([*runner, "--params", str(project / "params.yaml"), *flags])


def test_named_inputs_and_outputs_go_to_their_files(project):
    code = _run(
        project,
        *["--input", "ids=@ids.npy", "--input", "image=@image.npy"],
        *["--output", "mask=@mask.npy", "--output", "logits=@logits.npy"],
    )
    assert code == 0
    assert np.array_equal(np.load(project / "logits.npy"), np.load(project / "image.npy"))
    mask = np.load(project / "mask.npy")
    assert mask.dtype == np.int32 and np.array_equal(mask, np.load(project / "ids.npy"))


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        (
            ["--input", "@image.npy", "--output", "logits=@l.npy", "--output", "mask=@m.npy"],
            "error: the model has the inputs ['image', 'ids']: give one --input NAME=FILE for each",
        ),
        (
            [
                *["--input", "image=@image.npy", "--input", "mask=@ids.npy"],
                *["--output", "logits=@l.npy", "--output", "mask=@m.npy"],
            ],
            "error: --input names ['image', 'mask'] do not match the model's inputs "
            "['image', 'ids'] (give one --input NAME=FILE for each)",
        ),
    ],
)
def test_inputs_that_do_not_name_the_model_inputs_are_refused_in_one_line(
    project, capsys, files, complaint
):
    assert _run(project, *files) == 1
    assert capsys.readouterr().err.strip() == complaint
    assert not (project / "l.npy").exists()
