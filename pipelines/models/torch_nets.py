"""PyTorch versions of the bundled networks (twins of keras_nets.py, layer for layer).

Modules are registered in the same order as the Keras layers with weights, which is what
pipelines.models.port relies on to copy weights across.
"""

import torch
import torch.nn.functional as F
from torch import nn


class SuperResolution(nn.Module):
    def __init__(self, width: int = 64, blocks: int = 3, scale: int = 2, channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(blocks):
            layers += [nn.Conv2d(channels if index == 0 else width, width, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.to_image = nn.Conv2d(width, channels, 3, padding=1)
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = F.interpolate(
            self.body(x), scale_factor=self.scale, mode="bilinear", align_corners=False
        )
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.to_image(features)


class DigitsClassifier(nn.Module):
    def __init__(self, width: int = 32, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.ReLU(),
        )
        self.logits = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x).mean(dim=(2, 3)))
