"""Improve: point the app at a prompt and its checked cases, give it a budget, and it comes back
with a better prompt and the evidence, or says honestly that it found none.

It is a client of the evaluation lab, not a second engine: every candidate is scored by
``EvalService`` (its checks, its stored runs), and every candidate is a prompt version of the
session, so the grid opens, diffs and re-runs any step.

The service API (the window's *Improve…* dialog and ``workbench improve`` use only this)
=====================================================================================

::

    from workbench.services.improve import ImproveService, ImproveRequest, AllowedChanges

    service = ImproveService(evaluation)          # evaluation: the app's EvalService
    job = service.start(ImproveRequest(           # a JobState, running in a background thread
        session_id=session.id,                    # the session: its first prompt + case set
        version_id=None,                          # start from this version (None: the latest)
        target_model="SmolLM2-135M-Instruct",     # the variant being improved: model …
        target_sampling=variant_sampling,         # … and its SamplingSettings
        proposer_model=None,                      # who writes rewrites (None: the target)
        budget_generations=400,                   # target-model calls in all (held-out incl.)
        budget_minutes=None,                      # and/or minutes of work
        seed=0,
        allowed=AllowedChanges(instruction=True, examples=True, temperature=False,
                               system_prompt=False, format_line=False)),
        watcher=JobWatcher(on_progress=…, on_partial=…, on_finished=…))
    job.cancel()                                  # stops soon; the job can be resumed

* ``job.progress``: ``JobProgress(done=generations spent, total=budget, message)``.
* ``job.add_partial`` sends an ``ImproveProgress`` after every evaluation: ``phase``
  ("split", "searching", "held-out", "done"), ``generations``, ``budget``, ``round``, the
  ``candidate`` just scored, the ``best`` so far, and ``point`` (a ``PlotPoint``:
  generations → best training pass rate; the held-out rate appears at the end only, since
  the search must never see those cases). The live plot is the sequence of points;
  ``service.history(job_id)`` rebuilds it from the store.
* ``job.outcome`` at the end: an ``ImproveOutcome`` — ``job`` (the stored ``ImproveJob``),
  ``start``, ``best``, ``winner`` (``best`` when it is significantly better on the held-out
  cases, else None), ``evidence`` (``Evidence``: both pass rates with Wilson intervals, the
  exact McNemar test, ``significant``, ``verdict`` "significant improvement" / "no significant
  improvement", ``sentence()``), every ``candidates`` entry with its lineage, the ``split``
  (training and held-out case ids), ``spent`` (search and held-out generations, proposer
  calls, wall seconds) and ``history``. A failure: ``job.status == "failed"``, ``job.error``.
* A ``Candidate`` (``workbench.core.improve``): ``version_id`` (a stored PromptVersion:
  diff it with ``core.diff.version_text``/``word_diff``), ``settings`` (instruction,
  system prompt on/off, format line on/off, example keys, temperature), ``parent_id``,
  ``change`` (what differs from the parent), ``critique`` (the proposer's, for a rewrite),
  ``evaluations`` (each a stored run id with passed/total: ``training()``, ``held_out()``).
* "Use this version": ``service.adopt(job_id)`` saves the winner (or, asked explicitly with
  ``candidate_id``, any candidate) as the newest version of the session's prompt and returns
  it with the sampling it ran with.
* In two steps (``workbench improve`` tells the split first): ``service.create(request)``
  stores the job, ``service.start_work(job_id, watcher)`` starts it and returns the JobState
  (``service.to_resume(id_prefix)`` finds the job ``resume`` would take). ``work(job_id,
  job)`` is what that thread runs, blocking.
* Resume: a job whose process died is ``interrupted`` (``service.jobs(session_id)`` and
  ``service.find(id_prefix)`` give jobs with that status worked out from their lease; a
  cancelled one is ``cancelled``; both are in ``service.resumable(session_id)``).
  ``service.resume(job_id)`` (None: the newest) goes on in a background thread and returns
  the JobState; it
  replays the seeded search, taking every stored candidate, proposer answer and finished
  evaluation from the store and finishing a half-done evaluation run in place, so it ends
  where an uninterrupted job would.

Modules: ``request.py`` (ImproveRequest, AllowedChanges), ``split.py`` (the seeded,
stratified split), ``proposer.py`` (critique-then-rewrite prompts and their parsing),
``bootstrap.py`` (the example pool: the user's and bootstrapped examples), ``candidates.py``
(a candidate as a prompt version and a variant), ``scoring.py`` (one candidate on some cases:
an evaluated run), ``search.py`` (rounds, successive halving, Optuna's TPE), ``evidence.py``
(the significance rule), ``results.py`` (progress and outcome shapes), ``job.py``
(``ImproveService``: start, resume, cancel, adopt) and ``report.py`` (HTML/Markdown report).
"""

from ...core.improve import Candidate, CandidateSettings, Evaluation, ImproveJob
from .evidence import Evidence, weigh
from .request import AllowedChanges, ImproveRequest
from .results import ImproveOutcome, ImproveProgress, PlotPoint, Spent, Split

__all__ = ["AllowedChanges", "Candidate", "CandidateSettings", "Evaluation", "Evidence",
           "ImproveJob", "ImproveOutcome", "ImproveProgress", "ImproveRequest",
           "ImproveService", "PlotPoint", "Spent", "Split", "weigh"]


def __getattr__(name: str):
    # ImproveService pulls in the evaluation engine; the shapes above do not need it.
    if name == "ImproveService":
        from .job import ImproveService

        return ImproveService
    raise AttributeError(name)
