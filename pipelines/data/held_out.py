"""Held-out by construction: content hashes of the training and evaluation sources, and a
refusal when they share one (a photo under two names, a sample in both splits)."""

import hashlib
from collections.abc import Iterable

import numpy as np

from pipelines.errors import PipelineError

Sources = dict[str, str]  # a source's label (photo name, "sample 17") -> sha256 of its content


def content_hash(array: np.ndarray) -> str:
    """sha256 of an array's values (dtype and shape included, memory layout not)."""
    contiguous = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{contiguous.dtype.str}{contiguous.shape}".encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()


def hashed(labelled: Iterable[tuple[str, np.ndarray]]) -> Sources:
    """Each label with the content hash of its array."""
    return {label: content_hash(array) for label, array in labelled}


def refuse_shared(train: Sources, evaluation: Sources, keys: str) -> None:
    """Fail with one line naming the first evaluation source whose content is also trained on."""
    trained = {digest: label for label, digest in train.items()}
    for label, digest in evaluation.items():
        if digest in trained:
            same = (
                "is also"
                if trained[digest] == label
                else f"has the same content as {trained[digest]!r}"
            )
            raise PipelineError(
                f"evaluation source {label!r} {same} in the training set, so the evaluation "
                f"would not be held out (make {keys} share nothing)"
            )
