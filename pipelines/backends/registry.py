"""Every artifact the pipeline builds, and which Python runner and C++ program run it."""

from dataclasses import dataclass
from pathlib import Path

from hydra.utils import get_class

from pipelines import paths, sidecar
from pipelines.config import Config, CppRuntime, Framework

PYTHON_RUNNERS = {
    "keras": "pipelines.backends.keras.runner.KerasRunner",
    "savedmodel": "pipelines.backends.tf.runner.SavedModelRunner",
    "frozen": "pipelines.backends.tf.runner.FrozenGraphRunner",
    "tflite": "pipelines.backends.tflite.runner.LiteRTRunner",
    "torch": "pipelines.backends.torch.runner.TorchEagerRunner",
    "torchscript": "pipelines.backends.torch.runner.TorchExportRunner",
}
# The original models every other artifact is compared with, by artifact name.
KERAS_ORIGINAL, TORCH_ORIGINAL = "keras/checkpoint", "torch/eager"


@dataclass(frozen=True)
class Artifact:
    """One model file (or directory) the evaluation runs."""

    name: str  # e.g. "tflite/int8", used as the row name
    kind: str  # tolerance key: keras, torch, savedmodel, frozen, <quant mode>, <export method>
    framework: Framework
    path: Path
    python_runner: str  # key of PYTHON_RUNNERS
    cpp_runtime: CppRuntime | None  # the C++ runner that runs it
    reference: bool = False

    @property
    def layout(self) -> str:
        return "NCHW" if self.framework is Framework.torch else "NHWC"


def artifacts(cfg: Config) -> list[Artifact]:
    """What this configuration builds, originals first; artifacts a stage skipped are left out."""
    tf, torch = Framework.tf, Framework.torch
    found: list[Artifact] = []
    if cfg.model.uses_tf:
        found.append(
            Artifact(KERAS_ORIGINAL, "keras", tf, paths.TF_CHECKPOINT, "keras", None, True)
        )
        found.append(
            Artifact(
                "tf/savedmodel", "savedmodel", tf, paths.SAVEDMODEL_DIR, "savedmodel", CppRuntime.tf
            )
        )
        found.append(
            Artifact("tf/frozen", "frozen", tf, paths.FROZEN_GRAPH, "frozen", CppRuntime.tf)
        )
        for mode in cfg.quantize.modes:
            path = paths.tflite_model(mode)
            found.append(
                Artifact(f"tflite/{mode.name}", mode.name, tf, path, "tflite", CppRuntime.litert)
            )
    if cfg.model.uses_torch:
        found.append(
            Artifact(TORCH_ORIGINAL, "torch", torch, paths.TORCH_WEIGHTS, "torch", None, True)
        )
        for method in cfg.trace.methods:
            path = paths.torch_model(method)
            found.append(
                Artifact(
                    f"torch/{method.name}",
                    method.name,
                    torch,
                    path,
                    "torchscript",
                    CppRuntime.torch,
                )
            )
    return [a for a in found if a.reference or not sidecar.skipped_reason(a.path)]


def python_runner(name: str, model_path: Path, cfg: Config):
    """Instantiate the Python runner registered as `name` (or a dotted class path)."""
    return get_class(PYTHON_RUNNERS.get(name, name))(model_path, cfg.model)
