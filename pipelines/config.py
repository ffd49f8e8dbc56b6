"""Typed configuration: the dataclasses behind conf/, registered in Hydra's ConfigStore.

conf/ fills these schemas; params.yaml is their composition (``python -m pipelines.compose`` or
``dvc exp run``). Stages read params.yaml through :func:`load`, which type-checks it against the
schema and range-checks it, so a bad value stops the pipeline before any work with one line that
names the key, the value and what is allowed.
"""

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipelines.code import network_file


class ConfigError(ValueError):
    """A configuration value is missing, mistyped or out of range."""


class Task(Enum):
    super_resolution = "super_resolution"
    classification = "classification"
    generic = "generic"


class Framework(Enum):
    tf = "tf"
    torch = "torch"


class DataSource(Enum):
    photos = "photos"
    digits = "digits"
    arrays = "arrays"


class InputDtype(Enum):
    """What the model's input holds: real values, or integers such as token ids."""

    float32 = "float32"
    int32 = "int32"
    int64 = "int64"


class InputLayout(Enum):
    """image: [1, height, width, channels] in Keras/TF, [1, channels, height, width] in PyTorch
    (the pipeline converts); none: the same tensor in both (sequences, token ids, features)."""

    image = "image"
    none = "none"


class QuantMode(Enum):
    """TFLite conversion modes; `uint8` is full-integer with uint8 input/output (the original post)."""

    float32 = "float32"
    dynamic = "dynamic"
    float16 = "float16"
    int8 = "int8"
    uint8 = "uint8"
    # full-integer with the fewest layers kept in float that meet the accuracy target
    int8_selective = "int8_selective"


class ExportMethod(Enum):
    """PyTorch exports: TorchScript by tracing or scripting, or an AOTInductor .pt2 package
    (aoti_int8: quantized to int8 first, PT2E post-training static quantization; aoti_bf16:
    computing in bfloat16 behind float32 inputs and outputs)."""

    trace = "trace"
    script = "script"
    aoti = "aoti"
    aoti_int8 = "aoti_int8"
    aoti_bf16 = "aoti_bf16"

    @property
    def is_aoti(self) -> bool:
        """Whether the export is an AOTInductor package (torch.export, compiled for the CPU)."""
        return self in (ExportMethod.aoti, ExportMethod.aoti_int8, ExportMethod.aoti_bf16)


class BuildType(Enum):
    Release = "Release"
    RelWithDebInfo = "RelWithDebInfo"
    Debug = "Debug"


class CppRuntime(Enum):
    torch = "torch"
    tf = "tf"
    litert = "litert"


class Platform(Enum):
    """Where a deploy bundle runs (package.platforms)."""

    x86_64 = "x86_64"
    aarch64 = "aarch64"


class Workspace(Enum):
    """Where a sweep job runs its experiment."""

    temp = "temp"  # `dvc exp run --temp` beside this checkout, sharing its cache
    clone = "clone"  # a fresh git clone sharing only the DVC remote (scale-out)


class Language(Enum):
    python = "python"
    cpp = "cpp"


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: allowed values are {allowed}")


# One compiler flag: `-`, then characters no shell treats specially. This check is the only guard:
# CMake copies CMAKE_CXX_FLAGS into the command lines of its generated Makefiles, which make hands
# to /bin/sh, so `;`, `|`, `&`, quotes, backticks or `$` in a flag would run as shell commands.
CXX_FLAG = re.compile(r"-[A-Za-z0-9_=.,+:/-]+")
# A QEMU CPU model name, passed as one argument to qemu-aarch64 -cpu.
QEMU_CPU = re.compile(r"[a-z][a-z0-9-]*(,[a-z0-9]+=[a-z0-9]+)*")  # max,sme=off
# A DVC remote name, which the sweep passes as an argument (never an option) to `dvc remote`.
REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass
class BuilderConfig:
    """A network-building callable, named the Hydra way (`module.function` or `module.Class`)."""

    _target_: str = MISSING


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0

    def check(self) -> None:
        _require(self.epochs >= 0, "model.train.epochs", self.epochs, "integers >= 0")
        _require(self.batch_size > 0, "model.train.batch_size", self.batch_size, "integers > 0")
        _require(
            self.learning_rate > 0, "model.train.learning_rate", self.learning_rate, "numbers > 0"
        )


