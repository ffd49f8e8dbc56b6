"""int8_selective: full-integer quantization that keeps the fewest layers in float needed to
meet the accuracy target (evaluate.max_metric_drop, or evaluate.min_snr_db without a task metric).

The search, on the evaluation samples:
1. plain int8 (no layer in float): if it meets the target, that is the artifact;
2. otherwise the layers are ranked by how much accuracy each one costs when it alone is
   quantized (every other layer in float), worst first: measured end to end, so a layer whose
   output range starves the next layer ranks high even when its own rounding error looks small
   (the debugger's per-layer statistics compare each layer with its own float twin and miss
   that);
3. the k best-ranked layers are kept in float for k = 1, 2, 4, ... until the target is met, then
   the smallest passing k is found by bisection between the last failing and first passing k.
Every candidate is requantized from one calibration with the TFLite quantizer's deny-list of
nodes, so a step costs a requantization and a run, not a calibration. If even every layer in
float misses the target, the stage fails listing what was tried.
"""

import logging
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines import metrics, sidecar, tensors
from pipelines.backends.base import outputs_of
from pipelines.config import EvaluateConfig, ModelConfig, QuantMode
from pipelines.errors import PipelineError
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Judge:
    """Scores a candidate .tflite against the original model on the evaluation samples."""

    model: ModelConfig
    evaluate: EvaluateConfig
    inputs: Tensors
    original: Tensors  # the original model's outputs on `inputs`
    targets: np.ndarray | None

    def __call__(self, model_bytes: bytes, layers: list[str]) -> sidecar.SelectiveStep:
        from pipelines.backends.tflite.runner import LiteRTRunner

        task = self.model.task
        with tempfile.TemporaryDirectory(prefix="ckpt2cpp-selective-") as workdir:
            path = Path(workdir) / "candidate.tflite"
            path.write_bytes(model_bytes)
            runner = LiteRTRunner(path, self.model)
            runner.load(threads=1)
            outputs = outputs_of(runner, self.inputs)
        first = tensors.first(outputs)
        snr = metrics.tensor_errors(outputs, self.original)["all"]["snr_db"]
        quality = metrics.task_quality(task, first, self.targets)
        original = metrics.task_quality(task, tensors.first(self.original), self.targets)
        primary = metrics.PRIMARY_METRIC.get(task, "")
        drop = original[primary] - quality[primary] if primary in quality else None
        passed, verdict = metrics.accuracy_verdict(task, self.evaluate, drop, snr)
        if passed is None:
            raise PipelineError(
                f"int8_selective has no accuracy target for the {task.name} task (set "
                f"evaluate.max_metric_drop.{task.name}, the largest {primary} drop allowed)"
            )
        return sidecar.SelectiveStep(
            float_layers=layers,
            metric_drop=drop,
            snr_db=snr,
            size_bytes=len(model_bytes),
            passed=passed,
            verdict=verdict,
        )

    def target(self, step: sidecar.SelectiveStep) -> str:
        """The accuracy target the steps are held to, and the key that sets it."""
        if step["metric_drop"] is None:
            return (
                f"SNR >= {self.evaluate.min_snr_db:g} dB against the original (evaluate.min_snr_db)"
            )
        task = self.model.task
        allowed = self.evaluate.max_metric_drop.get(task.name)
        primary = metrics.PRIMARY_METRIC[task]
        return f"{primary} drop <= {allowed:g} (evaluate.max_metric_drop.{task.name})"


def _calibrated(converter):
    """The quantization debugger over a converter configured for int8: it calibrates once and
    requantizes with any deny-list; nothing is run through its debug model."""
    import tensorflow as tf

    return tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=lambda: iter(()),
        debug_options=tf.lite.experimental.QuantizationDebugOptions(fully_quantize=True),
    )


