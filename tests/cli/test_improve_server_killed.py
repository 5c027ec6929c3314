"""``workbench improve`` whose target is a real llama_cpp.server on 127.0.0.1, SIGKILLed while
a candidate is being evaluated: the job fails saying why, nothing is scored from the cells the
dead server could not answer, and the command exits 1 — never a result, never a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import sqlean

from tests.cli.test_improve_cli import database
from tests.plugins.test_openai_compat_cli import free_port, start_server

REVIEWS = [("Loved it, lovely staff.", "positive"), ("Broken on arrival, awful.", "negative"),
           ("Delicious pizza, cosy room.", "positive"), ("Cold soup, slow waiter.", "negative"),
           ("Brilliant, clever, funny.", "positive"), ("Leaks, cracked lid.", "negative"),
           ("Kind nurses, quick care.", "positive"), ("Rude driver, late bus.", "negative")]


PROMPT = ("Describe this review in two sentences, then say if it is positive or negative."
          "\\n\\n{{review}}")


def suite_text(base: str) -> str:
    # answers of a few dozen tokens: a cell lasts long enough for the kill to land inside an
    # evaluation rather than between two
    return textwrap.dedent(f"""
        description: sentiment on a server
        prompts: ["{PROMPT}"]
        providers:
          - id: openai+{base}?model=smollm2
            config: {{temperature: 0, max_tokens: 48, seed: 0}}
        tests:
        """) + "".join(f"  - vars: {{review: \"{text}\"}}\n    expected: {label}\n"
                       f"    assert: [{{type: icontains, value: {label}}}]\n"
                       for text, label in REVIEWS)


def rows(query: str, *parameters) -> list[tuple]:
    connection = sqlean.connect(f"file:{database()}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(query, parameters).fetchall()
    finally:
        connection.close()


def evaluations() -> list[tuple[str, dict]]:
    """(candidate slot, evaluation) of every candidate so far."""
    try:
        found = rows("SELECT slot, evaluations FROM improve_candidates")
    except sqlean.OperationalError:
        return []  # the database or its tables are not there yet
    return [(slot, evaluation) for slot, stored in found for evaluation in json.loads(stored)]


def outputs_of(run_id: str) -> list[tuple[str, str | None]]:
    """(variant label, error) of each output the run stored."""
    return rows("SELECT v.label, o.error FROM outputs o JOIN variants v ON o.variant_id = v.id "
                "WHERE o.run_id = ?", run_id)


def evaluation_under_way() -> str | None:
    """The run of an evaluation that has stored some of its answers and not all, past the
    start's first one (so the kill lands amid the search: a trial, or the held-out
    comparison)."""
    for slot, evaluation in evaluations():
        run_id = evaluation["run_id"]
        if (slot == "start" and evaluation["stage"] == "training") or evaluation["done"] \
                or not run_id:
            continue
        [(variants,)] = rows("SELECT COUNT(*) FROM variants WHERE run_id = ?", run_id)
        if 0 < len(outputs_of(run_id)) < variants * len(evaluation["case_ids"]):
            return run_id
    return None



def kill_server_mid_job(job: subprocess.Popen, server: subprocess.Popen, log, ready,
                        nothing_caught: str) -> tuple[str, str]:
    """SIGKILL the server once ``ready()`` holds while ``job`` runs, then let the job end on
    its own (no hang allowed): its stdout and stderr. Both processes are gone afterwards."""
    try:
        deadline = time.monotonic() + 900
        while job.poll() is None and time.monotonic() < deadline and not ready():
            time.sleep(0.2)
        assert job.poll() is None, nothing_caught + ": " + job.communicate()[1][-2000:]
        assert time.monotonic() < deadline, nothing_caught + ": still running"
        os.kill(server.pid, signal.SIGKILL)
        server.wait(30)
        return job.communicate(timeout=900)
    finally:
        if job.poll() is None:
            job.kill()
        server.kill()
        server.wait(10)
        log.close()

SERVER_ARGUMENTS = ["--n_ctx", "1024", "--model_alias", "smollm2", "--interrupt_requests", "False"]


def test_a_target_server_killed_mid_evaluation_fails_the_job_and_scores_nothing(
        tmp_path, bundled_model):
    """… and once the server is back, ``--resume`` goes on with the failed job: the cut
    evaluation runs again in a new run, what was scored before is kept, the job ends."""
    port = free_port()
    server, log, base = start_server(["--model", str(bundled_model), *SERVER_ARGUMENTS],
                                     tmp_path / "server.log", port)
    suite = tmp_path / "served.yaml"
    suite.write_text(suite_text(base))
    job = subprocess.Popen([sys.executable, "-m", "workbench", "improve", str(suite),
                            "--budget", "30", "--allow", "examples", "--seed", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=os.environ.copy())
    caught: list[str] = []

    def under_way() -> bool:
        caught.append(evaluation_under_way())
        return caught[-1] is not None

    stdout, stderr = kill_server_mid_job(job, server, log, under_way,
                                         "no evaluation was caught under way")
    killed = caught[-1]

    assert job.returncode == 1, stdout + stderr
    assert "failed to generate" in stderr, stderr
    assert "`workbench improve --resume" in stderr, stderr
    assert any(reason in stderr for reason in ("Cannot reach", "without its end", "broke")), \
        stderr
    assert "Significant improvement" not in stdout and "No significant" not in stdout
    [(status, error)] = rows("SELECT status, error FROM improve_jobs")
    assert status == "failed" and "failed to generate" in error
    # the evaluation the kill cut is not scored: no pass count came out of dead cells
    cut = [(slot, e) for slot, e in evaluations() if e["run_id"] == killed]
    assert cut and all(not e["done"] and e["passed"] == 0 and e["total"] == 0 for _, e in cut)
    failed = [label for label, error in outputs_of(killed) if error]
    assert failed, "the dead server's cells were stored as answers"
    # every evaluation that was scored was scored on answers only
    for slot, evaluation in evaluations():
        if evaluation["done"]:
            assert not [error for label, error in outputs_of(evaluation["run_id"])
                        if label == slot and error]
    # and no verdict of a cell that failed to generate is a pass
    assert not rows("SELECT r.id FROM eval_results r JOIN outputs o ON r.output_id = o.id "
                    "WHERE o.error IS NOT NULL AND r.passed")
    scored_before = {(slot, e["stage"], e["rung"]): e["run_id"]
                     for slot, e in evaluations() if e["done"]}

    server, log, _ = start_server(["--model", str(bundled_model), *SERVER_ARGUMENTS],
                                  tmp_path / "server-again.log", port)
    try:
        resumed = subprocess.run([sys.executable, "-m", "workbench", "improve", "--resume"],
                                 capture_output=True, text=True, env=os.environ.copy(),
                                 timeout=900)
    finally:
        server.kill()
        server.wait(10)
        log.close()
    assert resumed.returncode in (0, 100), resumed.stdout + resumed.stderr[-3000:]
    assert "Resuming improve job" in resumed.stderr
    [(status, error)] = rows("SELECT status, error FROM improve_jobs")
    assert status == "done", error
    after = evaluations()
    assert killed not in {e["run_id"] for _, e in after}, "the cut run was scored"
    assert all(e["done"] for _, e in after)
    for key, run_id in scored_before.items():  # kept, never paid for twice
        assert {(slot, e["stage"], e["rung"]): e["run_id"] for slot, e in after}[key] == run_id
    assert not rows("SELECT r.id FROM eval_results r JOIN outputs o ON r.output_id = o.id "
                    "WHERE o.error IS NOT NULL AND r.passed")
