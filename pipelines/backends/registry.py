"""Every artifact the pipeline builds, and which Python runner and C++ program run it."""

from dataclasses import dataclass
from pathlib import Path

from hydra.utils import get_class

from pipelines import paths, sidecar
from pipelines.config import Config, Framework

PYTHON_RUNNERS = {
    "keras": "pipelines.backends.keras.runner.KerasRunner",
    "savedmodel": "pipelines.backends.tf.runner.SavedModelRunner",
    "frozen": "pipelines.backends.tf.runner.FrozenGraphRunner",
    "tflite": "pipelines.backends.tflite.runner.LiteRTRunner",
    "torch": "pipelines.backends.torch.runner.TorchEagerRunner",
    "torchscript": "pipelines.backends.torch.runner.TorchExportRunner",
}


@dataclass(frozen=True)
class Artifact:
    """One model file (or directory) the evaluation runs."""

    name: str  # e.g. "tflite/int8", used as the row name
    kind: str  # tolerance key: keras, torch, savedmodel, frozen, <quant mode>, <export method>
    framework: Framework
    path: Path
    python_runner: str  # key of PYTHON_RUNNERS
    cpp_program: str | None
    reference: bool = False

    @property
    def layout(self) -> str:
        return "NCHW" if self.framework is Framework.torch else "NHWC"


def artifacts(cfg: Config) -> list[Artifact]:
    """What this configuration builds, originals first; artifacts a stage skipped are left out."""
    found: list[Artifact] = []
    if cfg.model.uses_tf:
        found += [
            Artifact(
                "keras/checkpoint",
                "keras",
                Framework.tf,
                paths.TF_CHECKPOINT,
                "keras",
                None,
                reference=True,
            ),
            Artifact(
                "tf/savedmodel",
                "savedmodel",
                Framework.tf,
                paths.SAVEDMODEL_DIR,
                "savedmodel",
                "tf_runner",
            ),
            Artifact(
                "tf/frozen", "frozen", Framework.tf, paths.FROZEN_GRAPH, "frozen", "tf_runner"
            ),
        ]
        found += [
            Artifact(
                f"tflite/{m.name}",
                m.name,
                Framework.tf,
                paths.tflite_model(m),
                "tflite",
                "litert_runner",
            )
            for m in cfg.quantize.modes
        ]
    if cfg.model.uses_torch:
        found.append(
            Artifact(
                "torch/eager",
                "torch",
                Framework.torch,
                paths.TORCH_WEIGHTS,
                "torch",
                None,
                reference=True,
            )
        )
        found += [
            Artifact(
                f"torch/{m.name}",
                m.name,
                Framework.torch,
                paths.torch_model(m),
                "torchscript",
                "torch_runner",
            )
            for m in cfg.trace.methods
        ]
    return [a for a in found if a.reference or not sidecar.skipped_reason(a.path)]


def python_runner(name: str, model_path: Path, cfg: Config):
    """Instantiate the Python runner registered as `name` (or a dotted class path)."""
    return get_class(PYTHON_RUNNERS.get(name, name))(model_path, cfg.model)
