"""Keras versions of the bundled networks (twins of torch_nets.py, layer for layer)."""

import keras
import tensorflow as tf


class Upsample(keras.layers.Layer):
    """Bilinear resize by an integer factor that keeps height and width dynamic.

    keras.layers.UpSampling2D(interpolation="bilinear") cannot trace with unknown spatial sizes
    in Keras 3; tf.image.resize on the runtime shape can, and matches
    torch.nn.functional.interpolate(mode="bilinear", align_corners=False).
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return tf.image.resize(x, self.factor * tf.shape(x)[1:3], method="bilinear")


def super_resolution(width: int = 64, blocks: int = 3, scale: int = 2, channels: int = 3):
    """Convolutions at low resolution, bilinear upsampling, one output convolution, plus a
    bilinear skip connection so the network learns only the missing detail."""
    image = keras.Input(shape=(None, None, channels), name="input")
    features = image
    for index in range(blocks):
        features = keras.layers.Conv2D(
            width, 3, padding="same", activation="relu", name=f"conv{index}"
        )(features)
    features = Upsample(scale, name="upsample")(features)
    detail = keras.layers.Conv2D(channels, 3, padding="same", name="to_image")(features)
    base = Upsample(scale, name="skip")(image)
    return keras.Model(image, keras.layers.Add(name="residual")([base, detail]), name="sr")


def digits_classifier(width: int = 32, classes: int = 10):
    """Three convolutions, one max-pool, global average pooling and a linear classifier."""
    image = keras.Input(shape=(None, None, 1), name="input")
    h = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="conv0")(image)
    h = keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="conv1")(h)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    logits = keras.layers.Dense(classes, name="logits")(h)
    return keras.Model(image, logits, name="digits")