@dataclass
class TensorConfig:
    """One named model input: batch-1 shape, dtype and layout (see InputLayout)."""

    name: str = MISSING
    shape: list[int] = MISSING
    dtype: InputDtype = InputDtype.float32
    layout: InputLayout = InputLayout.none

    def check(self, keys: dict[str, str]) -> None:
        """Check the fields, naming them by `keys` (field -> the config key that sets it)."""
        _require(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name) is not None,
            keys["name"],
            self.name,
            "identifiers (a letter, then letters, digits or _)",
        )
        shape = list(self.shape)
        if self.layout is InputLayout.image:
            _require(
                len(shape) == 4 and shape[0] == 1 and all(d > 0 for d in shape),
                keys["shape"],
                shape,
                f"[1, height, width, channels] with positive sizes (or set {keys['layout']}=none "
                "for a sequence, token or feature input)",
            )
        _require(
            len(shape) >= 1 and shape[0] == 1 and all(d > 0 for d in shape),
            keys["shape"],
            shape,
            "[1, ...] with positive sizes (batch 1 first)",
        )


@dataclass
class ModelConfig:
    """The reference network, built the same way in Keras and PyTorch from `arch`."""

    name: str = MISSING
    task: Task = MISSING
    frameworks: list[Framework] = field(default_factory=lambda: [Framework.tf, Framework.torch])
    # null for a framework that is not in `frameworks`
    keras: BuilderConfig | None = field(default_factory=BuilderConfig)
    torch: BuilderConfig | None = field(default_factory=BuilderConfig)
    arch: dict[str, Any] = field(default_factory=dict)
    # One input: batch 1, the shape every exported artifact is verified and benchmarked at (an
    # image: NHWC), its dtype, layout and name.
    input_shape: list[int] | None = None
    input_dtype: InputDtype = InputDtype.float32
    input_layout: InputLayout = InputLayout.image
    input_name: str = "input"
    # Several inputs instead (then leave input_shape unset): in the order forward() and the
    # Keras model take them.
    inputs: list[TensorConfig] = field(default_factory=list)
    output_name: str = "output"
    # Several outputs instead: their names, in the order the network returns them. The first is
    # the one the task metric judges.
    outputs: list[str] = field(default_factory=list)
    # Your own model: restore these instead of training (null = train).
    tf_checkpoint: str | None = None
    torch_weights: str | None = None
    # Port the Keras weights into the PyTorch twin instead of training it separately.
    share_weights: bool = True
    train: TrainConfig = field(default_factory=TrainConfig)
    # Derived, not set by hand: the project file (or package folder) that defines each builder,
    # which dvc.yaml lists as a dependency of the stages that build the network.
    keras_code: str = "${network_file:${model.keras}}"
    torch_code: str = "${network_file:${model.torch}}"

    def check(self) -> None:
        for i, tensor in enumerate(self.inputs):
            tensor.check({k: f"model.inputs[{i}].{k}" for k in ("name", "shape", "layout")})
        _require(
            (self.input_shape is None) != (not self.inputs),
            "model.input_shape",
            self.input_shape,
            "a shape when model.inputs is empty, and null when model.inputs lists the inputs",
        )
        if not self.inputs:
            self.input_tensors[0].check(
                {"name": "model.input_name", "shape": "model.input_shape"}
                | {"layout": "model.input_layout"}
            )
        names = [t.name for t in self.input_tensors] + self.output_names
        for name in self.output_names:
            _require(
                re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) is not None,
                "model.outputs" if self.outputs else "model.output_name",
                name,
                "identifiers (a letter, then letters, digits or _)",
            )
        _require(
            len(set(names)) == len(names),
            "model.outputs" if self.outputs else "model.output_name",
            names,
            "names that differ from each other and from the input names",
        )
        _require(
            bool(self.frameworks),
            "model.frameworks",
            self.frameworks,
            "a non-empty subset of [tf, torch]",
        )
        for framework, key in ((Framework.tf, "keras"), (Framework.torch, "torch")):
            if framework in self.frameworks:
                _require(
                    getattr(self, key) is not None,
                    f"model.{key}",
                    None,
                    f"{{_target_: module.function}} while {framework.name} is in model.frameworks",
                )
        if Framework.torch in self.frameworks and Framework.tf not in self.frameworks:
            _require(
                not self.share_weights,
                "model.share_weights",
                self.share_weights,
                "false when the tf framework is off (there are no Keras weights to share)",
            )

    @property
    def input_tensors(self) -> list[TensorConfig]:
        """The model's inputs: `inputs`, or the one input the input_* keys describe."""
        if self.inputs:
            return list(self.inputs)
        return [
            TensorConfig(
                self.input_name, list(self.input_shape or []), self.input_dtype, self.input_layout
            )
        ]

    @property
    def output_names(self) -> list[str]:
        """The model's output names, in the order the network returns them."""
        return list(self.outputs) or [self.output_name]

    @property
    def is_image(self) -> bool:
        """Whether an input is an image (PyTorch takes it NCHW, Keras NHWC; 4-D outputs of
        such a model are images too)."""
        return any(t.layout is InputLayout.image for t in self.input_tensors)

    @property
    def uses_tf(self) -> bool:
        return Framework.tf in self.frameworks

    @property
    def uses_torch(self) -> bool:
        return Framework.torch in self.frameworks


