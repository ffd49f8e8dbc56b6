"""Per-op profiles side by side: grouping by op type and the quantized-vs-float32 notes."""

from typing import Any

from pipelines.evaluate.profiles import by_kind, markdown, quantized_notes, tables


def result(artifact: str, language: str, ops: list[tuple[str, str, float]]) -> dict[str, Any]:
    """One cell's profile, by its key."""
    ops_json = [{"name": n, "kind": k, "ms": ms} for n, k, ms in ops]
    profile = {"runtime": "x", "profiler": "test profiler", "runs": 10, "ops": ops_json}
    return {f"{artifact}@{language}": profile}


FLOAT = result(
    "tflite/float32",
    "cpp",
    [("c #0", "Conv F32", 3.0), ("c #1", "Conv F32", 5.0), ("r #2", "Resize", 2.0)],
)
INT8 = result(
    "tflite/uint8",
    "cpp",
    [
        ("c #0", "Conv QC8", 1.0),
        ("c #1", "Conv QC8", 1.0),
        ("r #2", "Resize", 2.0),
        ("q #3", "QUANTIZE", 0.5),
    ],
)


def test_ops_are_summed_by_type_largest_first():
    assert by_kind(FLOAT["tflite/float32@cpp"]) == {"Conv F32": 8.0, "Resize": 2.0}


def test_each_framework_gets_one_table_with_float32_first():
    torch = result("torch/aoti", "python", [("k", "kernel", 1.0)])
    found = tables({**INT8, **torch, **FLOAT})
    assert [t.title for t in found] == ["LiteRT", "PyTorch"]
    lite = found[0]
    assert lite.columns == ["tflite/float32@cpp", "tflite/uint8@cpp"]
    rows = dict(lite.rows)
    assert rows["Conv F32"] == ["8.000 (80 %)", "-"] and rows["Conv QC8"] == ["-", "2.000 (44 %)"]
    assert lite.totals == ["10.000", "4.500"]
    assert "| Conv QC8 | - | 2.000 (44 %) |" in markdown(lite)


def test_a_quantized_mode_is_compared_with_float32_and_its_added_ops_named():
    (note,) = quantized_notes({**FLOAT, **INT8})
    assert note.startswith("tflite/uint8: 4.5 ms of ops against float32's 10 ms")
    assert "convolutions 4.00x as fast (Conv QC8)" in note
    assert note.endswith("added: QUANTIZE 0.5 ms")


def test_without_a_float32_profile_there_is_nothing_to_compare():
    assert quantized_notes(INT8) == []
