"""``workbench improve`` as a user runs it: a tiny suite on the bundled model, killed with
SIGKILL half-way through an evaluation and resumed; exit codes; a request that cannot run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import sqlean

from workbench.core.paths import app_paths

SUITE = textwrap.dedent("""
    description: tiny sentiment
    prompts: ["Is this review positive or negative?\\n\\n{{review}}"]
    providers:
      - id: smollm2-135m-instruct
        config: {temperature: 0, max_tokens: 6, seed: 0}
    defaultTest:
      assert: [{type: max-length, value: 30}]
    tests:
    """) + "".join(
    f"  - vars: {{review: \"{text}\"}}\n    expected: {label}\n"
    f"    assert: [{{type: icontains, value: {label}}}]\n"
    for text, label in [("Loved it, lovely staff.", "positive"),
                        ("Broken on arrival, awful.", "negative"),
                        ("Delicious pizza, cosy room.", "positive"),
                        ("Cold soup, slow waiter.", "negative"),
                        ("Brilliant, clever, funny.", "positive"),
                        ("Leaks, cracked lid.", "negative")])


def workbench(*arguments: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *arguments], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=timeout, check=False)


def database():
    return app_paths().data / "workbench.sqlite3"


def half_done_evaluation() -> tuple[str, int] | None:
    """(run id, outputs stored) of an evaluation that started and has not finished, once its
    run holds at least one output."""
    if not database().exists():
        return None
    connection = sqlean.connect(f"file:{database()}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute("SELECT evaluations FROM improve_candidates").fetchall()
        for (evaluations,) in rows:
            for evaluation in json.loads(evaluations):
                if evaluation["run_id"] and not evaluation["done"]:
                    count = connection.execute("SELECT COUNT(*) FROM outputs o JOIN variants v "
                                               "ON o.variant_id = v.id WHERE v.run_id = ?",
                                               (evaluation["run_id"],)).fetchone()[0]
                    if count:
                        return evaluation["run_id"], count
    except sqlean.OperationalError:
        return None  # the tables are not there yet
    finally:
        connection.close()
    return None


def test_a_job_killed_mid_evaluation_resumes_from_the_store(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(SUITE)
    process = subprocess.Popen([sys.executable, "-m", "workbench", "improve", str(suite),
                                "--budget", "20", "--allow", "examples", "--seed", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=os.environ.copy())
    found = None
    deadline = time.monotonic() + 900
    while found is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.3)
        found = half_done_evaluation()
    assert found is not None, process.stderr.read().decode()[-2000:] if process.poll() else ""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    run_id, stored_before = found
    # `workbench eval --resume` leaves the job's sample run alone: as a plain run it would be
    # filled with every case of the set, held-out ones included
    plain = workbench("eval", "--resume")
    assert plain.returncode == 1 and "No interrupted or stopped run to resume" in plain.stderr
    named = workbench("eval", "--resume", run_id[:12])
    assert named.returncode == 1 and "workbench improve --resume" in named.stderr, named.stderr

    listed = workbench("improve", "--resume", "--json", str(tmp_path / "out.json"),
                       "--out", str(tmp_path / "report.md"))
    assert listed.returncode in (0, 100), listed.stderr
    assert "Resuming improve job" in listed.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["status"] == "done"
    assert listed.returncode == (0 if result["significant"] else 100) == result["exit_code"]
    # the run cut off by the kill was finished in place: same run, no cell generated twice
    evaluations = [e for c in result["candidates"] for e in c["evaluations"]]
    resumed = [e for e in evaluations if e["run_id"] == run_id]
    assert resumed and all(e["done"] for e in resumed)
    connection = sqlean.connect(str(database()))
    try:
        cells = connection.execute(
            "SELECT o.variant_id, o.case_id, o.repeat, COUNT(*) FROM outputs o JOIN variants v "
            "ON o.variant_id = v.id WHERE v.run_id = ? GROUP BY 1, 2, 3", (run_id,)).fetchall()
        status = connection.execute("SELECT status FROM runs WHERE id = ?",
                                    (run_id,)).fetchone()[0]
    finally:
        connection.close()
    assert status == "done"
    assert len(cells) == sum(len(e["case_ids"]) for e in resumed[:1]) * len(
        {v for v, *_ in cells})
    assert all(count == 1 for *_, count in cells) and len(cells) >= stored_before
    # a resumed training run asks only its own cases, never a held-out one
    assert not {case for _, case, *_ in cells} & set(result["split"]["held_out"])
    assert result["spent"]["generations"] <= 20
    report = (tmp_path / "report.md").read_text()
    assert "Held-out cases (never seen by the search)" in report
    assert (tmp_path / "report-figures" / "improve-plot.png").stat().st_size > 1000
    # nothing is left to resume
    again = workbench("improve", "--resume")
    assert again.returncode == 1 and "No interrupted, cancelled or failed improve job" in again.stderr


def test_a_budget_too_small_to_prove_anything_is_refused_before_work(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(SUITE)
    done = workbench("improve", str(suite), "--budget", "5", timeout=300)
    assert done.returncode == 1
    assert "too small" in done.stderr
    nothing = workbench("improve", str(suite), "--session", "x", timeout=120)
    assert nothing.returncode == 1 and "Name one of" in nothing.stderr
