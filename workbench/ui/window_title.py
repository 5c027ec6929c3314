"""The window title: the session's name, with a dot while the prompt has unsaved edits."""

from __future__ import annotations

from ..core.prompts import PromptVersion, content_hash

APP_NAME = "Prompt Workbench"
UNSAVED_MARK = "● "


def is_unsaved(content: tuple, latest: PromptVersion | None) -> bool:
    """``content``: the composer's (system, examples, template). With no saved version yet,
    any text at all is unsaved."""
    system, examples, template = content
    if latest is None:
        return bool(system.strip() or examples or template.strip())
    return content_hash(system, examples, template) != latest.content_hash


def window_title(session_name: str | None, unsaved: bool = False) -> str:
    if not session_name:
        return APP_NAME
    return f"{UNSAVED_MARK if unsaved else ''}{session_name} — {APP_NAME}"
