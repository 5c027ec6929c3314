"""A model load as a job (``ModelService.start_load``): the work done in the job's thread, and
how an engine's model is started with the job's progress and cancel."""

from __future__ import annotations

import inspect
import traceback
from typing import Any

from ..core.errors import WorkbenchError, describe_error
from ..core.job_state import CANCELLED, DONE, JobState
from ..engine.host.loading import LoadCancelled

UNCHANGED = object()  # start_load's template when the file's chosen one stays as it is


def start_watched(model: Any, job: JobState | None) -> Any:
    """Start an engine's model. With a job, through ``start(job=…)`` when the engine takes
    one (the llama.cpp host does: progress and cancel); an engine that does not (a plugin's)
    is started plainly: its job shows no progress, and a cancel is known once the load ends."""
    if job is not None and _takes_job(model.start):
        return model.start(job=job)
    return model.start()


def _takes_job(start) -> bool:
    try:
        return "job" in inspect.signature(start).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no way to ask, so no
        return False


def run_load_job(service, job: JobState, name_or_path: str | None, template: Any,
                 replacing: Any, options: dict) -> None:
    """Resolve, (keep the template,) load; end the job done with the host, failed with the
    reason, or cancelled. A plugin's engine that cannot stop a load finishes it: the job still
    ends cancelled, and the model stays with the service like any loaded one."""
    try:
        if template is not UNCHANGED:
            service.choose_template(name_or_path, template)
        host = service.load(service.settings_for(name_or_path, **options), job)
    except LoadCancelled:
        job.finish(None, status=CANCELLED)
        return
    except BaseException as error:  # noqa: BLE001 - the job says what went wrong
        if not isinstance(error, WorkbenchError):
            traceback.print_exc()
        job.fail(describe_error(error))
        return
    if job.cancelled and not _takes_job(host.start):
        job.finish(None, status=CANCELLED)
        return
    if replacing is not None and replacing is not host and \
            replacing.settings.path == host.settings.path:
        service.unload(replacing)
    job.finish(host, status=DONE)  # a cancel once the model is up undoes nothing
