"""SavedModel -> .tflite in each post-training quantization mode, with a sidecar describing it."""

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines import sidecar, tensors
from pipelines.backends.tf.loader import SERVE_TAG, SIGNATURE, open_savedmodel, signature_of
from pipelines.backends.tflite import weights as weight_storage
from pipelines.config import EvaluateConfig, ModelConfig, QuantMode
from pipelines.errors import NotApplicable, PipelineError
from pipelines.tensors import Tensors

log = logging.getLogger(__name__)

FULL_INTEGER = {QuantMode.int8: "int8", QuantMode.uint8: "uint8"}
CALIBRATED = {*FULL_INTEGER, QuantMode.int8_selective}


@dataclass(frozen=True)
class QuantizeData:
    """What a mode converts with: calibration samples (the calibrated modes), and for
    int8_selective the evaluation samples, their targets and the accuracy target."""

    calibration: Tensors | None = None
    held_out: Tensors | None = None
    targets: np.ndarray | None = None
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)


def converter_for(savedmodel_dir: Path, model: ModelConfig, workdir: Path):
    """A converter over the serving signature with every input fixed at its configured shape (LiteRT
    runners then need no resizing, and calibration sees the shape that will run) and the
    variables folded into constants (int8 calibration fails on variable reads otherwise).

    The fixed, frozen signature is re-saved as a SavedModel in `workdir` because only
    `from_saved_model` keeps the signature's input and output names in the .tflite.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    loaded = open_savedmodel(savedmodel_dir, [SERVE_TAG])  # keeps the variables alive
    serve = signature_of(loaded, SIGNATURE, savedmodel_dir)
    specs = [
        tf.TensorSpec(t.shape, tf.as_dtype(t.dtype.value), name=t.name) for t in model.input_tensors
    ]
    names = [t.name for t in model.input_tensors]

    def fixed(*args):  # the outputs as a list in the configured order
        outputs = serve(**dict(zip(names, args, strict=True)))
        return [outputs[name] for name in model.output_names]

    frozen = convert_variables_to_constants_v2(tf.function(fixed).get_concrete_function(*specs))
    module = tf.Module()
    module.serve = tf.function(
        lambda *args: dict(zip(model.output_names, frozen(*args), strict=True)),
        input_signature=specs,
    )
    tf.saved_model.save(module, str(workdir), signatures={SIGNATURE: module.serve})
    return tf.lite.TFLiteConverter.from_saved_model(str(workdir), signature_keys=[SIGNATURE])


def configure(converter, mode: QuantMode, calibration: Tensors | None):
    """Apply the optimization settings of `mode` to a converter."""
    import tensorflow as tf

    if mode is not QuantMode.float32:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode is QuantMode.float16:
        converter.target_spec.supported_types = [tf.float16]
    if mode in FULL_INTEGER:
        assert calibration is not None

        def representative():  # by input name, in the model's dtypes (token ids stay integers)
            samples = range(tensors.count(calibration))
            for i in tqdm(samples, desc=f"calibrate {mode.name}", unit="sample"):
                yield tensors.rows(calibration, i, i + 1)

        io_type = tf.as_dtype(FULL_INTEGER[mode])
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    return converter


def check_calibration(calibration: Tensors, model: ModelConfig) -> None:
    """Refuse calibration samples of another shape than the one the .tflite is converted at:
    LiteRT's calibrator would run them at their own size through resize ops whose output size
    the conversion fixed, and so measure the wrong ranges."""
    for spec in model.input_tensors:
        found = list(calibration[spec.name].shape[1:])
        if found != spec.shape[1:]:
            raise PipelineError(
                f"calibration samples of {spec.name!r} have shape {found} but the .tflite is "
                f"converted at {spec.shape[1:]} (give calibration samples of that shape, or "
                "run the checkpoint stage again to cut them)"
            )


def convert(
    savedmodel_dir: Path, mode: QuantMode, model: ModelConfig, calibration: Tensors | None
) -> bytes:
    """Convert with the settings of `mode`; full-integer modes calibrate on `calibration`."""
    with tempfile.TemporaryDirectory(prefix="ckpt2cpp-tflite-") as workdir:
        converter = converter_for(savedmodel_dir, model, Path(workdir))
        try:
            return configure(converter, mode, calibration).convert()
        except Exception as error:  # the converter raises several unrelated types
            raise NotApplicable(
                f"the TFLite converter refused the model in mode {mode.name}: "
                f"{_converter_complaint(str(error))}"
            ) from error


def input_order(savedmodel_dir: Path, model: ModelConfig) -> list[str]:
    """The model's input names in the order a converted .tflite lists its input tensors (the
    debugger feeds them by position)."""
    if len(model.input_tensors) == 1:
        return [model.input_tensors[0].name]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=convert(savedmodel_dir, QuantMode.float32, model, None))
    signature = interpreter.get_signature_runner(SIGNATURE).get_input_details()
    by_tensor = {details["name"]: key for key, details in signature.items()}
    return [by_tensor[d["name"]] for d in interpreter.get_input_details()]


# Ops the converter refuses for a known reason, with what avoids it.
_CONVERTER_FIXES = {
    "TensorList": "a recurrent layer's loop over a dynamic batch: build the layer with unroll=True",
}


def _converter_complaint(text: str) -> str:
    """The converter's complaint about the first op it refused (its MLIR locations dropped),
    with what avoids it."""
    refused = re.search(r"('[\w.]+' op [^\n]*?)(?:\\n|\n|$)", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = refused.group(1) if refused else (lines[0] if lines else "no reason given")
    fix = next(
        (fix for op, fix in _CONVERTER_FIXES.items() if op in detail),
        "replace the op in the network to get this artifact",
    )
    return f"{detail} ({fix})"


def _io(details: dict[str, dict[str, Any]]) -> list[sidecar.QuantizedTensor]:
    """Sidecar entries for a signature's inputs or outputs, named by their signature keys."""
    entries = []
    for key, d in details.items():
        scale, zero_point = d["quantization"]
        entries.append(
            sidecar.QuantizedTensor(
                name=key,
                node=d["name"],
                dtype=np.dtype(d["dtype"]).name,
                shape=sidecar.dims(d["shape"]),
                scale=float(scale),
                zero_point=int(zero_point),
            )
        )
    return entries


