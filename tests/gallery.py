"""A gallery of the architectures people deploy, small enough for CI, as a user's own code.

Keras builders and PyTorch modules taking an image (NHWC in Keras, NCHW in PyTorch), a sequence
of feature vectors, token ids, or an image and token ids together (two inputs, two outputs).
Weights are random: the pipeline judges each artifact against its own original model.
"""

import torch
from torch import nn


def keras_mobilenet(classes: int = 10):
    """Keras Applications MobileNetV2 without downloaded weights: depthwise separable
    convolutions, batch norm, ReLU6, global average pooling and a softmax head."""
    import keras

    return keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=classes
    )


class ResNet(nn.Module):
    """A ResNet-style classifier: residual blocks of conv-batchnorm-ReLU, a strided stage,
    global average pooling and a linear head (run in eval mode, so batch norm is folded)."""

    def __init__(self, width: int = 16, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.block1 = _residual(width)
        self.down = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
        )
        self.block2 = _residual(2 * width)
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = torch.relu(h + self.block1(h))
        h = self.down(h)
        h = torch.relu(h + self.block2(h))
        return self.head(h.mean(dim=(2, 3)))


def _residual(width: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
    )


def keras_unet(width: int = 8):
    """An encoder-decoder: two strided levels down, transposed convolutions up, skip
    concatenations at each level (the output has the input's size)."""
    import keras
    from keras import layers

    image = keras.Input(shape=(None, None, 3), name="input")
    e1 = layers.Conv2D(width, 3, padding="same", activation="relu")(image)
    e2 = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu")(e1)
    bottom = layers.Conv2D(4 * width, 3, strides=2, padding="same", activation="relu")(e2)
    u2 = layers.Conv2DTranspose(2 * width, 2, strides=2, padding="same")(bottom)
    d2 = layers.Conv2D(2 * width, 3, padding="same", activation="relu")(
        layers.Concatenate()([u2, e2])
    )
    u1 = layers.Conv2DTranspose(width, 2, strides=2, padding="same")(d2)
    d1 = layers.Conv2D(width, 3, padding="same", activation="relu")(layers.Concatenate()([u1, e1]))
    return keras.Model(image, layers.Conv2D(3, 1)(d1))


class UNet(nn.Module):
    """The PyTorch encoder-decoder of the same shape as :func:`keras_unet`."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.e1 = nn.Conv2d(3, width, 3, padding=1)
        self.e2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.bottom = nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1)
        self.u2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.d2 = nn.Conv2d(4 * width, 2 * width, 3, padding=1)
        self.u1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.d1 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.out = nn.Conv2d(width, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = torch.relu(self.e1(x))
        e2 = torch.relu(self.e2(e1))
        bottom = torch.relu(self.bottom(e2))
        d2 = torch.relu(self.d2(torch.cat([self.u2(bottom), e2], dim=1)))
        d1 = torch.relu(self.d1(torch.cat([self.u1(d2), e1], dim=1)))
        return self.out(d1)


def keras_attention(dim: int = 32, heads: int = 4, classes: int = 10):
    """A vision-transformer block: 4x4 patches embedded by a strided convolution, a Keras
    MultiHeadAttention layer with residual and layer norm, an MLP, mean pooling and a head."""
    import keras
    from keras import layers

    image = keras.Input(shape=(32, 32, 3), name="input")
    tokens = layers.Reshape((64, dim))(layers.Conv2D(dim, 4, strides=4)(image))
    attended = layers.MultiHeadAttention(num_heads=heads, key_dim=dim // heads)(tokens, tokens)
    h = layers.LayerNormalization()(tokens + attended)
    h = layers.LayerNormalization()(
        h + layers.Dense(dim)(layers.Dense(2 * dim, activation="gelu")(h))
    )
    return keras.Model(image, layers.Dense(classes)(layers.GlobalAveragePooling1D()(h)))


class TransformerClassifier(nn.Module):
    """The PyTorch vision transformer: patch embedding, an nn.TransformerEncoder of two layers,
    mean pooling over patches and a linear head."""

    def __init__(self, dim: int = 32, heads: int = 4, classes: int = 10):
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 4, stride=4)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        return self.head(self.encoder(tokens).mean(dim=1))


def keras_token_classifier(vocabulary: int = 100, dim: int = 16, classes: int = 4):
    """Token ids in (int32), an Embedding, a 1-D convolution, global pooling and a head."""
    import keras
    from keras import layers

    tokens = keras.Input(shape=(16,), dtype="int32", name="input")
    h = layers.Conv1D(dim, 3, padding="same", activation="relu")(
        layers.Embedding(vocabulary, dim)(tokens)
    )
    return keras.Model(tokens, layers.Dense(classes)(layers.GlobalAveragePooling1D()(h)))


class TokenClassifier(nn.Module):
    """Token ids in, an nn.Embedding, an nn.TransformerEncoder layer, mean pooling and a head."""

    def __init__(self, vocabulary: int = 100, dim: int = 16, classes: int = 4):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, dim)
        layer = nn.TransformerEncoderLayer(dim, 2, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def keras_recurrent(units: int = 16, outputs: int = 4):
    """An LSTM over a [steps, features] sequence, then a head. unroll=True: the TFLite converter
    cannot lower the loop of a rolled recurrent layer over a dynamic batch (it says so)."""
    import keras
    from keras import layers

    frames = keras.Input(shape=(12, 6), name="input")
    return keras.Model(frames, layers.Dense(outputs)(layers.LSTM(units, unroll=True)(frames)))


class RecurrentRegressor(nn.Module):
    """An nn.GRU over a [steps, features] sequence, then a head on the last state."""

    def __init__(self, units: int = 16, outputs: int = 4):
        super().__init__()
        self.gru = nn.GRU(6, units, batch_first=True)
        self.head = nn.Linear(units, outputs)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(frames)
        return self.head(last[-1])


def keras_two_in_two_out(vocabulary: int = 50, dim: int = 8, classes: int = 4):
    """An image and token ids in; class logits and a per-pixel mask out (the ids' mean
    embedding gates the image features of the mask)."""
    import keras
    from keras import layers

    image = keras.Input(shape=(32, 32, 3), name="image")
    ids = keras.Input(shape=(8,), dtype="int32", name="ids")
    features = layers.Conv2D(dim, 3, padding="same", activation="relu")(image)
    context = layers.GlobalAveragePooling1D()(layers.Embedding(vocabulary, dim)(ids))
    pooled = layers.GlobalAveragePooling2D()(features)
    logits = layers.Dense(classes)(layers.Concatenate()([pooled, context]))
    gated = features * layers.Reshape((1, 1, dim))(context)
    mask = layers.Conv2D(1, 1, activation="sigmoid")(gated)
    return keras.Model([image, ids], [logits, mask])


class TwoInTwoOut(nn.Module):
    """The PyTorch two-input, two-output network: forward(image, ids) -> (logits, mask)."""

    def __init__(self, vocabulary: int = 50, dim: int = 8, classes: int = 4):
        super().__init__()
        self.features = nn.Conv2d(3, dim, 3, padding=1)
        self.embed = nn.Embedding(vocabulary, dim)
        self.head = nn.Linear(2 * dim, classes)
        self.to_mask = nn.Conv2d(dim, 1, 1)

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.relu(self.features(image))
        context = self.embed(ids).mean(dim=1)
        logits = self.head(torch.cat([features.mean(dim=(2, 3)), context], dim=1))
        mask = torch.sigmoid(self.to_mask(features * context[:, :, None, None]))
        return logits, mask
