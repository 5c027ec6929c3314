"""The grid's parts (GridChecks, GridJudging, …) use of the ComparePanel only what
``PanelParts`` declares (ui/compare/grid_parts.py), and the panel has all of it."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from workbench.ui.compare import grid_parts

COMPARE = Path(grid_parts.__file__).parent
PARTS = {"grid_checks.py": "GridChecks", "grid_judging.py": "GridJudging",
         "grid_inspect.py": "GridInspect", "grid_grounding.py": "GridGrounding",
         "grid_resume.py": "GridResume", "grid_pages.py": "GridPages"}


def declared() -> set[str]:
    protocol = ast.parse(Path(grid_parts.__file__).read_text())
    body = next(n for n in protocol.body if isinstance(n, ast.ClassDef)
                and n.name == "PanelParts").body
    return ({n.target.id for n in body if isinstance(n, ast.AnnAssign)}
            | {n.name for n in body if isinstance(n, ast.FunctionDef)})


def used_beyond_itself(path: Path, name: str) -> set[str]:
    """``self.x`` read in the part that the part neither defines nor sets itself."""
    part = next(n for n in ast.parse(path.read_text()).body
                if isinstance(n, ast.ClassDef) and n.name == name)
    assert [base.id for base in part.bases] == ["PanelBase"], f"{name} names no PanelBase"
    own = {n.name for n in part.body if isinstance(n, ast.FunctionDef)}
    read, written = set(), set()
    for node in ast.walk(part):
        if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "self":
            (written if isinstance(node.ctx, ast.Store) else read).add(node.attr)
    return read - own - written


def test_each_part_uses_only_what_the_protocol_declares():
    undeclared = {name: sorted(used_beyond_itself(COMPARE / file, name) - declared())
                  for file, name in PARTS.items()}
    assert {name: used for name, used in undeclared.items() if used} == {}


def test_the_protocol_is_a_real_protocol_that_types_resolve():
    assert typing.get_origin(grid_parts.PanelParts) is None
    assert grid_parts.PanelParts._is_protocol
    assert grid_parts.PanelBase is object  # at run time: nothing is mixed into the Qt class


def test_the_panel_in_the_window_has_everything_the_protocol_declares(main_window):
    panel = main_window.compare
    assert sorted(name for name in declared() if not hasattr(panel, name)) == []
