"""sessions, export, import and search on the command line, against a real database file."""

from __future__ import annotations

import json

from tests.cli.test_cli import workbench
from tests.store.conftest import populate
from workbench.core.paths import app_paths
from workbench.store import Store


def seeded():
    store = Store.open(app_paths().ensure().database)
    data = populate(store)
    store.close()
    return data


def test_sessions_lists_what_is_stored():
    assert "No sessions yet." in workbench("sessions").stdout
    data = seeded()
    done = workbench("sessions")
    assert done.returncode == 0, done.stderr
    assert "Translation" in done.stdout and "2 versions, 1 runs, 4 outputs" in done.stdout
    listed = json.loads(workbench("sessions", "--json").stdout)
    assert listed[0]["id"] == data.session.id


def test_export_then_import_elsewhere(tmp_path, monkeypatch):
    seeded()
    file = tmp_path / "translation.json.gz"
    done = workbench("export", "Translation", str(file))
    assert done.returncode == 0, done.stderr
    assert "4 outputs" in done.stdout and file.exists()
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "other-home"))
    first = workbench("import", str(file))
    assert first.returncode == 0 and "Imported session" in first.stdout
    second = workbench("import", str(file))
    assert "Nothing new" in second.stdout
    assert "Translation" in workbench("sessions").stdout


def test_search_prints_ranked_highlighted_hits():
    seeded()
    done = workbench("search", "oiseau")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and all("[oiseau]" in line for line in lines)
    assert "No matches" in workbench("search", "xylophone").stdout


def test_errors_are_one_line(tmp_path):
    seeded()
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    done = workbench("import", str(bad))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "is not a Prompt Workbench export" in done.stderr
    missing = workbench("export", "no-such-session", str(tmp_path / "x.json"))
    assert missing.returncode == 1 and "No session named" in missing.stderr


def test_a_corrupt_database_is_reported_with_where_it_went():
    database = app_paths().ensure().database
    database.write_text("garbage")
    done = workbench("sessions")
    assert done.returncode == 0
    assert "was damaged" in done.stderr and ".corrupt-" in done.stderr
