"""Copy weights from a Keras network into its PyTorch twin."""

import numpy as np

from pipelines.errors import PipelineError


def keras_to_torch(keras_model, torch_module) -> int:
    """Copy Conv2D/Dense weights, in layer order, into the twin's Conv2d/Linear modules.

    Returns the number of layers copied. Kernels are transposed from Keras' HWIO (and in, out)
    layouts to PyTorch's OIHW (and out, in).
    """
    import torch
    from torch import nn

    sources = [layer for layer in keras_model.layers if layer.get_weights()]
    targets = [m for m in torch_module.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    if len(sources) != len(targets):
        raise PipelineError(
            f"cannot share weights: the Keras model has {len(sources)} layers with weights, the "
            f"PyTorch twin {len(targets)} (make the twins match, or set model.share_weights=false)"
        )
    with torch.no_grad():
        for source, target in zip(sources, targets, strict=True):
            kernel, bias = source.get_weights()
            weight = kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            if tuple(weight.shape) != tuple(target.weight.shape):
                raise PipelineError(
                    f"cannot share weights: Keras layer {source.name} gives {weight.shape}, PyTorch "
                    f"expects {tuple(target.weight.shape)} (make the twins match, or set "
                    "model.share_weights=false)"
                )
            target.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
            assert target.bias is not None, f"{target} has no bias but {source.name} does"
            target.bias.copy_(torch.from_numpy(bias))
    return len(sources)
