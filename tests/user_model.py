"""Networks defined outside the package, as a user's own code would be."""

import torch
from torch import nn


def build_keras(width: int = 8):
    """A small image-to-image network (same size in and out)."""
    import keras

    image = keras.Input(shape=(None, None, 3), name="input")
    h = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(image)
    return keras.Model(image, keras.layers.Conv2D(3, 3, padding="same")(h))


class UserNet(nn.Module):
    """The PyTorch twin of build_keras."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.conv0 = nn.Conv2d(3, width, 3, padding=1)
        self.conv1 = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(torch.relu(self.conv0(x)))


def build_keras_with_unsupported_op(width: int = 8):
    """Uses tf.math.erfinv, an op the TFLite converter has no kernel for."""
    import keras
    import tensorflow as tf

    class Erfinv(keras.layers.Layer):
        def call(self, x):
            return tf.math.erfinv(tf.tanh(x) * 0.5)

    image = keras.Input(shape=(None, None, 3), name="input")
    h = keras.layers.Conv2D(width, 3, padding="same")(image)
    return keras.Model(image, keras.layers.Conv2D(3, 3, padding="same")(Erfinv()(h)))


def build_keras_lstm(units: int = 4):
    """An LSTM reading image rows (its loop is a TensorList the converter cannot lower over a
    dynamic batch)."""
    import keras

    image = keras.Input(shape=(8, 4, 3), name="input")
    rows = keras.layers.Reshape((8, 12))(image)
    return keras.Model(image, keras.layers.LSTM(units)(rows))


class ShapeTrap(nn.Module):
    """Upsamples to int(x.shape[2]) * 2: tracing bakes the example's size in."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (int(x.shape[2]) * 2, int(x.shape[3]) * 2)
        return self.conv(
            nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        )


class DeviceBound(nn.Module):
    """Creates a tensor on a hard-coded device inside forward()."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + torch.ones(1, device="cpu")
