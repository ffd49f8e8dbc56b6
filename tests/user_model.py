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


def build_keras_outlier_channel(width: int = 32, size: int = 16, outlier: float = 1000.0):
    """A network plain int8 cannot hold: one channel of `wide` is `outlier` times larger than
    the others, and `mix` ignores it. Per-tensor activation scales sized for that channel round
    every other channel to zero, so only keeping `wide` and `mix` (two 1x1 convolutions) in
    float recovers the output; the four 3x3 convolutions around them, where the time goes, are
    ordinary layers int8 holds well."""
    import keras
    import numpy as np
    from keras import layers

    image = keras.Input(shape=(size, size, 3), name="input")
    stem = layers.Conv2D(width, 3, padding="same", activation="relu", name="stem")
    body = layers.Conv2D(width, 3, padding="same", activation="relu", name="body")
    wide = layers.Conv2D(width, 1, name="wide")
    mix = layers.Conv2D(width, 1, activation="relu", name="mix")
    tail = layers.Conv2D(width, 3, padding="same", activation="relu", name="tail")
    head = layers.Conv2D(3, 3, padding="same", name="head")
    model = keras.Model(image, head(tail(mix(wide(body(stem(image)))))))
    rng = np.random.default_rng(0)
    for layer in (stem, body, wide, mix, tail, head):
        kernel, bias = layer.get_weights()
        fan_in = np.prod(kernel.shape[:3])
        layer.set_weights([rng.normal(0, fan_in**-0.5, kernel.shape).astype("float32"), bias])
    kernel, bias = wide.get_weights()
    kernel[..., 0] *= outlier
    wide.set_weights([kernel, bias])
    kernel, bias = mix.get_weights()
    kernel[:, :, 0, :] = 0.0  # the outlier channel feeds nothing
    mix.set_weights([kernel, bias])
    return model
