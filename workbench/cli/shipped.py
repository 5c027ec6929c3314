"""A command's file argument: a path, else a file shipped with the app by its name
(``redteam`` → workbench_resources/redteam.yaml, ``made-up-fact`` → examples/made-up-fact.toml),
so an installed wheel runs the shipped examples without a checkout."""

from __future__ import annotations

from pathlib import Path


def shipped_or_path(text: str, folder: str, suffix: str) -> Path:
    """``folder``: the workbench_resources attribute to look in (EXAMPLES, SUITES)."""
    path = Path(text)
    if path.exists():
        return path
    try:
        import workbench_resources
    except ImportError:
        return path
    shipped = getattr(workbench_resources, folder) / (
        text if text.endswith(suffix) else f"{text}{suffix}")
    return shipped if shipped.is_file() else path
