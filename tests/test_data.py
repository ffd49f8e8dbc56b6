"""Your own arrays become the model's inputs in its own dtype; token ids must be integers."""

import numpy as np
import pytest

from pipelines.config import (
    DataConfig,
    DataSource,
    InputDtype,
    InputLayout,
    ModelConfig,
    TensorConfig,
)
from pipelines.data import arrays
from pipelines.errors import PipelineError
from tests.conftest import token_model

TOKENS = token_model(6)


def _data(tmp_path, values: np.ndarray) -> DataConfig:
    np.save(tmp_path / "x.npy", values)
    return DataConfig(source=DataSource.arrays, eval_inputs=str(tmp_path / "x.npy"))


def test_integer_ids_stay_integers_in_the_model_dtype(tmp_path):
    ids = np.arange(12, dtype=np.int64).reshape(2, 6)
    dataset = arrays.build(_data(tmp_path, ids), TOKENS)
    assert dataset.eval_inputs["input"].dtype == np.int32
    assert (dataset.eval_inputs["input"] == ids).all()
    assert dataset.calibration["input"].dtype == np.int32


def test_real_values_for_token_ids_are_refused_naming_the_fix(tmp_path):
    with pytest.raises(PipelineError) as caught:
        arrays.build(_data(tmp_path, np.zeros((2, 6), np.float32)), TOKENS)
    assert str(caught.value) == (
        f"data.eval_inputs={str(tmp_path / 'x.npy')!r} holds float32 values but "
        "model.input_dtype=int32 (save the integer ids with np.save(path, x.astype(np.int32)))"
    )


def _two_inputs() -> ModelConfig:
    return ModelConfig(
        name="two",
        inputs=[
            TensorConfig("image", [1, 4, 4, 3], layout=InputLayout.image),
            TensorConfig("ids", [1, 6], InputDtype.int64),
        ],
    )


def test_several_inputs_come_from_one_npz_by_name_in_the_model_order(tmp_path):
    ids = np.arange(12).reshape(2, 6)
    image = np.ones((2, 4, 4, 3), np.float64)
    np.savez(tmp_path / "x.npz", ids=ids, image=image, extra=np.zeros(2))
    config = DataConfig(source=DataSource.arrays, eval_inputs=str(tmp_path / "x.npz"))
    dataset = arrays.build(config, _two_inputs())
    assert list(dataset.eval_inputs) == ["image", "ids"]
    assert dataset.eval_inputs["image"].dtype == np.float32
    assert (
        dataset.eval_inputs["ids"].dtype == np.int64 and (dataset.eval_inputs["ids"] == ids).all()
    )


def test_an_npz_without_an_input_or_one_array_for_two_inputs_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", image=np.ones((2, 4, 4, 3), np.float32))
    config = DataConfig(source=DataSource.arrays, eval_inputs=str(tmp_path / "x.npz"))
    with pytest.raises(
        PipelineError, match=r"holds \['image'\] but not the model inputs \['ids'\]"
    ):
        arrays.build(config, _two_inputs())
    with pytest.raises(PipelineError, match=r"is one array but the model takes \['image', 'ids'\]"):
        arrays.build(_data(tmp_path, np.ones((2, 4, 4, 3), np.float32)), _two_inputs())


def test_photo_calibration_samples_have_the_models_input_size_not_the_patch_size():
    """A .tflite calibrates at the size it is converted at (its resize ops' output size is
    fixed), so the calibration crops are cut at model.input_shape, not data.patch_size."""
    from pipelines.backends.tflite.export import check_calibration
    from pipelines.data import photos

    model = ModelConfig(name="sr", input_shape=[1, 20, 16, 3], arch={"scale": 2})
    config = DataConfig(
        source=DataSource.photos,
        train_images=["astronaut", "coffee"],
        eval_images=["chelsea"],
        train_patches=6,
        patch_size=8,
        calibration_pool=5,
    )
    dataset = photos.build(config, model)
    assert dataset.train_inputs is not None and dataset.train_inputs.shape == (6, 8, 8, 3)
    assert dataset.calibration["input"].shape == (5, 20, 16, 3)
    check_calibration(dataset.calibration, model)
    with pytest.raises(PipelineError) as caught:
        check_calibration({"input": dataset.train_inputs}, model)
    assert str(caught.value) == (
        "calibration samples of 'input' have shape [8, 8, 3] but the .tflite is converted at "
        "[20, 16, 3] (give calibration samples of that shape, or run the checkpoint stage again "
        "to cut them)"
    )


def test_a_photo_trained_on_under_another_name_is_refused_as_evaluation_data():
    """scikit-image ships the same chessboard pixels as chessboard_GRAY and chessboard_RGB."""
    from pipelines import data

    model = ModelConfig(name="sr", input_shape=[1, 8, 8, 3], arch={"scale": 2})
    config = DataConfig(
        source=DataSource.photos,
        train_images=["coffee", "chessboard_GRAY"],
        eval_images=["rocket", "chessboard_RGB"],
        train_patches=2,
        patch_size=8,
        calibration_pool=2,
    )
    with pytest.raises(PipelineError) as caught:
        data.build(config, model)
    assert str(caught.value) == (
        "evaluation source 'chessboard_RGB' has the same content as 'chessboard_GRAY' in the "
        "training set, so the evaluation would not be held out (make data.train_images and "
        "data.eval_images share nothing)"
    )
    config.eval_images = ["rocket"]
    dataset = data.build(config, model)
    assert set(dataset.train_sources) == {"coffee", "chessboard_GRAY"}
    assert set(dataset.eval_sources) == {"rocket"}


def test_a_photo_named_in_both_lists_is_refused_by_the_config():
    from pipelines.config import ConfigError

    config = DataConfig(source=DataSource.photos, train_images=["coffee"], eval_images=["coffee"])
    with pytest.raises(ConfigError) as caught:
        config.check()
    assert str(caught.value) == (
        "data.eval_images=['coffee'] is invalid: allowed values are photos not in "
        "data.train_images (the evaluation must be held out)"
    )


def test_a_sample_in_both_splits_is_refused_whatever_its_label():
    from pipelines.data.held_out import hashed, refuse_shared

    samples = np.arange(12, dtype=np.float32).reshape(3, 4)
    train = hashed((f"digit {i}", samples[i]) for i in (0, 1))
    refuse_shared(train, hashed([("digit 2", samples[2])]), "data.seed")
    with pytest.raises(PipelineError, match="'digit 7' has the same content as 'digit 1'"):
        refuse_shared(train, hashed([("digit 7", samples[1].copy())]), "data.seed")
    # the same values in another dtype are another sample
    refuse_shared(train, hashed([("digit 8", samples[1].astype(np.float64))]), "data.seed")
