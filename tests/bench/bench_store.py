"""Insert 10,000 outputs, then search them: prints the figures.

    .venv/bin/python tests/bench/bench_store.py [--outputs 10000]

Baseline in the same run: the same rows through plain sqlite3 executemany into a table of the
same shape with the same FTS5 index, so the ratio shows what the ORM and repositories cost.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.store.conftest import populate  # noqa: E402
from workbench.core.runs import Output  # noqa: E402
from workbench.store import Store  # noqa: E402

WORDS = ("prompt model token answer context example variant sampling temperature seed "
         "lighthouse harbour engine cache latency window adapter rank alpha dataset").split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(60)) + f" unique{i}" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    bodies = texts(args.outputs)

    raw = sqlite3.connect(folder / "raw.sqlite3")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("CREATE TABLE outputs (id TEXT PRIMARY KEY, text TEXT)")
    raw.execute("CREATE VIRTUAL TABLE idx USING fts5(body, tokenize='unicode61 remove_diacritics 2')")
    raw.execute("CREATE TRIGGER t AFTER INSERT ON outputs BEGIN "
                "INSERT INTO idx (rowid, body) VALUES (NEW.rowid, NEW.text); END")
    start = time.perf_counter()
    with raw:
        raw.executemany("INSERT INTO outputs VALUES (?, ?)",
                        ((str(i), t) for i, t in enumerate(bodies)))
    raw_batch = time.perf_counter() - start
    raw.close()

    store = Store.open(folder / "workbench.sqlite3")
    data = populate(store)
    variant = data.run.variants[0].id
    outputs = [Output(data.run.id, variant, None, t) for t in bodies]
    start = time.perf_counter()
    store.runs.add_outputs(outputs)
    batch = time.perf_counter() - start

    one_by_one = outputs[:500]
    start = time.perf_counter()
    for output in one_by_one:
        store.runs.add_output(Output(output.run_id, output.variant_id, None, output.text))
    single = (time.perf_counter() - start) / len(one_by_one)

    queries = ["lighthouse", "adapter rank", "unique4242", "cache latency window", "temp"]
    timings, counts = [], []
    for query in queries:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            hits = store.search.search(query, limit=20)
            runs.append(time.perf_counter() - start)
        timings.append(statistics.median(runs))
        counts.append(len(hits))
    store.close()

    n = args.outputs
    print(f"{n:,} outputs, one transaction:   {batch:6.2f} s  ({n / batch:,.0f} rows/s)")
    print(f"  plain sqlite3 + FTS5 baseline:  {raw_batch:6.2f} s  ({n / raw_batch:,.0f} rows/s)")
    print(f"  store/baseline time ratio:      {batch / raw_batch:6.1f}x (the ORM's share)")
    print(f"one output per transaction:       {single * 1000:6.2f} ms each (as a run saves them)")
    for query, seconds, count in zip(queries, timings, counts):
        print(f"search {query!r:<24} {seconds * 1000:7.2f} ms  ({count} hits shown)")


if __name__ == "__main__":
    main()
