"""Every artifact the pipeline builds, and which Python runner and C++ program run it.

Importing this module imports no framework: each runner module imports TensorFlow, LiteRT or
PyTorch inside its methods.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from hydra.utils import get_class

from pipelines import paths, sidecar
from pipelines.backends.base import Runner
from pipelines.backends.keras.runner import KerasRunner
from pipelines.backends.tf.runner import (
    FrozenGraphBf16Runner,
    FrozenGraphRunner,
    SavedModelBf16Runner,
    SavedModelRunner,
)
from pipelines.backends.tflite.runner import LiteRTRunner
from pipelines.backends.torch.runner import TorchEagerRunner, TorchExportRunner
from pipelines.config import Config, CppRuntime, Framework, ModelConfig

RunnerFactory = Callable[[Path, ModelConfig], Runner]
PYTHON_RUNNERS: dict[str, RunnerFactory] = {
    "keras": KerasRunner,
    "savedmodel": SavedModelRunner,
    "frozen": FrozenGraphRunner,
    "savedmodel_bf16": SavedModelBf16Runner,  # oneDNN bfloat16 auto-mixed-precision on
    "frozen_bf16": FrozenGraphBf16Runner,
    "tflite": LiteRTRunner,
    "torch": TorchEagerRunner,
    "torch_export": TorchExportRunner,  # TorchScript .pt or AOTInductor .pt2
}
# The original models every other artifact is compared with, by artifact name.
KERAS_ORIGINAL, TORCH_ORIGINAL = "keras/checkpoint", "torch/eager"


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """One model file (or directory) the evaluation runs."""

    name: str  # e.g. "tflite/int8", used as the row name
    kind: str  # tolerance key: keras, torch, savedmodel, frozen, <quant mode>, <export method>
    framework: Framework
    path: Path
    python_runner: str  # key of PYTHON_RUNNERS
    cpp_runtime: CppRuntime | None  # the C++ runner that runs it
    reference: bool = False
    image: bool = True  # the model's input is an image (model.input_layout)
    cpp_flags: tuple[str, ...] = ()  # what the C++ runner is told besides the model

    @property
    def layout(self) -> str:
        """How this artifact takes an image (NCHW in PyTorch, NHWC in TF), "" for other inputs,
        which every framework takes as they are."""
        if not self.image:
            return ""
        return "NCHW" if self.framework is Framework.torch else "NHWC"


def _original(name: str, framework: Framework, path: Path, runner: str) -> Artifact:
    """An original model, run in Python only; `runner` is also its tolerance key."""
    return Artifact(
        name=name,
        kind=runner,
        framework=framework,
        path=path,
        python_runner=runner,
        cpp_runtime=None,
        reference=True,
    )


def _exports(
    framework: Framework,
    group: str,
    variants: dict[str, Path],
    runner: str,
    cpp_runtime: CppRuntime,
) -> list[Artifact]:
    """The artifacts `<group>/<variant>` of one export stage; a variant is also its tolerance key."""
    return [
        Artifact(
            name=f"{group}/{variant}",
            kind=variant,
            framework=framework,
            path=path,
            python_runner=runner,
            cpp_runtime=cpp_runtime,
        )
        for variant, path in variants.items()
    ]


def _in_bf16(artifact: Artifact) -> Artifact:
    """A TF artifact run with oneDNN bfloat16 auto-mixed-precision: `<name>_bf16`, by the
    `<runner>_bf16` Python runner and `tf_runner --bf16`."""
    return replace(
        artifact,
        name=f"{artifact.name}_bf16",
        kind=f"{artifact.kind}_bf16",
        python_runner=f"{artifact.python_runner}_bf16",
        cpp_flags=("--bf16",),
    )


def artifacts(cfg: Config) -> list[Artifact]:
    """What this configuration builds, originals first; artifacts a stage skipped are left out."""
    return [a for a in configured(cfg) if a.reference or not sidecar.skipped_reason(a.path)]


def not_applicable(cfg: Config) -> dict[str, str]:
    """The artifacts this network cannot be exported as, by name, with the reason."""
    found = {a.name: sidecar.not_applicable_reason(a.path) for a in configured(cfg)}
    return {name: reason for name, reason in found.items() if reason}


def configured(cfg: Config) -> list[Artifact]:
    """Every artifact this configuration asks for, originals first."""
    tf, torch = Framework.tf, Framework.torch
    found: list[Artifact] = []
    if cfg.model.uses_tf:
        quantized = {mode.name: paths.tflite_model(mode) for mode in cfg.quantize.modes}
        found += [
            _original(KERAS_ORIGINAL, tf, paths.TF_CHECKPOINT, "keras"),
            *_exports(tf, "tf", {"savedmodel": paths.SAVEDMODEL_DIR}, "savedmodel", CppRuntime.tf),
            *_exports(tf, "tf", {"frozen": paths.FROZEN_GRAPH}, "frozen", CppRuntime.tf),
            *_exports(tf, "tflite", quantized, "tflite", CppRuntime.litert),
        ]
        if cfg.evaluate.tf_bf16:
            found += [_in_bf16(a) for a in found if a.kind in ("savedmodel", "frozen")]
    if cfg.model.uses_torch:
        exported = {method.name: paths.torch_model(method) for method in cfg.trace.methods}
        found += [
            _original(TORCH_ORIGINAL, torch, paths.TORCH_WEIGHTS, "torch"),
            *_exports(torch, "torch", exported, "torch_export", CppRuntime.torch),
        ]
    return found if cfg.model.is_image else [replace(a, image=False) for a in found]


def python_runner(name: str, model_path: Path, cfg: Config) -> Runner:
    """The Python runner registered as `name`, or the class at the dotted path `name` (a runner
    of your own, constructed like the registered ones), for `model_path`."""
    factory = PYTHON_RUNNERS.get(name) or cast(RunnerFactory, get_class(name))
    return factory(model_path, cfg.model)