def describe(
    model_bytes: bytes, mode: QuantMode, source: Path, calibration_samples: int
) -> sidecar.TFLite:
    """Sidecar content: mode, size, input/output dtypes and quantization, weight storage, and
    what it was converted from."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    runner = interpreter.get_signature_runner(SIGNATURE)
    weights = weight_storage.weight_tensors(model_bytes)
    effective, explanation = weight_storage.check_effect(mode.name, weights)
    return sidecar.TFLite(
        format="tflite",
        mode=mode.name,
        signature=SIGNATURE,
        size_bytes=len(model_bytes),
        inputs=_io(runner.get_input_details()),
        outputs=_io(runner.get_output_details()),
        weights=weight_storage.summarize(weights),
        effective=effective,
        effect=explanation,
        source=str(source),
        calibration_samples=calibration_samples,
        tensorflow=tf.__version__,
    )


def quantize(
    savedmodel_dir: Path,
    mode: QuantMode,
    model: ModelConfig,
    data: QuantizeData,
    out: Path,
    fail_if_ineffective: bool,
) -> sidecar.TFLite:
    """Convert (int8_selective: search, see selective.py), inspect and write `out` (.tflite);
    return its sidecar."""
    record = None
    if mode in CALIBRATED:
        assert data.calibration is not None
        check_calibration(data.calibration, model)
    if mode is QuantMode.int8_selective:
        from pipelines.backends.tflite.selective import quantize_selective

        assert data.calibration is not None and data.held_out is not None
        model_bytes, record = quantize_selective(
            savedmodel_dir, model, data.evaluate, data.calibration, data.held_out, data.targets
        )
    else:
        model_bytes = convert(savedmodel_dir, mode, model, data.calibration)
    count = 0 if data.calibration is None else tensors.count(data.calibration)
    info = describe(model_bytes, mode, savedmodel_dir, count)
    if record is not None:
        info["selective"] = record
    if not info["effective"]:
        if fail_if_ineffective:
            raise PipelineError(
                f"{info['effect']} (drop the mode, or set quantize.fail_if_ineffective=false)"
            )
        log.warning("%s", info["effect"])
    out.write_bytes(model_bytes)
    log.info("%s: %d bytes; %s", mode.name, len(model_bytes), info["effect"])
    return info