@dataclass
class DataConfig:
    """Where training, calibration and held-out evaluation samples come from."""

    source: DataSource = MISSING
    seed: int = 0
    eval_samples: int = 16
    calibration_pool: int = 500
    # photos: scikit-image's bundled photos, by file name stem
    train_images: list[str] = field(default_factory=list)
    eval_images: list[str] = field(default_factory=list)
    train_patches: int = 3000
    # low-resolution side of a training crop (the network is fully convolutional)
    patch_size: int = 24
    # digits: scikit-learn's bundled digits
    test_fraction: float = 0.25
    # arrays: your own .npy files (model.input_shape per sample, stacked on a leading axis)
    eval_inputs: str | None = None
    eval_targets: str | None = None
    calibration_inputs: str | None = None

    def check(self) -> None:
        _require(self.eval_samples > 0, "data.eval_samples", self.eval_samples, "integers > 0")
        _require(
            self.calibration_pool > 0,
            "data.calibration_pool",
            self.calibration_pool,
            "integers > 0",
        )
        _require(self.train_patches > 0, "data.train_patches", self.train_patches, "integers > 0")
        _require(self.patch_size > 0, "data.patch_size", self.patch_size, "integers > 0")
        _require(
            0.0 < self.test_fraction < 1.0, "data.test_fraction", self.test_fraction, "0 < x < 1"
        )
        if self.source is DataSource.photos:
            _require(
                bool(self.train_images), "data.train_images", self.train_images, "a non-empty list"
            )
            _require(
                bool(self.eval_images), "data.eval_images", self.eval_images, "a non-empty list"
            )
            shared = sorted(set(self.train_images) & set(self.eval_images))
            _require(
                not shared,
                "data.eval_images",
                shared,
                "photos not in data.train_images (the evaluation must be held out)",
            )
        if self.source is DataSource.arrays:
            _require(
                bool(self.eval_inputs),
                "data.eval_inputs",
                self.eval_inputs,
                "a path to a .npy file",
            )


@dataclass
class QuantizeConfig:
    modes: list[QuantMode] = field(default_factory=lambda: list(QuantMode))
    calibration_samples: int = 200
    # Fail (instead of warn) when a mode leaves the model unchanged.
    fail_if_ineffective: bool = False

    def check(self) -> None:
        _require(
            self.calibration_samples > 0,
            "quantize.calibration_samples",
            self.calibration_samples,
            "integers > 0",
        )
        _require(
            len(set(self.modes)) == len(self.modes),
            "quantize.modes",
            [m.name for m in self.modes],
            "a list without repeats",
        )


@dataclass
class TraceConfig:
    methods: list[ExportMethod] = field(
        default_factory=lambda: [
            ExportMethod.trace,
            ExportMethod.aoti,
            ExportMethod.aoti_int8,
            ExportMethod.aoti_bf16,
        ]
    )
    # [height, width] pairs checked besides the traced size; empty = two derived sizes.
    check_sizes: list[list[int]] = field(default_factory=list)
    # Accept a TorchScript trace that only works at the traced size (recorded in the sidecar).
    allow_fixed_shape: bool = False
    atol: float = 1e-5
    # aoti_bf16 keeps 8 significant bits: its outputs must be within this share of the largest
    # output magnitude of eager float32 (the evaluation then judges it by the task metric).
    bf16_rtol: float = 0.05
    # "auto" traces on CUDA when it is available, else on the CPU.
    device: str = "auto"
    # torch.export dynamic height/width range for the AOTInductor package.
    min_size: int = 8
    max_size: int = 1024
    # aoti_int8 calibrates on the first this many of the calibration samples (the same samples
    # the TFLite int8 modes use; a trace key, so a quantize change reruns no trace variant)
    calibration_samples: int = 200

    def check(self) -> None:
        _require(
            len(set(self.methods)) == len(self.methods),
            "trace.methods",
            [m.name for m in self.methods],
            "a list without repeats",
        )
        for size in self.check_sizes:
            _require(
                len(size) == 2 and all(d > 0 for d in size),
                "trace.check_sizes",
                list(size),
                "[height, width] pairs of positive sizes",
            )
        _require(self.atol > 0, "trace.atol", self.atol, "numbers > 0")
        _require(self.bf16_rtol > 0, "trace.bf16_rtol", self.bf16_rtol, "numbers > 0")
        _require(
            self.calibration_samples > 0,
            "trace.calibration_samples",
            self.calibration_samples,
            "integers > 0",
        )
        _require(
            re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
            "trace.device",
            self.device,
            "auto, cpu, cuda or cuda:N",
        )
        _require(
            0 < self.min_size <= self.max_size,
            "trace.min_size",
            self.min_size,
            "0 < min_size <= max_size",
        )


