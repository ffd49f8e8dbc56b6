"""Your own model (defined in tests/, not in the package) through the whole DVC chain."""

import json

import numpy as np
import pytest

from tests.conftest import (
    LITERT_BUNDLE_ONLY,
    assert_up_to_date,
    cells,
    changed_by_editing,
    compose,
    make_project,
    run,
    stages_run,
)

pytestmark = pytest.mark.pipeline

USER = [
    "model=custom",
    "model.keras._target_=tests.user_model.build_keras",
    "model.torch._target_=tests.user_model.UserNet",
    "model.input_shape=[1,16,16,3]",
    "trace.methods=[script]",
    "evaluate.start_together=2",
    *LITERT_BUNDLE_ONLY,
]


def write_user_files(project) -> None:
    """What a user brings: trained weights for both frameworks and evaluation inputs."""
    import tensorflow as tf
    import torch

    from tests.user_model import UserNet, build_keras

    (project / "inputs").mkdir(exist_ok=True)
    tf.train.Checkpoint(model=build_keras()).write(str(project / "inputs/ckpt"))
    torch.manual_seed(0)
    torch.save(UserNet().state_dict(), project / "inputs/weights.pt")
    np.save(
        project / "inputs/eval_x.npy",
        np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32),
    )


@pytest.fixture(scope="module")
def user_project(tmp_path_factory, shared_cache, sr_project):
    project = make_project(
        tmp_path_factory.mktemp("user"), shared_cache, [*USER, "quantize.modes=[float32]"]
    )
    write_user_files(project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "user model"], project)
    run(["dvc", "repro"], project)
    return project


def test_the_user_model_runs_through_every_stage(user_project):
    found = cells(user_project)
    assert set(found) == {
        "keras/checkpoint@python",
        "tf/savedmodel@python",
        "tf/savedmodel@cpp",
        "tf/frozen@python",
        "tf/frozen@cpp",
        "tf/savedmodel_bf16@python",  # evaluate.tf_bf16: on by default, for your model too
        "tf/savedmodel_bf16@cpp",
        "tf/frozen_bf16@python",
        "tf/frozen_bf16@cpp",
        "tflite/float32@python",
        "tflite/float32@cpp",
        "torch/eager@python",
        "torch/script@python",
        "torch/script@cpp",
    }
    assert all(c["passed"] for c in found.values()), {k: c["verdict"] for k, c in found.items()}


def test_editing_the_user_network_module_changes_exactly_the_stages_that_build_it(user_project):
    assert "keras_code: tests\n" in (user_project / "params.yaml").read_text()  # the package
    changed = changed_by_editing(user_project, "tests/user_model.py")
    assert changed == {"checkpoint", "freeze", "savedmodel", "trace@script", "evaluate", "package"}
    assert_up_to_date(user_project)


def test_adding_a_quantization_mode_runs_only_the_new_variant(user_project):
    compose(user_project, *USER, "quantize.modes=[float32,dynamic]")
    ran = stages_run(run(["dvc", "repro"], user_project).stdout)
    # evaluate needs the new variant, and the bundle is chosen from the evaluation: always last
    assert ran == ["quantize@dynamic", "evaluate", "package"]


def test_the_tf_chain_can_be_switched_off(user_project):
    compose(user_project, *USER, "model.frameworks=[torch]", "model.tf_checkpoint=null")
    run(["dvc", "repro"], user_project)
    assert "skipped" in json.loads((user_project / "artifacts/savedmodel/model.json").read_text())
    assert {c["artifact"] for c in cells(user_project).values()} == {"torch/eager", "torch/script"}
    assert_up_to_date(user_project)
