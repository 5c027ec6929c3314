#!/usr/bin/env bash
# A second environment with llama-cpp-python built for Vulkan, for the offload tests
# (tests/gpu_vulkan/, `make test-vulkan`, issue 29). On a machine without a GPU, Mesa's
# software Vulkan driver (lavapipe, "llvmpipe") is the device: a real GPU back-end of ggml
# (its own buffers, shaders and out-of-memory errors) on the CPU.
#
#   tools/vulkan_venv.sh [--venv DIR] [--cache DIR] [--version X.Y.Z] [--python PY]
#
# --venv     the environment to make (default .venv-vulkan): the project installed editable
#            with its demo and dev extras, as in .venv, but llama-cpp-python's Vulkan wheel.
# --cache    where the built wheel, its own pip cache, the apt state and the Vulkan headers are
#            kept (default ~/.cache/workbench-vulkan): a second run reuses the wheel and takes
#            seconds. Delete the folder to build again.
# --version  llama-cpp-python's version (default: the one in .venv, so both builds share one
#            llama.cpp and their tokens can be compared).
# --python   the Python the environment is made from (default: .venv's base, else python3).
#
# What the build needs on Debian 12 (bookworm), and how it is found:
# * mesa-vulkan-drivers and libvulkan1 (the driver and the loader), glslc (shader compiler),
#   cmake and g++: installed with apt-get when missing (as root; else the command to run).
# * Vulkan headers newer than bookworm's libvulkan-dev 1.3.239, which lacks
#   vk::LayerSettingEXT: Debian trixie's libvulkan-dev and spirv-headers are fetched with
#   `apt-get download` through a private apt configuration under the cache (its own sources
#   list, lists and archives; the system's apt sources and state are not touched), from the
#   mirror the system's own apt sources name, and unpacked with `dpkg -x`: headers only,
#   nothing is installed. A system whose headers are new enough uses its own.
# Exit status: 0 ready, 1 a step failed (the message says which and where its log is).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-vulkan"
CACHE="${WORKBENCH_VULKAN_CACHE:-$HOME/.cache/workbench-vulkan}"
VERSION=""
PYTHON=""
HEADERS_SUITE="${VULKAN_HEADERS_SUITE:-trixie}"
SYSTEM_PACKAGES=(mesa-vulkan-drivers libvulkan1 glslc cmake g++)

fail() {
    echo "tools/vulkan_venv.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) [ $# -ge 2 ] || fail "--venv needs a folder"; VENV="$2"; shift ;;
        --cache) [ $# -ge 2 ] || fail "--cache needs a folder"; CACHE="$2"; shift ;;
        --version) [ $# -ge 2 ] || fail "--version needs a version"; VERSION="$2"; shift ;;
        --python) [ $# -ge 2 ] || fail "--python needs an interpreter"; PYTHON="$2"; shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac

if [ -z "$VERSION" ]; then
    [ -x "$ROOT/.venv/bin/python" ] || fail "no .venv to take llama-cpp-python's version from: \
run \`make venv\` first or pass --version"
    VERSION="$("$ROOT/.venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
fi
if [ -z "$PYTHON" ]; then
    home="$(sed -n 's/^home = //p' "$ROOT/.venv/pyvenv.cfg" 2>/dev/null || true)"
    PYTHON="$home/python3"
    [ -x "$PYTHON" ] || PYTHON="$(command -v python3 || true)"
fi
[ -n "$PYTHON" ] && [ -x "$PYTHON" ] || fail "no Python to make $VENV from (--python)"

# -- system packages: the driver, the loader, the shader compiler, the build tools -------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
command -v dpkg-query >/dev/null || fail "this set-up needs a Debian-like system (dpkg, apt-get)"
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing packages; run: sudo apt-get install ${missing[*]}"
    echo "installing ${missing[*]} with apt-get…"
    apt-get update -q >"$CACHE/apt-system.log" 2>&1 \
        || fail "apt-get update failed (see $CACHE/apt-system.log)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>"$CACHE/apt-system.log" 2>&1 \
        || fail "apt-get install ${missing[*]} failed (see $CACHE/apt-system.log)"
fi
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
LOADER="/usr/lib/$MULTIARCH/libvulkan.so.1"
[ -e "$LOADER" ] || fail "the Vulkan loader $LOADER is missing (libvulkan1)"

# -- Vulkan headers new enough for ggml (vk::LayerSettingEXT) ----------------------------------
# The mirror the system's apt sources use for its own release (deb822 .sources, turned into
# one-line form, or one-line .list), so the headers come from where the system's packages do.
system_mirror() {
    local codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    {
        for file in /etc/apt/sources.list.d/*.sources; do
            [ -f "$file" ] || continue
            awk -v RS= -v want="$codename" '
                !/(^|\n)Enabled:[ \t]*no/ && /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ {
                    uris = ""; suites = ""
                    n = split($0, lines, "\n")
                    for (i = 1; i <= n; i++) {
                        if (lines[i] ~ /^URIs:/) { uris = lines[i]; sub(/^URIs:[ \t]*/, "", uris) }
                        if (lines[i] ~ /^Suites:/) { suites = " " lines[i] " " }
                    }
                    if (uris != "" && suites ~ (" " want " ")) {
                        split(uris, u, /[ \t]+/); print "deb " u[1] " " want }
                }' "$file"
        done
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | awk -v want="$codename" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == want) print $i }' | head -n 1
}

