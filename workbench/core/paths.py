"""Where the workbench keeps its files.

platformdirs gives the per-user locations; ``WORKBENCH_HOME`` overrides all of them with one
folder, which is how tests (and portable installs) keep everything in a temporary directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "prompt-workbench"
HOME_ENV = "WORKBENCH_HOME"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def database(self) -> Path:
        return self.data / "workbench.sqlite3"

    @property
    def models(self) -> Path:
        """Models downloaded or copied by the workbench itself."""
        return self.data / "models"

    @property
    def adapters(self) -> Path:
        return self.data / "adapters"

    @property
    def plugins(self) -> Path:
        return self.data / "plugins"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> AppPaths:
        for folder in (self.data, self.config, self.cache, self.logs, self.models):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    """The current locations; re-read each call so a changed WORKBENCH_HOME takes effect."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(root / "data", root / "config", root / "cache", root / "logs")
    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
