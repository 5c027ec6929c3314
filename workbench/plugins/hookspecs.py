"""The hooks a plugin can implement. Each takes a ``register`` callable (as in ``llm``).

Every hook here is documented and covered by a test (tests/plugins/test_hook_coverage.py).
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("workbench")
hookimpl = pluggy.HookimplMarker("workbench")


@hookspec
def register_backends(register):
    """Add model runtimes besides llama.cpp: ``register(Backend(scheme, open))``.

    ``open(reference)`` gets the text after ``scheme+`` in a model reference such as
    ``openai+http://127.0.0.1:8080/v1?model=smollm`` and returns an object with the
    ``TextModel`` protocol of ``workbench.engine.protocol``. ``Backend(..., load=…)`` on the
    ``llamacpp`` scheme replaces the engine of every local model file.
    """


@hookspec
def register_scorers(register):
    """Add metrics for outputs: ``register(Scorer(name, score))``.

    ``score(text, expected)`` returns a float (higher is better) or None when it does not apply.
    """


@hookspec
def register_prompt_transforms(register):
    """Change the messages before they are sent: ``register(PromptTransform(name, apply))``.

    ``apply(messages)`` takes and returns a list of ``ChatMessage``.
    """


@hookspec
def register_output_filters(register):
    """Flag outputs (safety, PII): ``register(OutputFilter(name, check))``.

    ``check(text)`` returns a list of ``Flag(reason, start, end)``; an empty list means clean.
    """


@hookspec
def register_importers(register):
    """Read datasets or cases from more formats: ``register(Importer(name, suffixes, read))``.

    ``read(path)`` returns ``workbench.core.tabular.Rows``.
    """


@hookspec
def register_exporters(register):
    """Write results in more formats: ``register(Exporter(name, suffix, write))``.

    ``write(path, rows)`` gets the rows (a dict per output) and writes the file; with
    ``Exporter(..., summary=True)``, ``write(path, rows, summary)`` also gets a dict about the
    run as a whole (ids, evaluation report, exit code). One exporter serves File ▸ Export
    results and ``workbench eval --export``; JSON, JSON lines, CSV and JUnit XML are built in.

    ``rows`` is a re-iterable, sized stream, not a list: each ``for row in rows`` reads the run
    from the store a batch at a time (iterate it as often as needed), ``len(rows)`` counts the
    rows without reading them. Write while iterating and a run of any size costs one batch of
    memory; ``list(rows)`` works, at the price of the whole run.
    """


@hookspec
def register_panels(register):
    """Add a panel to the main window: ``register(Panel(title, create))``.

    ``create(context)`` returns a QWidget; ``context`` gives the app's services.
    """


@hookspec
def register_menu_actions(register):
    """Add an entry to the Plugins menu: ``register(MenuAction(title, run))``.

    ``run(context)`` is called in the GUI thread when the user picks it.
    """


@hookspec
def register_settings(register):
    """Offer settings in the Plugins dialog: ``register(Setting(label, load, save))``.

    ``load()`` returns a list of strings (words, lines); ``save(entries)`` stores the edited
    list where the plugin reads it, so the change applies without a restart.
    """


@hookspec
def run_will_start(run):
    """Event: a comparison run (``workbench.core.runs.Run``) is about to start."""


@hookspec
def output_did_finish(output):
    """Event: an output (``workbench.core.runs.Output``) was generated and stored."""


@hookspec
def tune_job_did_finish(job):
    """Event: a tune job (``workbench.core.tune_jobs.TuneJob``) ended (done, failed or cancelled)."""
