"""Insert 10,000 outputs, then search them: prints the figures.

    .venv/bin/python tests/bench/bench_store.py [--outputs 10000] [--repeat 3]

Two baselines, measured in the same run, each on a fresh database, median of ``--repeat``:

* same schema: the same Output objects turned into rows by plain code, then inserted with
  plain sqlite3 ``executemany`` into a database the store created (every column, the indexes,
  the foreign keys, the ``search_refs`` + FTS5 triggers, the store's pragmas). The goal
  (issue 12) is measured against the insert alone, the strict reading: building the rows is
  work the store's figure includes but the baseline's does not.
* minimal: a two-column table with a one-column FTS5 index (the figure issue 12 quotes). It
  shows how much of the time is SQLite indexing the real schema, which no Python can remove.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.store.conftest import populate, save_outputs  # noqa: E402
from workbench.core.runs import Output  # noqa: E402
from workbench.store import Store  # noqa: E402

GOAL = 1.5  # store time / same-schema baseline time

WORDS = ("prompt model token answer context example variant sampling temperature seed "
         "lighthouse harbour engine cache latency window adapter rank alpha dataset").split()

COLUMNS = ("id", "run_id", "variant_id", "case_id", "text", "token_count", "prompt_tokens",
           "time_to_first_token_s", "tokens_per_second", "finish_reason", "sampling", "seed",
           "model_path", "model_sha256", "chat_template", "adapter_path", "adapter_scale",
           "engine_settings", "error", "created_at")


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(60)) + f" unique{i}" for i in range(n)]


def minimal_baseline(path: Path, bodies: list[str]) -> float:
    raw = sqlite3.connect(path)
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
    seconds = time.perf_counter() - start
    raw.close()
    return seconds


def plain_row(o: Output) -> tuple:
    return (o.id, o.run_id, o.variant_id, o.case_id, o.text, o.token_count, o.prompt_tokens,
            o.time_to_first_token_s, o.tokens_per_second, o.finish_reason,
            json.dumps(o.sampling.to_dict()), o.seed, o.model_path, o.model_sha256,
            o.chat_template, o.adapter_path, o.adapter_scale, json.dumps(o.engine_settings),
            o.error, o.created_at.isoformat(timespec="microseconds"))


def same_schema_baseline(path: Path, outputs: list[Output]) -> tuple[float, float]:
    """Seconds to build the rows, and seconds to insert and commit them (timed apart)."""
    raw = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                   "busy_timeout = 5000"):
        raw.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO outputs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    start = time.perf_counter()
    rows = [plain_row(o) for o in outputs]
    built = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("PRAGMA defer_foreign_keys = ON")
    raw.executemany(sql, rows)
    raw.execute("COMMIT")
    done = time.perf_counter()
    indexed = raw.execute("SELECT count(*) FROM search_refs WHERE kind = 'output'").fetchone()[0]
    assert indexed >= len(outputs), "the baseline must index what it inserts, as the store does"
    raw.close()
    return built - start, done - built


def copy_database(template: Path, target: Path) -> Path:
    shutil.copyfile(template, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outputs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    bodies = texts(args.outputs)

    template = folder / "template.sqlite3"
    store = Store.open(template)
    data = populate(store)
    store.close()  # the last connection checkpoints the WAL: the file alone is the database
    variant = data.run.variants[0].id
    outputs = [Output(data.run.id, variant, None, t) for t in bodies]

    minimal, built, inserted, batch = [], [], [], []
    for attempt in range(args.repeat):
        minimal.append(minimal_baseline(folder / f"minimal{attempt}.sqlite3", bodies))
        build, insert = same_schema_baseline(
            copy_database(template, folder / f"plain{attempt}.sqlite3"), outputs)
        built.append(build)
        inserted.append(insert)
        store = Store.open(copy_database(template, folder / f"store{attempt}.sqlite3"))
        start = time.perf_counter()
        save_outputs(store, outputs)  # add_output, as a run saves them, in one transaction
        batch.append(time.perf_counter() - start)
        if attempt < args.repeat - 1:
            store.close()
    raw_minimal, raw_build, raw_same, stored = (
        statistics.median(t) for t in (minimal, built, inserted, batch))

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
    ratio = stored / raw_same
    print(f"{n:,} outputs, one transaction:   {stored:6.2f} s  ({n / stored:,.0f} rows/s)"
          f"  median of {args.repeat}")
    print(f"  plain sqlite3, same schema:     {raw_same:6.2f} s  ({n / raw_same:,.0f} rows/s)"
          f"  + {raw_build:.2f} s building the rows")
    print(f"  store/same-schema ratio:        {ratio:6.2f}x  goal <= {GOAL}x: "
          f"{'met' if ratio <= GOAL else 'NOT met'} (SQLAlchemy's and the repository's share)")
    print(f"  plain sqlite3 + FTS5, minimal:  {raw_minimal:6.2f} s  "
          f"({n / raw_minimal:,.0f} rows/s; 2 columns, 1 index)")
    print(f"  store/minimal ratio:            {stored / raw_minimal:6.2f}x  "
          f"(of which SQLite's work for the real schema: {raw_same / raw_minimal:.2f}x)")
    print(f"one output per transaction:       {single * 1000:6.2f} ms each (as a run saves them)")
    for query, seconds, count in zip(queries, timings, counts):
        print(f"search {query!r:<24} {seconds * 1000:7.2f} ms  ({count} hits shown)")


if __name__ == "__main__":
    main()
