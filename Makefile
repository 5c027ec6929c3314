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

# llama-cpp-python is compiled for the GPU backend this machine offers: CUDA, ROCm/HIP, Vulkan,
# Metal, else the CPU (workbench/backend_choice.py, run with the system python3 before the venv
# exists, explains the choice in one line). `make LLAMA_BACKEND=cpu` (or cuda, vulkan, hip,
# metal) overrides it. A GPU build gets its own pip cache and --no-binary, so a CPU wheel built
# or cached earlier is never reused for it; the CPU build keeps pip's cache (fast and offline).
LLAMA_BACKEND ?=
LLAMA_REQ     := llama-cpp-python>=0.3.8
BACKEND_ENV   := $(VENV)/workbench-backend.env
BACKEND_JSON  := $(VENV)/workbench-backend.json

.PHONY: run test venv lint bench screenshots clean conformance improve-peer test-vulkan

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24" wheel
ifeq ($(HAS_NVIDIA),yes)
	$(PIP) install "torch>=2.4"
else
	$(PIP) install "torch==2.13.0" || $(PIP) install torch --index-url $(TORCH_CPU_INDEX)
endif
	@PREV=$$(sed -n 's/^BACKEND=//p' "$(BACKEND_ENV)" 2>/dev/null); \
	LLAMA_BACKEND="$(LLAMA_BACKEND)" $(PYTHON) -m workbench.backend_choice --make \
	  --json "$(BACKEND_JSON)" > "$(BACKEND_ENV)" || exit 1; \
	. "$(abspath $(BACKEND_ENV))"; \
	if [ "$$BACKEND" = cpu ]; then \
	  if [ -n "$$PREV" ] && [ "$$PREV" != cpu ]; then FORCE="--force-reinstall --no-deps"; fi; \
	  echo "$(PIP) install $$FORCE $(LLAMA_REQ)"; $(PIP) install $$FORCE "$(LLAMA_REQ)"; \
	else \
	  echo "CMAKE_ARGS=\"$$CMAKE_ARGS\" PIP_CACHE_DIR=$$HOME/.cache/pip-llama-$$BACKEND $(PIP) install --force-reinstall --no-deps --no-binary llama-cpp-python $(LLAMA_REQ)"; \
	  CMAKE_ARGS="$$CMAKE_ARGS" PIP_CACHE_DIR="$$HOME/.cache/pip-llama-$$BACKEND" \
	    $(PIP) install --force-reinstall --no-deps --no-binary llama-cpp-python "$(LLAMA_REQ)" || { \
	  LLAMA_BACKEND=cpu $(PYTHON) -m workbench.backend_choice --make --json "$(BACKEND_JSON)" \
	    --note "the $$BACKEND build of llama-cpp-python failed (see above) → CPU build; fix the toolkit, then \`make clean run\`" \
	    > "$(BACKEND_ENV)" && $(PIP) install --force-reinstall --no-deps "$(LLAMA_REQ)"; }; \
	fi
	$(PIP) install -e ".[demo,tune,ray,dev]"
	@$(BIN)/python -c 'import json; print("llama.cpp backend:", json.load(open("$(BACKEND_JSON)"))["reason"])'
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
	$(BIN)/python tests/bench/bench_eval.py
	$(BIN)/python tests/bench/bench_inspect.py
	$(BIN)/python tests/bench/bench_retrieval.py
	$(BIN)/python tests/bench/bench_quantlab.py
	$(BIN)/python tests/bench/bench_fewshot.py

# Measured against the real promptfoo (tests/conformance/run.py): installs Node and promptfoo,
# pinned, from the npm registry into their own cache outside the repository (npm's cache too),
# runs every suite through both against one local llama_cpp.server, and rewrites
# tests/conformance/recorded.json, which `make test` checks. Not part of `make test`.
CONFORMANCE_CACHE ?= $(HOME)/.cache/workbench-conformance

conformance: $(STAMP)
	WORKBENCH_CONFORMANCE_CACHE="$(CONFORMANCE_CACHE)" $(BIN)/python tests/conformance/run.py

# `workbench improve` against DSPy (BootstrapFewShotWithRandomSearch, MIPROv2) at an equal budget
# of target-model calls (tests/bench/bench_improve_peer.py). DSPy, pinned, gets its own venv and
# pip cache outside the repository, never the project's venv (optuna too: MIPROv2 needs it).
# Slow; not part of `make test`.
# `make improve-peer IMPROVE_PEER_ARGS="--budget 60"` for a quick end-to-end run.
DSPY_CACHE ?= $(HOME)/.cache/workbench-dspy
DSPY_VERSION ?= 3.4.1
DSPY_STAMP := $(DSPY_CACHE)/venv/.installed-dspy-optuna-$(DSPY_VERSION)
IMPROVE_PEER_ARGS ?=

$(DSPY_STAMP):
	test -x "$(DSPY_CACHE)/venv/bin/python" || $(PYTHON) -m venv "$(DSPY_CACHE)/venv"
	PIP_CACHE_DIR="$(DSPY_CACHE)/pip-cache" "$(DSPY_CACHE)/venv/bin/python" -m pip install \
	  "dspy[optuna]==$(DSPY_VERSION)"
	touch "$(DSPY_STAMP)"

improve-peer: $(STAMP) $(DSPY_STAMP)
	$(BIN)/python tests/bench/bench_improve_peer.py --dspy-python "$(DSPY_CACHE)/venv/bin/python" \
	  $(IMPROVE_PEER_ARGS)

# The offload tests on a real GPU back-end without a GPU (tests/gpu_vulkan/, issue 29):
# llama-cpp-python built for Vulkan into its own environment, .venv-vulkan (the project as in
# .venv, the Vulkan wheel instead of the CPU one), run on Mesa's software Vulkan driver
# (lavapipe). tools/vulkan_venv.sh installs what it needs with apt-get and fetches newer
# Vulkan headers (Debian 12's are too old) without touching the system's apt set-up; the wheel
# is built once (38 min on 2 busy cores) and kept in VULKAN_CACHE with its own pip cache, so a
# second run starts the tests at once. ggml leaves a CPU-type Vulkan device alone unless
# GGML_VK_VISIBLE_DEVICES names it. Not part of `make test` (nor of CI: the build alone takes
# longer than the suite).
VULKAN_VENV  ?= .venv-vulkan
VULKAN_CACHE ?= $(HOME)/.cache/workbench-vulkan
VULKAN_PYTEST_ARGS ?=

test-vulkan: $(STAMP)
	WORKBENCH_VULKAN_CACHE="$(VULKAN_CACHE)" tools/vulkan_venv.sh --venv "$(VULKAN_VENV)"
	GGML_VK_VISIBLE_DEVICES=0 QT_QPA_PLATFORM=offscreen \
	  WORKBENCH_CPU_LLAMA_LIB="$$($(BIN)/python -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("llama_cpp").origin).with_name("lib"))')" \
	  $(VULKAN_VENV)/bin/python -m pytest tests/gpu_vulkan -p no:cacheprovider $(VULKAN_PYTEST_ARGS)

screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py
	$(BIN)/python docs/screenshots_tune.py
	$(BIN)/python docs/screenshots_documents.py
	$(BIN)/python docs/screenshots_retrieval.py

# The Vulkan environment goes too (the built wheel stays in VULKAN_CACHE: a rebuild of the
# environment takes minutes, not the 38 of the wheel).
clean:
	rm -rf $(VENV) $(VULKAN_VENV) build *.egg-info