HEADERS="$CACHE/headers-$HEADERS_SUITE"
SYSTEM_HPP="/usr/include/vulkan/vulkan_structs.hpp"
if [ -f "$SYSTEM_HPP" ] && grep -q "struct LayerSettingEXT" "$SYSTEM_HPP"; then
    VULKAN_INCLUDE="/usr/include"
    PREFIX_PATH="/usr"
    echo "Vulkan headers: the system's (new enough)"
else
    if [ ! -f "$HEADERS/usr/include/vulkan/vulkan_structs.hpp" ]; then
        MIRROR="$(system_mirror)"
        [ -n "$MIRROR" ] || fail "cannot tell the system's Debian mirror from /etc/apt/sources*"
        APT="$CACHE/apt"
        rm -rf "$APT" "$HEADERS.partial"
        mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs" "$HEADERS.partial"
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        echo "deb [signed-by=$keyring] $MIRROR $HEADERS_SUITE main" >"$APT/sources.list"
        apt_private=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                     -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
                     -o "APT::Sandbox::User=root" -q)
        echo "fetching $HEADERS_SUITE's libvulkan-dev and spirv-headers (headers only)…"
        apt-get "${apt_private[@]}" update >"$APT/apt.log" 2>&1 \
            || fail "apt-get update of the private $HEADERS_SUITE list failed (see $APT/apt.log)"
        (cd "$APT/debs" && apt-get "${apt_private[@]}" download libvulkan-dev spirv-headers) \
            >>"$APT/apt.log" 2>&1 || fail "apt-get download failed (see $APT/apt.log)"
        for deb in "$APT/debs"/*.deb; do
            dpkg -x "$deb" "$HEADERS.partial"
        done
        [ -f "$HEADERS.partial/usr/include/vulkan/vulkan_structs.hpp" ] \
            || fail "the unpacked packages have no vulkan/vulkan_structs.hpp ($APT/debs)"
        mv "$HEADERS.partial" "$HEADERS"
        echo "Vulkan headers: $(ls "$APT/debs" | tr "\n" " ")"
    fi
    VULKAN_INCLUDE="$HEADERS/usr/include"
    PREFIX_PATH="$HEADERS/usr"
fi

# -- the environment ---------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    echo "making $VENV from $PYTHON…"
    "$PYTHON" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

# -- the Vulkan wheel, built once and kept -----------------------------------------------------
WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
wheel="$(find "$WHEELS" -maxdepth 1 -name "llama_cpp_python-$VERSION-*.whl" | head -n 1)"
if [ -z "$wheel" ]; then
    CMAKE_ARGS="-DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR=$VULKAN_INCLUDE -DVulkan_LIBRARY=$LOADER"
    CMAKE_ARGS+=" -DCMAKE_PREFIX_PATH=$PREFIX_PATH"
    echo "building llama-cpp-python $VERSION for Vulkan (log: $CACHE/build.log; 38 min on a busy" \
         "2-core machine)…"
    echo "CMAKE_ARGS=$CMAKE_ARGS" >"$CACHE/build.log"
    start=$SECONDS
    # Its own pip cache: a wheel built for the CPU and cached by pip under the same name and
    # version must never be taken for this one (nor this one for it).
    CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" PIP_CACHE_DIR="$CACHE/pip" \
        "$VPY" -m pip wheel -v --no-deps --no-binary llama-cpp-python \
        "llama-cpp-python==$VERSION" -w "$WHEELS.partial" >>"$CACHE/build.log" 2>&1 \
        || fail "the Vulkan build failed (last lines of $CACHE/build.log):
$(tail -n 20 "$CACHE/build.log")"
    mv "$WHEELS.partial"/llama_cpp_python-"$VERSION"-*.whl "$WHEELS/"
    rm -rf "$WHEELS.partial"
    wheel="$(find "$WHEELS" -maxdepth 1 -name "llama_cpp_python-$VERSION-*.whl" | head -n 1)"
    echo "built in $((SECONDS - start)) s: $wheel" | tee -a "$CACHE/build.log"
fi

STAMP="$VENV/.installed-vulkan-$VERSION"
if [ ! -f "$STAMP" ] || [ "$wheel" -nt "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    "$VPY" -m pip install -q --force-reinstall --no-deps "$wheel"
    # The project as in .venv (pip's usual cache; llama-cpp-python is already there and kept).
    "$VPY" -m pip install -q -e "$ROOT[demo,dev]"
    touch "$STAMP"
fi
"$VPY" - <<'EOF' || fail "$VENV's llama-cpp-python has no Vulkan back-end (delete $WHEELS and run again)"
import sys
from workbench.library.offload import compiled_backends
sys.exit(0 if "vulkan" in (compiled_backends() or ()) else 1)
EOF
echo "$VENV: llama-cpp-python $VERSION with Vulkan ($(basename "$wheel"))"
