"""The schema revisions this app knows, read from the migration scripts without Alembic.

Importing Alembic costs ~0.2 s, and an up-to-date database (every start but the first after an
update) needs nothing from it: comparing ``alembic_version`` with the head read here is enough.
Each script under ``migrations/versions`` states ``revision = "…"`` and ``down_revision = …``
at top level, as Alembic's template writes them; a test checks the head found here against
Alembic's own ``ScriptDirectory``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")
VERSIONS = MIGRATIONS / "versions"

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@lru_cache(maxsize=1)
def revision_graph() -> dict[str, tuple[str, ...]]:
    """Each known revision and the revisions it follows (several after a merge)."""
    graph: dict[str, tuple[str, ...]] = {}
    for script in sorted(VERSIONS.glob("*.py")):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue  # not a migration script (e.g. a helper module)
        down = _DOWN.search(source)
        graph[revision.group(1)] = tuple(_QUOTED.findall(down.group(1))) if down else ()
    return graph


def known_revisions() -> set[str]:
    return set(revision_graph())


@lru_cache(maxsize=1)
def head_revision() -> str:
    graph = revision_graph()
    followed = {parent for parents in graph.values() for parent in parents}
    heads = sorted(set(graph) - followed)
    if len(heads) != 1:  # a packaging or authoring mistake, not something a user can fix
        raise RuntimeError(f"The migrations in {VERSIONS} have {len(heads)} heads: {heads}.")
    return heads[0]
