"""Library settings kept beside the app's config: watched folders, whether to list the HF cache,
and the chat template the user chose for a model file.

A JSON file (``library.json`` under ``app_paths().config``) rather than a database table:
these are a handful of user preferences, and files in watched folders are found by scanning,
never copied or stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.chat_template import ChatTemplateError, TemplateChoice
from ..core.library_errors import LibraryError

SETTINGS_NAME = "library.json"


@dataclass(frozen=True)
class LibrarySettings:
    watched_folders: tuple[str, ...] = ()
    scan_hf_cache: bool = True  # list GGUF files already in the Hugging Face cache
    hidden: tuple[str, ...] = ()  # files removed from the library but left on disk
    # (model file path, the user's template for it); kept here, not in the database: a
    # preference per file, like the two above, and no migration for it.
    chat_templates: tuple[tuple[str, TemplateChoice], ...] = ()

    def template_for(self, path: Path | str) -> TemplateChoice | None:
        return next((c for p, c in self.chat_templates if p == str(path)), None)

    def choosing_template(self, path: Path | str, choice: TemplateChoice | None
                          ) -> LibrarySettings:
        """With ``choice`` for ``path`` (None: back to the file's own template)."""
        rest = tuple((p, c) for p, c in self.chat_templates if p != str(path))
        return replace(self, chat_templates=(*rest, (str(path), choice)) if choice else rest)

    def hiding(self, path: Path, hide: bool = True) -> LibrarySettings:
        rest = tuple(p for p in self.hidden if p != str(path))
        return replace(self, hidden=(*rest, str(path)) if hide else rest)

    def watching(self, folder: Path) -> LibrarySettings:
        folder_text = str(folder)
        if folder_text in self.watched_folders:
            return self
        return replace(self, watched_folders=(*self.watched_folders, folder_text))


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
            chat_templates=self._templates(data.get("chat_templates")),
        )

    def _templates(self, data) -> tuple[tuple[str, TemplateChoice], ...]:
        chosen = []
        for path, value in (data or {}).items() if isinstance(data, dict) else ():
            try:
                chosen.append((str(path), TemplateChoice.from_dict(value)))
            except (ChatTemplateError, AttributeError):
                self.notices.append(f"The chat template chosen for {path} in {self.path} "
                                    f"could not be read; the file's own is used.")
        return tuple(chosen)

    def save(self, settings: LibrarySettings) -> None:
        data = {"watched_folders": list(settings.watched_folders),
                "scan_hf_cache": settings.scan_hf_cache, "hidden": list(settings.hidden),
                "chat_templates": {p: c.to_dict() for p, c in settings.chat_templates}}
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