@dataclass
class CppConfig:
    runtimes: list[CppRuntime] = field(default_factory=lambda: list(CppRuntime))
    build_type: BuildType = BuildType.Release
    cxx_flags: list[str] = field(default_factory=list)
    jobs: int = 2

    def check(self) -> None:
        _require(self.jobs > 0, "cpp.jobs", self.jobs, "integers > 0")
        for index, flag in enumerate(self.cxx_flags):
            _require(
                CXX_FLAG.fullmatch(flag) is not None,
                f"cpp.cxx_flags[{index}]",
                flag,
                "one flag per item: '-', then letters, digits and -_=.,+:/ "
                "(no spaces, quotes or shell characters), e.g. -O3 or -DNAME=1",
            )


@dataclass
class EvaluateConfig:
    languages: list[Language] = field(default_factory=lambda: list(Language))
    threads: int = 1
    warmup: int = 5
    # Timed runs per round; the cells take turns round after round (see evaluate/cells.py).
    runs: int = 10
    rounds: int = 3
    # Cells started and loaded at once: 1 keeps their load and first-run times undisturbed,
    # more finish the evaluation sooner on a machine with more cores.
    start_together: int = 1
    timeout_s: float = 600.0
    # Also run the SavedModel and the frozen graph with Grappler's oneDNN bfloat16
    # auto-mixed-precision (cells tf/savedmodel_bf16 and tf/frozen_bf16, Python and C++).
    tf_bf16: bool = True
    # Max abs error allowed per artifact kind; kinds not listed are judged by the task metric.
    tolerances: dict[str, float] = field(default_factory=dict)
    # Allowed drop of the task metric versus the original model, per task
    # (super_resolution: PSNR in dB, classification: accuracy in percentage points).
    max_metric_drop: dict[str, float] = field(default_factory=dict)
    # Without a task metric (a generic task, or no targets): the least signal-to-noise ratio,
    # in dB, of an artifact's outputs against the original's where no tolerance applies.
    min_snr_db: float = 20.0
    # Worst layers named from the TFLite quantization debugger for int8 modes.
    debug_layers: int = 5

    def check(self) -> None:
        _require(self.threads > 0, "evaluate.threads", self.threads, "integers > 0")
        _require(self.warmup >= 0, "evaluate.warmup", self.warmup, "integers >= 0")
        _require(self.runs > 0, "evaluate.runs", self.runs, "integers > 0")
        _require(self.rounds > 0, "evaluate.rounds", self.rounds, "integers > 0")
        _require(
            self.start_together > 0, "evaluate.start_together", self.start_together, "integers > 0"
        )
        _require(self.timeout_s > 0, "evaluate.timeout_s", self.timeout_s, "numbers > 0")
        for kind, tol in self.tolerances.items():
            _require(tol > 0, f"evaluate.tolerances.{kind}", tol, "numbers > 0")
        for task, drop in self.max_metric_drop.items():
            _require(
                task in Task.__members__,
                "evaluate.max_metric_drop",
                task,
                ", ".join(Task.__members__),
            )
            _require(drop >= 0, f"evaluate.max_metric_drop.{task}", drop, "numbers >= 0")


@dataclass
class SweepConfig:
    """Settings of `python -m pipelines.sweep` (no stage reads them)."""

    workspace: Workspace = Workspace.temp
    # DVC remote that clone workspaces pull from and push to (null: the default remote)
    remote: str | None = None
    # build the stages two or more jobs share once, before the jobs fan out
    prebuild: bool = True

    def check(self) -> None:
        _require(
            self.remote is None or REMOTE_NAME.fullmatch(self.remote) is not None,
            "sweep.remote",
            self.remote,
            "null or a DVC remote name (a letter or digit, then letters, digits and _.-)",
        )


# Raspberry Pi 3 and 4 (ARMv8.0), phone and server cores, and QEMU's newest without and with SME
ARM_CPUS = ("cortex-a53", "cortex-a72", "cortex-a76", "neoverse-n1", "max,sme=off", "max")


