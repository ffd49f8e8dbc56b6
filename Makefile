# ckpt2cpp: `make run` builds everything for the bundled example, `make test` runs the tests.
# Both set up .venv first (once: the stamp file keeps a second run from reinstalling).

# pyproject.toml pins Python 3.11 (the versions of the wheels the runners link against)
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: setup arm64-litert test-deps toolchain deps run test lint typecheck bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	-$(MAKE) --no-print-directory arm64-litert  # without it the ARM64 bundles are skipped, saying why
	touch $@

# LiteRT's aarch64 library, for the ARM64 deploy bundles: the same ai-edge-litert release's
# manylinux aarch64 wheel, unpacked into .venv/aarch64 (pip fetches it; nothing is installed).
ARM64_LITERT := $(VENV)/aarch64/ai_edge_litert/libLiteRt.so
arm64-litert: $(ARM64_LITERT)
$(ARM64_LITERT):
	rm -rf $(VENV)/aarch64 && mkdir -p $(VENV)/aarch64
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
	  --platform manylinux_2_27_aarch64 -d $(VENV)/aarch64 \
	  "ai-edge-litert==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("ai-edge-litert"))')"
	cd $(VENV)/aarch64 && $(BIN)/python -m zipfile -e ai_edge_litert-*.whl . && rm ai_edge_litert-*.whl

# What the tests use beyond .venv: Chromium, sshd, and moto's S3 server (see the script).
test-deps:
	bash scripts/install-test-deps.sh

# Record the C++ toolchain fingerprint (a DVC dependency of build_cpp) if it changed.
toolchain: setup
	$(BIN)/python -m pipelines.toolchain

# Fail when a stage's deps in dvc.yaml are not exactly the code it executes (see
# docs/reproducibility.md).
deps: setup
	$(BIN)/python -m pipelines.deps --check

run: toolchain deps
	$(BIN)/dvc repro

test: toolchain deps test-deps
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

# Every benchmark, written to bench/README.md (about 40 minutes on 2 cores).
bench: run
	$(BIN)/python bench/readme.py
