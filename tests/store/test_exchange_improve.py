"""A session's improve jobs travel with it: export a session holding a search and its
candidates, import it into a fresh database, and the job, its candidates (their versions,
lineage and evaluations) and the runs that scored them are all there (real SQLite files)."""

from __future__ import annotations

import json

from tests.store.conftest import populate
from workbench.core.improve import (
    DONE,
    HELD_OUT,
    TRAINING,
    Candidate,
    CandidateSettings,
    Evaluation,
    ImproveJob,
)
from workbench.store import Store
from workbench.store.exchange import export_session, import_session


def with_an_improve_job(store: Store):
    """The populated session, searched: v1 the start, v2 the rewrite that beat it, both
    scored by the session's run."""
    data = populate(store)
    v1, v2 = data.versions
    case_ids = tuple(case.id for case in data.case_set.cases)
    job = store.improve.add_job(ImproveJob(
        data.session.id, v1.id, {"budget_generations": 40, "seed": 3},
        split={"training": [case_ids[0]], "held_out": [case_ids[1]]}, status=DONE,
        result={"evidence": {"p_value": 0.5}}, elapsed_s=12.5))
    start = store.improve.add_candidate(Candidate(
        job.id, "start", v1.id, CandidateSettings(examples=("u0",)), position=0,
        evaluations=(Evaluation(TRAINING, 0, case_ids[:1], data.run.id, 1, 1, 1, True),)))
    rewrite = store.improve.add_candidate(Candidate(
        job.id, "r1-rewrite-0", v2.id, CandidateSettings("Answer with one word."),
        parent_id=start.id, change="instruction rewritten", critique="answers ran long",
        round=1, position=1,
        evaluations=(Evaluation(TRAINING, 0, case_ids[:1], data.run.id, 1, 1, 1, True),
                     Evaluation(HELD_OUT, 0, case_ids[1:], data.run.id, 1, 1, 1, True))))
    return data, job, [start, rewrite]


def test_an_improve_job_and_its_candidates_survive_export_and_import(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data, job, candidates = with_an_improve_job(source)
    file = tmp_path / "searched.json.gz"
    counts = export_session(source.db, data.session.id, file)
    assert counts["improve_jobs"] == 1 and counts["improve_candidates"] == 2
    source.close()

    target = Store.open(tmp_path / "fresh.sqlite3")
    try:
        result = import_session(target.db, file)
        assert result.added["improve_jobs"] == 1 and result.added["improve_candidates"] == 2
        assert target.improve.jobs(data.session.id) == [job]
        assert target.improve.candidates(job.id) == candidates
        # what the candidates point at came along: their versions and the scoring run
        rewrite = target.improve.candidates(job.id)[1]
        assert target.prompts.version(rewrite.version_id).parent_id == data.versions[0].id
        assert target.improve.run_owners() == {data.run.id: job.id}
        assert len(target.runs.outputs(data.run.id)) == len(data.outputs)
        again = import_session(target.db, file)  # a second import adds nothing
        assert again.added["improve_candidates"] == 0
        assert again.already_present["improve_jobs"] == 1
    finally:
        target.close()


def test_an_export_from_before_improve_imports_without_jobs(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data, _, _ = with_an_improve_job(source)
    file = tmp_path / "old.json"
    export_session(source.db, data.session.id, file)
    source.close()
    document = json.loads(file.read_text())
    # what the previous version wrote: format 5, no improve tables
    document["format_version"], document["schema_revision"] = 5, "0008"
    del document["tables"]["improve_jobs"], document["tables"]["improve_candidates"]
    file.write_text(json.dumps(document))
    target = Store.open(tmp_path / "b.sqlite3")
    try:
        result = import_session(target.db, file)
        assert result.added["outputs"] == len(data.outputs)
        assert result.added["improve_jobs"] == 0 and target.improve.jobs() == []
    finally:
        target.close()
