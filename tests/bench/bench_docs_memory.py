"""Peak memory of ``workbench docs add`` against the file's size (issue 23, part 5).

    .venv/bin/python tests/bench/bench_docs_memory.py [--sizes 30,300] [--embed 0]
        [--source DIR] [--work DIR]

Each size (MB) is a generated markdown file (headings, paragraphs of made-up sentences) added
to a new set through the real command line, BM25 only (``--no-embed``: chunked in the bundled
model's own tokens, stored with its FTS5 index). ``--embed N`` also adds an N MB file with
embeddings (the bundled model; 37,000 chunks of 30 MB would take over an hour on two cores).
Each run gets its own ``WORKBENCH_HOME``. The peak resident memory (VmHWM) of the CLI process
and of its model host is read from /proc while the command runs. ``--source DIR`` runs another
checkout's code (the same virtual environment), to compare before and after. Prints, never
asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("tram ferry harbour lantern festival reservoir library permit market bicycle fog "
         "council clinic school bridge river meadow orchid quay bell tower tide brume").split()


def write_document(path: Path, megabytes: float, seed: int = 5) -> None:
    """Markdown of ``megabytes`` MB: a pool of paragraphs drawn again and again, each numbered
    (so no two are the same text), a heading every 40 paragraphs."""
    rng = random.Random(seed)
    letters = random.Random(seed + 1)
    words = WORDS + ["".join(letters.choice("bcdfghklmnprstvz") + letters.choice("aeiou")
                             for _ in range(3)) for _ in range(3000)]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(6, 18))).capitalize() + "."

    pool = [" ".join(sentence() for _ in range(rng.randint(3, 7))) for _ in range(4000)]
    target, written, number = megabytes * 1_000_000, 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            block = []
            for _ in range(400):
                if number % 40 == 0:
                    block.append(f"## Section {number // 40}\n\n")
                block.append(f"{number}. {rng.choice(pool)}\n\n")
                number += 1
            text = "".join(block)
            handle.write(text)
            written += len(text)


def hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_add(path: Path, home: Path, *, embed: bool, source: Path) -> dict:
    """``workbench docs add`` of a file or folder in a child process: its peak resident
    memory and its model host's (MB), its summary line and its stderr."""
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(source),
               QT_QPA_PLATFORM="offscreen")
    command = [sys.executable, "-m", "workbench", "docs", "add", f"bench-{path.stem}", str(path)]
    if not embed:
        command.append("--no-embed")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=source, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peaks = {"cli": 0, "host": 0}
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        peaks["cli"] = max(peaks["cli"], hwm_kib(process.pid) or 0)
        try:
            children = watched.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                is_host = "workbench.engine.host" in " ".join(child.cmdline())
            except psutil.Error:
                continue
            if is_host:
                peaks["host"] = max(peaks["host"], hwm_kib(child.pid) or 0)
        time.sleep(0.1)
    out, err = process.communicate()
    return {"seconds": time.perf_counter() - started, "code": process.returncode,
            "summary": out.strip().splitlines()[-1] if out.strip() else err.strip()[-400:],
            "err": err, "cli_mb": peaks["cli"] / 1024, "host_mb": peaks["host"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300", help="file sizes in MB, BM25 only")
    parser.add_argument("--embed", type=float, default=0, metavar="MB",
                        help="also add a file of this size with embeddings (0: none)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--work", type=Path, help="where files and homes go (default: a "
                                                  "temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-docs-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = [(float(s), False) for s in args.sizes.split(",") if s] + (
        [(args.embed, True)] if args.embed else [])
    print(f"source {args.source}; files in {work}", flush=True)
    print(f"{'file':>8} {'embed':>6} {'seconds':>8} {'CLI peak':>10} {'host peak':>10}  summary",
          flush=True)
    for megabytes, embed in runs:
        file = work / f"doc{megabytes:g}mb.md"
        if not file.exists():
            write_document(file, megabytes)
        home = work / f"home-{megabytes:g}-{'embed' if embed else 'bm25'}-{time.time_ns()}"
        found = run_add(file, home, embed=embed, source=args.source)
        print(f"{megabytes:>6g}MB {'yes' if embed else 'no':>6} {found['seconds']:>8.1f} "
              f"{found['cli_mb']:>8.0f}MB {found['host_mb']:>8.0f}MB  "
              f"{'exit ' + str(found['code']) + ': ' if found['code'] else ''}"
              f"{found['summary']}", flush=True)


if __name__ == "__main__":
    main()
