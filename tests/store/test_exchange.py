"""Export a session to one file and import it back: nothing lost, nothing duplicated."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys

import pytest

from tests.store.conftest import populate
from workbench.core.errors import ExportFormatError
from workbench.store import Store
from workbench.store.exchange import export_session, import_session


def snapshot(store: Store, session_id: str) -> dict:
    """Everything a user can see of a session, through the repositories."""
    session = store.sessions.get(session_id)
    prompts = store.prompts.prompts(session_id)
    runs = store.runs.for_session(session_id)
    outputs = [o for r in runs for o in store.runs.outputs(r.id)]
    ids = [o.id for o in outputs]
    sets = store.retrieval.sets(session_id)
    return {
        "session": session, "prompts": prompts,
        "versions": [store.prompts.history(p.id) for p in prompts],
        "case_sets": store.case_sets.for_session(session_id), "runs": runs, "outputs": outputs,
        "ratings": store.ratings.ratings_for(ids), "preferences": store.ratings.preferences_for(ids),
        "document_sets": sets, "documents": [store.retrieval.documents(d.id) for d in sets],
        "chunks": [[(c.document_id, c.position, c.text, c.start, c.end)
                    for c in store.retrieval.chunks(d.id)] for d in sets],
        "variants": store.session_variants.get(session_id),
    }


@pytest.mark.parametrize("name", ["session.json", "session.json.gz"])
def test_round_trip_loses_nothing(tmp_path, name):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    file = tmp_path / name
    counts = export_session(source.db, data.session.id, file)
    assert counts["outputs"] == 4 and counts["ratings"] == 2 and counts["session_variants"] == 2
    target = Store.open(tmp_path / "b.sqlite3")
    result = import_session(target.db, file)
    assert result.session_id == data.session.id and result.total_added == sum(counts.values())
    assert snapshot(target, data.session.id) == snapshot(source, data.session.id)
    assert [h.ref for h in target.search.search("oiseau v2")] == [data.outputs[3].id]


def test_importing_twice_or_into_the_source_adds_nothing(tmp_path):
    source = Store.open(tmp_path / "a.sqlite3")
    data = populate(source)
    file = tmp_path / "s.json"
    export_session(source.db, data.session.id, file)
    assert import_session(source.db, file).total_added == 0
    target = Store.open(tmp_path / "b.sqlite3")
    import_session(target.db, file)
    before = snapshot(target, data.session.id)
    again = import_session(target.db, file)
    assert again.total_added == 0 and again.already_present["outputs"] == 4
    assert again.already_present["session_variants"] == 2
    assert snapshot(target, data.session.id) == before
    assert len(target.sessions.list()) == 1


def write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 a zip file", "is not a Prompt Workbench export (it is not JSON)"),
    (b'{"hello": "world"}', "no 'prompt-workbench-session' marker"),
    (json.dumps({"format": "prompt-workbench-session", "format_version": 99, "tables": {},
                 "session_id": "x"}).encode(), "newer version of Prompt Workbench (format 99"),
    (gzip.compress(b"")[:10], "damaged gzip"),
    (json.dumps({"format": "prompt-workbench-session", "format_version": 1, "session_id": "x",
                 "tables": {"sessions": [{"name": "no id"}]}}).encode(), "has no id"),
])
def test_bad_files_are_refused_and_nothing_is_written(store, tmp_path, content, message):
    populate(store)
    before = [s.id for s in store.sessions.list()]
    with pytest.raises(ExportFormatError, match=re.escape(message)):
        import_session(store.db, write(tmp_path / "bad.json", content))
    assert [s.id for s in store.sessions.list()] == before


def test_export_never_leaves_a_half_written_file(store, tmp_path):
    data = populate(store)
    target = tmp_path / "missing-folder" / "s.json"
    with pytest.raises(Exception, match="Cannot write the export"):
        export_session(store.db, data.session.id, target)
    assert not target.exists()


BOMB_PROBE = """
import json, resource, sys
from pathlib import Path
from workbench.core.errors import ExportFormatError
from workbench.store import Store
from workbench.store.exchange import import_session

store = Store.open(Path(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    import_session(store.db, Path(sys.argv[1]))
    message = None
except ExportFormatError as error:
    message = str(error)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"message": message, "growth_kib": after - before}))
"""


def gzip_bomb(path, prefix: bytes, filler: bytes, megabytes: int):
    """A real gzip file that inflates to ``megabytes`` MiB of ``filler`` after ``prefix``:
    gzip members one after another (a valid gzip file; each member compresses 1 MiB of the
    same byte to about a kilobyte)."""
    member = gzip.compress(filler * (1 << 20), compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(prefix))
        for _ in range(megabytes):
            handle.write(member)
    return path


@pytest.mark.parametrize("prefix, filler", [
    (b"", b"\0"),  # gzip of zeros
    (b'{"format": "prompt-workbench-session", "format_version": 4, "pad": "', b"0"),  # JSON-shaped
])
def test_a_gzip_bomb_is_refused_by_its_ratio_before_it_fills_the_memory(store, tmp_path, prefix,
                                                                        filler):
    populate(store)
    bomb = gzip_bomb(tmp_path / "bomb.json.gz", prefix, filler, 4096)  # 4 GiB from ~4 MB
    assert bomb.stat().st_size < 8 << 20
    probe = subprocess.run([sys.executable, "-c", BOMB_PROBE, str(bomb),
                            str(tmp_path / "probe.sqlite3")],
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["message"] is not None
    assert found["message"].startswith(f"{bomb} is refused: it decompresses to more than 200 "
                                       "times its compressed size")
    assert "200:1 past the first 64 MiB, and 2 GiB of JSON in all" in found["message"]
    assert found["growth_kib"] < 400 * 1024  # it took 2.2 GB before the cap
    # Nothing was imported into the store the bomb was offered to either.
    with pytest.raises(ExportFormatError, match="gzip bomb"):
        import_session(store.db, bomb)


def test_past_the_json_cap_an_export_is_refused_naming_the_file_and_the_cap(store, tmp_path):
    from workbench.store.exchange import read_export

    plain = tmp_path / "big.json"
    plain.write_bytes(b'{"pad": "' + b"x" * (3 << 20) + b'"}')
    with pytest.raises(ExportFormatError, match=re.escape(
            f"{plain} is too large to import: 3 MiB of JSON, and the import reads at most 2 MiB")):
        read_export(plain, limit=2 << 20)
    packed = tmp_path / "big.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(ExportFormatError, match=re.escape(
            f"{packed} is too large to import: it decompresses to more than 2 MiB of JSON, "
            "the import's cap")):
        read_export(packed, limit=2 << 20)
    # A damaged member after a good one is still a damaged file.
    packed.write_bytes(gzip.compress(b"{}") + b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ExportFormatError, match="damaged gzip"):
        read_export(packed)