def _layers(calibrated_model: bytes) -> list[str]:
    """The output tensor names of the calibrated model's ops that compute reals: the names the
    deny-list takes, in graph order."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated_model)
    details = interpreter.get_tensor_details()
    found = []
    for op in interpreter._get_ops_details():
        for index in op["outputs"]:
            if details[index]["dtype"] == np.float32 and details[index]["name"] not in found:
                found.append(details[index]["name"])
    return found


def _requantizer(calibrated_model: bytes) -> Callable[[list[str]], bytes]:
    """The model quantized from one calibration with `layers` left in float. This is the call
    behind the debugger's get_nondebug_quantized_model, made directly: setting the debugger's
    options also rebuilds its debug model, which fails once every layer is deny-listed."""
    from tensorflow.lite.python import convert

    def requantize(layers: list[str]) -> bytes:
        return convert.mlir_quantize(
            calibrated_model, fully_quantize=True, denylisted_nodes=layers or None
        )

    return requantize


def _smallest_passing(
    ranked: list[str], judge: Callable[[int], sidecar.SelectiveStep]
) -> list[sidecar.SelectiveStep]:
    """Steps of k = 1, 2, 4, ... best-ranked layers in float until one passes, then bisection
    down to the smallest passing k (the last passing step is the answer)."""
    steps, failing, k = [], 0, 1
    while True:
        k = min(k, len(ranked))
        step = judge(k)
        steps.append(step)
        if step["passed"] or k == len(ranked):
            break
        failing, k = k, 2 * k
    passing = k if steps[-1]["passed"] else None
    while passing is not None and passing - failing > 1:
        middle = (failing + passing) // 2
        step = judge(middle)
        steps.append(step)
        failing, passing = (failing, middle) if step["passed"] else (middle, passing)
    best = [s for s in steps if s["passed"]]
    if best:  # the smallest passing step last: it is the artifact
        chosen = min(best, key=lambda s: len(s["float_layers"]))
        steps.remove(chosen)
        steps.append(chosen)
    return steps


def search(converter, judge: Judge) -> tuple[bytes, sidecar.Selective]:
    """Run the search (see the module docstring) on a converter configured for int8 with its
    calibration; return the chosen model's bytes and the record of every step."""
    with warnings.catch_warnings():  # the debugger builds deprecated tf.lite.Interpreters
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return _search(converter, judge)


def _search(converter, judge: Judge) -> tuple[bytes, sidecar.Selective]:
    calibrated_model = _calibrated(converter).calibrated_model
    requantize = _requantizer(calibrated_model)
    layers = _layers(calibrated_model)
    plain = judge(requantize([]), [])
    steps = [plain]
    log.info("int8_selective: plain int8 %s", plain["verdict"])
    ranking: list[str] = []
    if not plain["passed"]:
        cost = {}
        for layer in tqdm(layers, desc="int8_selective: each layer alone quantized"):
            others = [n for n in layers if n != layer]
            cost[layer] = _score(judge(requantize(others), others))
        ranking = sorted(layers, key=lambda n: cost[n], reverse=True)  # stable: ties keep order
        steps += _smallest_passing(ranking, lambda k: judge(requantize(ranking[:k]), ranking[:k]))
    chosen = steps[-1]
    if not chosen["passed"]:
        tried = "; ".join(f"{len(s['float_layers'])} in float: {s['verdict']}" for s in steps)
        raise PipelineError(
            f"int8_selective cannot meet the accuracy target even with every one of the "
            f"{len(layers)} quantized layers in float (tried: {tried}) (raise "
            "evaluate.max_metric_drop or lower evaluate.min_snr_db, or drop the mode)"
        )
    log.info(
        "int8_selective: %d of %d layers in float: %s",
        len(chosen["float_layers"]),
        len(layers),
        chosen["verdict"],
    )
    record = sidecar.Selective(
        target=judge.target(plain),
        quantized_layers=len(layers),
        ranking=ranking,
        samples=tensors.count(judge.inputs),
        steps=steps,
    )
    return requantize(chosen["float_layers"]), record


def _score(step: sidecar.SelectiveStep) -> float:
    """Lower is better: the metric drop, or the negative SNR without a task metric."""
    return step["metric_drop"] if step["metric_drop"] is not None else -step["snr_db"]


def quantize_selective(
    savedmodel_dir: Path,
    model: ModelConfig,
    evaluate: EvaluateConfig,
    calibration: Tensors,
    held_out: Tensors,
    targets: np.ndarray | None,
) -> tuple[bytes, sidecar.Selective]:
    """Calibrate once, compute the original model's outputs (the SavedModel's) on the
    evaluation samples, and search."""
    from pipelines.backends.tf.loader import SERVE_TAG, SIGNATURE, load_savedmodel, run_signature
    from pipelines.backends.tflite.export import configure, converter_for

    serve = load_savedmodel(savedmodel_dir, [SERVE_TAG], SIGNATURE)
    original = run_signature(serve, held_out, model.output_names)
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-tflite-") as workdir:
        converter = configure(
            converter_for(savedmodel_dir, model, Path(workdir)), QuantMode.int8, calibration
        )
        return search(converter, Judge(model, evaluate, held_out, original, targets))


def step_models(
    savedmodel_dir: Path, model: ModelConfig, calibration: Tensors, record: sidecar.Selective
) -> list[bytes]:
    """The model of every step in `record`, requantized from a fresh calibration on the same
    samples (for measuring each step, e.g. its C++ latency)."""
    from pipelines.backends.tflite.export import configure, converter_for

    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-tflite-") as workdir:
        converter = configure(
            converter_for(savedmodel_dir, model, Path(workdir)), QuantMode.int8, calibration
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            requantize = _requantizer(_calibrated(converter).calibrated_model)
        return [requantize(step["float_layers"]) for step in record["steps"]]
