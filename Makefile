# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed

# The CPU build of PyTorch unless an NVIDIA GPU is present: a plain `pip install torch`
# on Linux pulls a multi-GB CUDA build. A wheel lying in pip's find-links is preferred.
HAS_NVIDIA := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: run test venv lint bench screenshots clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24" wheel
ifeq ($(HAS_NVIDIA),yes)
	$(PIP) install "torch>=2.4"
else
	$(PIP) install "torch==2.13.0" || $(PIP) install torch --index-url $(TORCH_CPU_INDEX)
endif
	$(PIP) install -e ".[demo,tune,dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/workbench

test: $(STAMP)
	$(BIN)/ruff check workbench plugins tests docs
	QT_QPA_PLATFORM=offscreen $(BIN)/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_open.py
	$(BIN)/python tests/bench/bench_grid.py
	$(BIN)/python tests/bench/bench_startup.py
	$(BIN)/python tests/bench/bench_gui.py
	$(BIN)/python tests/bench/bench_host.py
	$(BIN)/python tests/bench/bench_store.py
	$(BIN)/python tests/bench/bench_tune.py

screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py
	$(BIN)/python docs/screenshots_tune.py

clean:
	rm -rf $(VENV) build *.egg-info
