"""Our C++ under AddressSanitizer and UndefinedBehaviorSanitizer (cpp/ with -DCKPT2CPP_SANITIZE=ON,
LiteRT only): the library's unit tests, litert_runner's bad-input cases, and a fuzz campaign of
what the C++ side reads from users (.npy files, model.json, command lines, .tflite models;
cpp/tests/fuzz_inputs.cpp). Any sanitizer report fails; every rejection must be one line."""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.test_cpp_library import build_litert_tree, models_env

SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer")
# LiteRT's library is not built with the sanitizers, and keeps allocations alive at exit.
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1", "UBSAN_OPTIONS": "halt_on_error=1"}
FUZZ_CASES = 10_000
FUZZ_LINE = re.compile(r"^(\w+): (\d+) cases, (\d+) accepted, (\d+) rejected in one line$", re.M)


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> Path:
    """cpp/ built with the sanitizers: the unit tests, the fuzz campaign and litert_runner."""
    targets = ["ckpt2cpp_tests", "ckpt2cpp_fuzz", "litert_runner"]
    return build_litert_tree(tmp_path_factory.mktemp("sanitized"), targets, "-DCKPT2CPP_SANITIZE=ON")


def run_sanitized(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                          env={**(env or os.environ), **SANITIZER_ENV})  # fmt: skip
    assert not SANITIZER_REPORT.search(done.stderr), done.stderr[-3000:]
    return done


def test_library_unit_tests_pass_under_the_sanitizers(sanitized, tmp_path):
    done = run_sanitized([str(sanitized / "bin/ckpt2cpp_tests")], models_env(tmp_path / "models"))
    assert done.returncode == 0 and "all library tests passed" in done.stdout, done.stderr


def _bad_inputs(folder: Path) -> dict[str, list[str]]:
    """litert_runner command lines (after the program) that must each fail in one line."""
    model = folder / "float.tflite"
    good = folder / "float_x.npy"
    (folder / "junk.tflite").write_bytes(b"TFL3" * 64)
    (folder / "cut.npy").write_bytes(good.read_bytes()[:-3])
    with open(folder / "claims.npy", "wb") as claims:  # a header claiming 4 PB, 16 bytes of data
        header = {"descr": "<f4", "fortran_order": False, "shape": (99_999_999_999, 99_999)}
        np.lib.format.write_array_header_1_0(claims, header)
        claims.write(bytes(16))
    np.save(folder / "ints.npy", np.zeros((1, 4), np.int64))
    np.save(folder / "big_endian.npy", np.zeros((1, 4), ">f4"))
    out = ["--output", str(folder / "y.npy")]
    return {
        "missing model": ["--model", str(folder / "absent.tflite"), "--input", str(good), *out],
        "junk model": ["--model", str(folder / "junk.tflite"), "--input", str(good), *out],
        "truncated npy": ["--model", str(model), "--input", str(folder / "cut.npy"), *out],
        "npy claiming terabytes": ["--model", str(model), "--input", str(folder / "claims.npy"), *out],
        "wrong dtype": ["--model", str(model), "--input", str(folder / "ints.npy"), *out],
        "big-endian npy": ["--model", str(model), "--input", str(folder / "big_endian.npy"), *out],
        "unknown flag": ["--model", str(model), "--input", str(good), *out, "--fast"],
        "newline in a flag": ["--model", str(model), "--input", str(good), *out, "--a\nb"],
        "zero runs": ["--model", str(model), "--input", str(good), *out, "--runs", "0"],
    }


def test_litert_runner_refuses_bad_input_in_one_line_under_the_sanitizers(sanitized, tmp_path):
    env = models_env(tmp_path / "models")
    for case, args in _bad_inputs(tmp_path / "models").items():
        done = run_sanitized([str(sanitized / "bin/litert_runner"), *args], env)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert done.returncode in (1, 2) and len(errors) == 1, (case, done.stderr)
        assert not done.stdout.strip(), (case, done.stdout)


def _seeds(folder: Path, models: Path) -> None:
    """The fuzz campaign's seeds: .npy files of each layout, sidecars, command lines, models."""
    folder.mkdir()
    np.save(folder / "f32.npy", np.ones((2, 3, 4), np.float32))
    np.save(folder / "i64.npy", np.arange(6).reshape(2, 3))
    np.save(folder / "scalar.npy", np.float16(3))
    np.save(folder / "wide_header.npy", np.zeros((1,) * 40, np.uint8))
    tensor = {"name": "x", "dtype": "float32", "shape": [1, 3, -1, -1], "node": "x:0"}
    sidecar = {"format": "torchscript", "inputs": [tensor], "outputs": [{**tensor, "name": "y"}],
               "twin_vs_tf": {"max_abs": 2.4e-07, "shared_weights": True}, "tracer_warnings": []}  # fmt: skip
    (folder / "torch.json").write_text(json.dumps(sidecar, indent=2))
    escapes = {"name": "caf\u00e9 \u2603 \"q\" \\ \t", "n": [-1.5e-3, 0, 1e300]}
    (folder / "escapes.json").write_text(json.dumps(escapes))
    named = ["--model", "m.tflite", "--input", "x=in.npy", "--input", "ids=ids.npy", "--output",
             "y=out.npy", "--runs", "5", "--threads", "2", "--json", "s.json"]  # fmt: skip
    plain = ["--model=m.pt", "--input", "in.npy", "--output", "out.npy", "--raw-output", "--rounds=3",
             "--interleaved"]  # fmt: skip
    (folder / "named.args").write_text("\n".join(named))
    (folder / "plain.args").write_text("\n".join(plain))
    for name in ("float", "int8"):
        (folder / f"{name}.tflite").write_bytes((models / f"{name}.tflite").read_bytes())


def test_a_fuzz_campaign_finds_nothing_in_our_code(sanitized, tmp_path):
    """At least 10,000 mutated inputs: none crashes our code, trips a sanitizer or allocates what
    a file only claims, and each one refused is refused in one line. Crashes and hangs inside
    LiteRT's own model loader (which does not verify the flatbuffer) are counted apart."""
    models_env(tmp_path / "models")
    _seeds(tmp_path / "seeds", tmp_path / "models")
    # unsymbolized reports: LiteRT's crashes (hundreds) are classified by module, not by name;
    # any single allocation over 256 MB (what only a file's header could claim) is a report
    options = ":symbolize=0:max_allocation_size_mb=256:quarantine_size_mb=16"
    env = {**os.environ, "ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"] + options}
    fuzz = [str(sanitized / "bin/ckpt2cpp_fuzz"), str(tmp_path / "seeds"), str(FUZZ_CASES)]
    done = subprocess.run(fuzz, capture_output=True, text=True, timeout=900, env=env)
    assert not SANITIZER_REPORT.search(done.stderr), done.stderr[-3000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tallies = {m[1]: [int(m[i]) for i in (2, 3, 4)] for m in FUZZ_LINE.finditer(done.stdout)}
    assert set(tallies) == {"cli", "json", "model", "npy"}, done.stdout
    assert sum(t[0] for t in tallies.values()) == FUZZ_CASES
    for target in ("cli", "json", "npy"):
        cases, accepted, rejected = tallies[target]
        assert cases == accepted + rejected and rejected > cases // 2, (target, tallies)
    findings = r"^0 findings in our code, (\d+) in LiteRT's loader; peak RSS (\d+) MB$"
    summary = re.search(findings, done.stdout, re.M)
    assert summary is not None, done.stdout[-3000:]
    assert int(summary[2]) < 400
    print(f"fuzz: {tallies}; LiteRT's loader crashed or hung on {summary[1]} mutated models")
