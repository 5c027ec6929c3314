"""Opening a model: ``workbench tokenize`` end to end vs llama-cpp-python loading the same file.

Baselines measured in the same run, alternating rounds so machine noise hits both sides alike:

* end to end: ``workbench tokenize Hello`` (a fresh WORKBENCH_HOME) over
  ``python -c "import llama_cpp; llama_cpp.Llama(model_path=..., verbose=False)"`` (goal <= 1.3);
* where the CLI's time goes: interpreter start, CLI imports, file check, host start;
* in process: the header reader vs gguf.GGUFReader, for the header alone, for one load's two
  file checks, and for read_gguf_info (the old code paid one GGUFReader per call); and the
  header alone of a made-up file with a 262,144-token vocabulary (Gemma 3's size).

    .venv/bin/python tests/bench/bench_open.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workbench.library import gguf_header  # noqa: E402
from workbench.library.bundled import bundled_model_path  # noqa: E402
from workbench.library.gguf_check import check_model_file  # noqa: E402
from workbench.library.gguf_metadata import read_gguf_info  # noqa: E402

PYTHON = sys.executable
WORKBENCH = str(Path(PYTHON).parent / "workbench")


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def best_of(func, rounds: int) -> float:
    """Median seconds of ``func()`` with the header cache emptied before each call."""
    timings = []
    for _ in range(rounds):
        gguf_header.clear_cache()
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def old_check(path: Path) -> int:
    """What check_model_file cost before: one GGUFReader per call."""
    from gguf import GGUFReader

    reader = GGUFReader(path, "r")
    return max(int(t.data_offset) + int(t.n_bytes) for t in reader.tensors)


def old_info(path: Path) -> tuple:
    """What read_gguf_info cost before: one GGUFReader, the fields it used, the tensors."""
    from gguf import GGUFReader

    reader = GGUFReader(path, "r")
    values = {k: f.contents() for k, f in reader.fields.items()
              if f.types and f.types[0].name != "ARRAY"}
    return values, len(reader.fields["tokenizer.ggml.tokens"].data), \
        sum(int(t.n_elements) for t in reader.tensors)


def big_vocab_file(folder: Path, n_vocab: int = 262_144) -> Path:
    """A header like a large-vocabulary model's: tokens, scores, types and merges."""
    import gguf
    import numpy as np

    path = folder / "big-vocab.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_token_list([f"tok{i}" for i in range(n_vocab)])
    writer.add_token_scores([0.0] * n_vocab)
    writer.add_token_types([1] * n_vocab)
    writer.add_token_merges([f"t{i} k{i}" for i in range(n_vocab)])
    writer.add_tensor("token_embd.weight", np.zeros((16, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def end_to_end(model: str, rounds: int) -> dict[str, float]:
    home = tempfile.mkdtemp(prefix="bench-open-")
    env = dict(os.environ, WORKBENCH_HOME=home)
    sides = {
        "workbench tokenize": [WORKBENCH, "tokenize", "Hello"],
        "llama_cpp.Llama": [PYTHON, "-c", "import llama_cpp; "
                            f"llama_cpp.Llama(model_path={model!r}, verbose=False)"],
    }
    for command in sides.values():  # warm-up: page cache, .pyc files, the models folder
        wall(command, env)
    results: dict[str, list[float]] = {side: [] for side in sides}
    for round_no in range(rounds):
        order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
        for side in order:
            results[side].append(wall(sides[side], env))
    return {side: statistics.median(times) for side, times in results.items()}


def breakdown(model: str, rounds: int) -> dict[str, float]:
    """Medians of the parts of ``workbench tokenize``, each in a fresh interpreter."""
    env = dict(os.environ, WORKBENCH_HOME=tempfile.mkdtemp(prefix="bench-open-"))
    parts = {
        "interpreter start": "pass",
        "CLI imports + parser": "from workbench.cli.main import build_parser; build_parser()",
        "import gguf_check + check": ("from workbench.library.gguf_check import "
                                      f"check_model_file; check_model_file({model!r})"),
        "import llama_cpp": "import llama_cpp",
        "ModelHost start + close": (
            "from pathlib import Path; import tempfile\n"
            "from workbench.core.model_info import LoadSettings\n"
            "from workbench.engine.host.client import ModelHost\n"
            f"h = ModelHost(LoadSettings({model!r}, n_ctx=4096), "
            "logs_dir=Path(tempfile.mkdtemp()))\n"
            "import time; t = time.perf_counter(); h.start(); h.close()\n"
            "print(time.perf_counter() - t)"),
    }
    medians = {}
    for name, code in parts.items():
        times = []
        for _ in range(rounds):
            if name == "ModelHost start + close":  # timed inside: not the client's imports
                done = subprocess.run([PYTHON, "-c", code], env=env, check=True,
                                      capture_output=True, text=True)
                times.append(float(done.stdout.strip().splitlines()[-1]))
            else:
                times.append(wall([PYTHON, "-c", code], env))
        medians[name] = statistics.median(times)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = bundled_model_path()
    model = str(path)
    print(f"model {path.name} ({path.stat().st_size / 1e6:.0f} MB), {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs")

    from importlib.metadata import version

    import gguf  # imported before timing: the old code paid this once per process too

    header = gguf_header.read_header(path)
    print(f"header: {len(header.fields)} keys, {len(header.tensors)} tensors, vocabulary "
          f"{header.array_length('tokenizer.ggml.tokens'):,} (gguf {version('gguf')})\n")

    rows = [
        ("header", lambda: gguf_header.read_header(path), lambda: gguf.GGUFReader(path, "r")),
        ("one load's 2 checks", lambda: (check_model_file(path), check_model_file(path)),
         lambda: (old_check(path), old_check(path))),
        ("read_gguf_info", lambda: read_gguf_info(path), lambda: old_info(path)),
    ]
    print(f"{'in process':<22}{'new':>10}{'GGUFReader':>12}{'speed-up':>10}")
    for name, new, old in rows:
        t_new, t_old = best_of(new, args.rounds), best_of(old, max(2, args.rounds // 2))
        print(f"{name:<22}{t_new * 1000:>8.1f}ms{t_old * 1000:>10.0f}ms{t_old / t_new:>9.0f}x")

    big = big_vocab_file(Path(tempfile.mkdtemp(prefix="bench-open-")))
    t_new = best_of(lambda: gguf_header.read_header(big), args.rounds)
    t_old = best_of(lambda: gguf.GGUFReader(big, "r"), 1)
    print(f"{'header, 262k vocab':<22}{t_new * 1000:>8.1f}ms{t_old * 1000:>10.0f}ms"
          f"{t_old / t_new:>9.0f}x")

    print("\nparts of `workbench tokenize` (each in a fresh interpreter, median):")
    for name, seconds in breakdown(model, args.rounds).items():
        print(f"  {name:<28}{seconds * 1000:>7.0f} ms")

    print("\nend to end (median wall time):")
    medians = end_to_end(model, args.rounds)
    for side, seconds in medians.items():
        print(f"  {side:<28}{seconds * 1000:>7.0f} ms")
    ratio = medians["workbench tokenize"] / medians["llama_cpp.Llama"]
    print(f"workbench tokenize / llama_cpp.Llama: {ratio:.2f}  (<= 1.3 wanted)")


if __name__ == "__main__":
    main()
