"""Library settings kept beside the app's config: watched folders and whether to list the HF cache.

A JSON file (``library.json`` under ``app_paths().config``) rather than a database table:
these are a handful of user preferences, and files in watched folders are found by scanning,
never copied or stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.library_errors import LibraryError

SETTINGS_NAME = "library.json"


@dataclass(frozen=True)
class LibrarySettings:
    watched_folders: tuple[str, ...] = ()
    scan_hf_cache: bool = True  # list GGUF files already in the Hugging Face cache
    hidden: tuple[str, ...] = ()  # files removed from the library but left on disk

    def hiding(self, path: Path, hide: bool = True) -> LibrarySettings:
        rest = tuple(p for p in self.hidden if p != str(path))
        return replace(self, hidden=(*rest, str(path)) if hide else rest)

    def watching(self, folder: Path) -> LibrarySettings:
        folder_text = str(folder)
        if folder_text in self.watched_folders:
            return self
        return replace(self, watched_folders=(*self.watched_folders, folder_text))

    def unwatching(self, folder: Path) -> LibrarySettings:
        return replace(self, watched_folders=tuple(
            f for f in self.watched_folders if f != str(folder)))


@dataclass
class SettingsFile:
    path: Path
    notices: list[str] = field(default_factory=list)

    def load(self) -> LibrarySettings:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return LibrarySettings()
        except (OSError, ValueError) as error:
            # Unreadable preferences must not keep the library from opening.
            self.notices.append(f"The library settings {self.path} could not be read "
                                f"({error}); defaults are used.")
            return LibrarySettings()
        folders = data.get("watched_folders") or []
        return LibrarySettings(
            watched_folders=tuple(str(f) for f in folders if isinstance(f, str)),
            scan_hf_cache=bool(data.get("scan_hf_cache", True)),
            hidden=tuple(str(p) for p in data.get("hidden") or [] if isinstance(p, str)),
        )

    def save(self, settings: LibrarySettings) -> None:
        data = {"watched_folders": list(settings.watched_folders),
                "scan_hf_cache": settings.scan_hf_cache, "hidden": list(settings.hidden)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=2), "utf-8")
            os.replace(tmp, self.path)  # never a half-written settings file
        except OSError as error:
            raise LibraryError(f"Cannot save the library settings to {self.path}: "
                               f"{error.strerror}.") from None


def check_folder(folder: str | Path) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise LibraryError(f"Cannot watch {path}: the folder does not exist.")
    if not path.is_dir():
        raise LibraryError(f"Cannot watch {path}: it is a file, not a folder.")
    return path.resolve()