def packageable_names() -> list[str]:
    """Every artifact a C++ runner runs, by its evaluation name (tflite/int8, torch/aoti, ...)."""
    tf = [f"tf/{name}{bf16}" for name in ("savedmodel", "frozen") for bf16 in ("", "_bf16")]
    return [*tf, *(f"tflite/{m.name}" for m in QuantMode), *(f"torch/{m.name}" for m in ExportMethod)]


@dataclass
class PackageConfig:
    """What the `package` stage bundles for deployment (dist/<artifact>/ and its .tar.gz)."""

    # artifact names (tflite/int8, ...), `best` (per runtime, the fastest C++ cell that passed)
    # or `best:<runtime>` (best:litert: that runtime's only)
    artifacts: list[str] = field(default_factory=lambda: ["best"])
    # aarch64: LiteRT bundles cross-built for 64-bit ARM and proven under qemu-aarch64
    platforms: list[Platform] = field(default_factory=lambda: list(Platform))
    # the QEMU CPU models the ARM64 proof runs on: the cores a bundle is said to run on (or not)
    arm_cpus: list[str] = field(default_factory=lambda: list(ARM_CPUS))
    samples: int = 4  # evaluation samples shipped with each bundle, run by its example
    runs: int = 50  # timed runs of the example in the bundle's proof (its p50)

    def check(self) -> None:
        allowed = ["best", *(f"best:{r.name}" for r in CppRuntime), *packageable_names()]
        for index, name in enumerate(self.artifacts):
            _require(name in allowed, f"package.artifacts[{index}]", name, ", ".join(allowed))
        _require(len(set(self.artifacts)) == len(self.artifacts), "package.artifacts",
                 self.artifacts, "names without repeats")  # fmt: skip
        _require(self.samples > 0, "package.samples", self.samples, "integers > 0")
        _require(self.runs > 0, "package.runs", self.runs, "integers > 0")
        for index, cpu in enumerate(self.arm_cpus):
            _require(QEMU_CPU.fullmatch(cpu) is not None, f"package.arm_cpus[{index}]", cpu,
                     "QEMU CPU models (qemu-aarch64 -cpu help), e.g. cortex-a76, max,sme=off")  # fmt: skip


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    quantize: QuantizeConfig = field(default_factory=QuantizeConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    cpp: CppConfig = field(default_factory=CppConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    package: PackageConfig = field(default_factory=PackageConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)

    def check(self) -> None:
        """Range-check every section (types were checked by OmegaConf already)."""
        sections = (self.model, self.model.train, self.data, self.quantize, self.trace, self.cpp)
        for section in (*sections, self.evaluate, self.package, self.sweep):
            section.check()


# Resolves `${network_file:${model.keras}}` when Hydra (ours or DVC's) composes params.yaml.
OmegaConf.register_new_resolver("network_file", network_file, replace=True)


def register_configs() -> None:
    """Register the schema so conf/config.yaml can name it in its defaults list."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="ckpt2cpp_schema", node=Config)


def one_line(error: OmegaConfBaseException) -> str:
    """Format an OmegaConf error as `key: message (fix)` on one line."""
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        MissingMandatoryValue,
        ValidationError,
    )

    key = getattr(error, "full_key", None) or "config"
    message = str(error).splitlines()[0].strip()
    fixes = (
        ((ConfigKeyError, ConfigAttributeError), "check its spelling against conf/"),
        (MissingMandatoryValue, "set it in conf/ or as an override"),
        (ValidationError, "give a value of the type and choices conf/ declares for it"),
    )
    fix = next((text for kind, text in fixes if isinstance(error, kind)), None)
    if key.endswith("._target_") and "is not Optional" in message:
        builder = key.removesuffix("._target_")
        fix = f"to switch this builder off, null the builder itself: {builder}=null"
    return f"{key}: {message}" + (f" ({fix})" if fix and "expected one of" not in message else "")


def validate(raw: DictConfig | dict[str, Any]) -> Config:
    """Check a composed configuration against the schema and return it typed."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        typed = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise ConfigError(one_line(error)) from error
    assert isinstance(typed, Config)
    typed.check()
    return typed


def load(path: str | Path = "params.yaml") -> Config:
    """Read and validate the composed configuration that DVC stages depend on."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path} not found: compose it from conf/ with `python -m pipelines.compose`"
        )
    raw = OmegaConf.load(path)
    if not isinstance(raw, DictConfig):
        raise ConfigError(f"{path} holds a list, not a mapping of config sections")
    return validate(raw)
