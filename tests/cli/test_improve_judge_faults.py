"""``workbench improve`` whose checks are graded by a judge on 127.0.0.1 that fails: its
stream cut off (a small SSE server), or a real llama_cpp.server SIGKILLed amid the search. The
target is the bundled model, in the command's own process. A check the judge could not decide
is not a failed check: the candidate is not scored, the job fails saying why, and the command
exits 1 — a judge fault never steers the search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.cli.test_improve_server_killed import REVIEWS, evaluations, kill_server_mid_job, rows
from tests.plugins.test_openai_compat_cli import free_port, start_server
from tests.plugins.test_stream_faults import faulty  # noqa: F401 - a fixture

MUST_FAIL = ("Significant improvement", "No significant")  # what a finished job prints


def suite_text(judge: str) -> str:
    """Six reviews on the bundled model, each graded by ``judge`` (an llm-rubric) beside a
    plain check, so a verdict needs both."""
    return textwrap.dedent(f"""
        description: judged sentiment
        prompts: ["Is this review positive or negative?\\n\\n{{{{review}}}}"]
        providers:
          - id: smollm2-135m-instruct
            config: {{temperature: 0, max_tokens: 6, seed: 0}}
        defaultTest:
          options: {{provider: "{judge}"}}
          assert: [{{type: llm-rubric, value: names the sentiment of the review}}]
        tests:
        """) + "".join(f"  - vars: {{review: \"{text}\"}}\n    expected: {label}\n"
                       f"    assert: [{{type: icontains, value: {label}}}]\n"
                       for text, label in REVIEWS[:6])


def improve(suite) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", "improve", str(suite),
                             "--budget", "20", "--allow", "examples", "--seed", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def undecided_verdicts() -> list[tuple[str, str, dict]]:
    """(run id, variant label, verdict) of each stored verdict with a check left undecided."""
    found = rows("SELECT r.run_id, v.label, r.verdict FROM eval_results r "
                 "JOIN outputs o ON r.output_id = o.id JOIN variants v ON o.variant_id = v.id")
    return [(run_id, label, verdict) for run_id, label, stored in found
            if '"undecided": true' in stored
            for verdict in [json.loads(stored)]]


def assert_failed_unscored(returncode: int, stdout: str, stderr: str) -> None:
    """The job failed on an undecided verdict, and nothing was scored on one."""
    assert returncode == 1, stdout + stderr
    assert "could not be decided" in stderr and "the judge failed" in stderr, stderr
    assert not any(line in stdout for line in MUST_FAIL), stdout
    [(status, error)] = rows("SELECT status, error FROM improve_jobs")
    assert status == "failed" and "could not be decided" in error, error
    undecided = undecided_verdicts()
    assert undecided, "no verdict was stored undecided"
    assert not [verdict for _, _, verdict in undecided if verdict["passed"]]
    for slot, evaluation in evaluations():
        if evaluation["done"]:  # scored: every verdict of its cells was decided
            assert (evaluation["run_id"], slot) not in {(r, label) for r, label, _ in undecided}
    cut = {run_id for run_id, _, _ in undecided}
    assert all(not e["done"] and e["total"] == 0
               for _, e in evaluations() if e["run_id"] in cut)


def test_a_judge_whose_stream_is_cut_off_fails_the_job_instead_of_scoring(
        tmp_path, faulty):  # noqa: F811 - the fixture imported above
    faulty.judge_mode = "cut"
    suite = tmp_path / "judged.yaml"
    suite.write_text(suite_text(f"openai+http://127.0.0.1:{faulty.server_port}/v1?model=judge"))
    job = improve(suite)
    stdout, stderr = job.communicate(timeout=1500)
    assert_failed_unscored(job.returncode, stdout, stderr)
    assert "without its end" in stderr, stderr
    # the very first evaluation (the start's) met the cut judge: nothing was ever scored
    assert not [e for _, e in evaluations() if e["done"]]


def first_verdict_stored() -> bool:
    try:
        return bool(rows("SELECT id FROM eval_results LIMIT 1"))
    except Exception:  # noqa: BLE001 - the database or its tables are not there yet
        return False


def test_a_judge_server_killed_amid_the_search_fails_the_job_instead_of_scoring(
        tmp_path, bundled_model):
    server, log, base = start_server(
        ["--model", str(bundled_model), "--n_ctx", "2048", "--model_alias", "judge"],
        tmp_path / "judge.log", free_port())
    suite = tmp_path / "judged.yaml"
    suite.write_text(suite_text(f"openai+{base}?model=judge"))
    job = improve(suite)
    # the judge dies while the search needs it
    stdout, stderr = kill_server_mid_job(job, server, log, first_verdict_stored,
                                         "the job ended before the judge graded anything")
    assert_failed_unscored(job.returncode, stdout, stderr)
    assert any(reason in stderr for reason in ("Cannot reach", "without its end", "broke")), \
        stderr
