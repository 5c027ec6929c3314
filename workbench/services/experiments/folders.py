"""Where experiments keep their files: ``<data>/experiments/<UTC time>-<kind>/``, one new
folder per run (never shared, even by two runs started in the same second)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ...core.paths import AppPaths, app_paths

STAMP = "%Y%m%dT%H%M%SZ"


def experiments_folder(paths: AppPaths | None = None) -> Path:
    return (paths or app_paths()).data / "experiments"


def new_experiment_folder(paths: AppPaths | None, kind: str, started: datetime) -> Path:
    """A new, empty folder for one run of ``kind`` started at ``started`` (UTC)."""
    name = f"{started.strftime(STAMP)}-{kind}"
    parent = experiments_folder(paths)
    folder, number = parent / name, 1
    while folder.exists():
        number += 1
        folder = parent / f"{name}-{number}"
    folder.mkdir(parents=True)
    return folder
