"""The `model.json` sidecar: what an artifact is (names, nodes, dtypes, shapes, provenance).

The sidecar of `dir/model.pb` or of the SavedModel directory `dir/model` is `dir/model.json`.
Each artifact format has one schema below; exporters build it, `write` writes it and `read`
reads it back checked against the schema the caller expects. A stage whose framework is
switched off writes a `Skipped` sidecar instead.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, TypeVar, cast, get_args, get_type_hints

from pipelines import jsonfile
from pipelines.errors import PipelineError


class Tensor(TypedDict):
    """One input or output: its public name, dtype and shape (-1 for a dynamic dimension)."""

    name: str
    dtype: str
    shape: list[int]


class GraphTensor(Tensor):
    """A tensor of a TF graph, with the node a program feeds or fetches ("op:index")."""

    node: str


class QuantizedTensor(GraphTensor):
    """A .tflite tensor with its per-tensor quantization (scale 0: not quantized)."""

    scale: float
    zero_point: int


class FrozenGraph(TypedDict):
    format: Literal["graphdef"]
    inputs: list[GraphTensor]
    outputs: list[GraphTensor]
    nodes: int
    verified_max_abs_error: float
    tensorflow: str


class SavedModel(TypedDict):
    format: Literal["savedmodel"]
    tags: list[str]
    signature: str
    inputs: list[GraphTensor]
    outputs: list[GraphTensor]
    verified_max_abs_error: float
    verified_samples: int
    tensorflow: str


class WeightStorage(TypedDict):
    tensors: int
    elements: int


class SelectiveStep(TypedDict):
    """One candidate of the int8_selective search: these layers in float, and how it did."""

    float_layers: list[str]
    metric_drop: float | None  # the task metric's drop, None without one
    snr_db: float  # against the original model's outputs
    size_bytes: int
    passed: bool
    verdict: str


class Selective(TypedDict):
    """How int8_selective chose its float layers (the last step is the artifact)."""

    target: str
    quantized_layers: int
    ranking: list[str]  # layers by what each alone quantized costs, worst first ([]: not needed)
    samples: int
    steps: list[SelectiveStep]


class TFLite(TypedDict):
    format: Literal["tflite"]
    mode: str
    signature: str
    size_bytes: int
    inputs: list[QuantizedTensor]
    outputs: list[QuantizedTensor]
    weights: dict[str, WeightStorage]  # by storage dtype
    effective: bool  # False: the mode changed nothing
    effect: str
    source: str
    calibration_samples: int
    tensorflow: str
    selective: NotRequired[Selective]  # int8_selective only


class SizeCheck(TypedDict):
    shape: list[int]
    ok: bool
    max_abs_error: float | None
    problem: str | None


class TwinCheck(TypedDict):
    """The PyTorch twin against the Keras reference (metrics.error_stats plus provenance)."""

    shared_weights: bool
    samples: int
    max_abs: float
    mean_abs: float
    rel: float
    min_atol: float
    min_rtol: float


class TorchExport(TypedDict):
    format: Literal["torchscript", "aoti"]
    method: str
    layout: Literal["NCHW"]
    inputs: list[Tensor]
    outputs: list[Tensor]
    traced_shape: list[int]
    traced_on: str
    traced_max_abs_error: float
    verified_sizes: list[SizeCheck]
    fixed_shape: bool
    fixed_shape_reason: str  # why the network itself takes one size only ("": it takes others)
    size_multiple: int  # height and width must be multiples of this (1: any size)
    loads_on: dict[str, float]  # max abs error by device
    tracer_warnings: list[str]
    torch: str
    twin_vs_tf: TwinCheck | None


class Skipped(TypedDict):
    skipped: str  # why the artifact was not built
    # True: this network cannot be exported this way; False: its framework is switched off
    not_applicable: bool


Sidecar = FrozenGraph | SavedModel | TFLite | TorchExport | Skipped
Schema = TypeVar("Schema", FrozenGraph, SavedModel, TFLite, TorchExport)


def sidecar_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name.split(".")[0] + ".json")


def dims(shape: Iterable[int | None]) -> list[int]:
    """A shape as sidecars record it: plain ints, -1 for a dynamic (None) dimension."""
    return [-1 if d is None else int(d) for d in shape]


def write(artifact: Path, content: Sidecar) -> None:
    """Write the sidecar of `artifact` (keys sorted, so reruns give identical files)."""
    jsonfile.write(sidecar_path(artifact), content, sort_keys=True)


def write_skipped(artifact: Path, reason: str, not_applicable: bool = False) -> None:
    """Record that this artifact was not built (switched off, or `not_applicable` to this
    network), so downstream stages skip it."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    write(artifact, Skipped(skipped=reason, not_applicable=not_applicable))


def _formats(schema: type) -> tuple[str, ...]:
    """The `format` values a schema allows (the arguments of its Literal)."""
    return get_args(get_type_hints(schema)["format"])


def _content(artifact: Path) -> dict[str, Any] | None:
    path = sidecar_path(artifact)
    return jsonfile.read(path) if path.is_file() else None


def read(artifact: Path, schema: type[Schema]) -> Schema:
    """The sidecar of `artifact`, which must describe a built artifact of `schema`'s format."""
    path = sidecar_path(artifact)
    content = _content(artifact)
    if content is None:
        raise PipelineError(f"{path} not found: run the stage that builds {artifact} (dvc repro)")
    if "skipped" in content:
        raise PipelineError(f"{artifact} was not built: {content['skipped']}")
    if content.get("format") not in _formats(schema):
        raise PipelineError(
            f"{path} describes a {content.get('format')!r} artifact, not one of "
            f"{list(_formats(schema))} (rebuild it with dvc repro)"
        )
    return cast(Schema, content)


def find(artifact: Path, schema: type[Schema]) -> Schema | None:
    """The sidecar of `artifact` if it was built; None when its stage did not run or skipped it."""
    content = _content(artifact)
    return None if content is None or "skipped" in content else read(artifact, schema)


def skipped_reason(artifact: Path) -> str | None:
    """Why the stage of `artifact` did not build it, or None."""
    content = _content(artifact)
    return None if content is None else content.get("skipped")


def not_applicable_reason(artifact: Path) -> str | None:
    """Why this network cannot be exported as `artifact`, or None."""
    content = _content(artifact)
    return content["skipped"] if content is not None and content.get("not_applicable") else None
