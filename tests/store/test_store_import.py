"""Opening an up-to-date database does not import Alembic (~0.2 s of every start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from workbench.store import Store
from workbench.store.migrate import alembic_config
from workbench.store.revisions import head_revision, known_revisions

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from workbench.store import Store
store = Store.open(sys.argv[1])
store.sessions.list()
revision = store.db.revision()
store.close()
print(revision, 'alembic' in sys.modules)
"""


def probe(path: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120)
    return done.stdout.split()


def test_revisions_read_from_the_scripts_match_alembic():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    assert known_revisions() == {r.revision for r in scripts.walk_revisions()}


def test_an_up_to_date_database_opens_without_alembic(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    Store.open(path).close()
    assert probe(path) == [head_revision(), "False"]


def test_a_new_database_still_migrates(tmp_path):
    assert probe(tmp_path / "new.sqlite3") == [head_revision(), "True"]


def test_importing_the_store_does_not_import_alembic():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, workbench.store; print('alembic' in sys.modules)"],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False"
