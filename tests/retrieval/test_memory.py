"""``workbench docs add`` of a large file through the real command line, in a child process:
its peak memory and its model host's stay far below what holding the file took (a 30 MB file
took 4.2 GB in the CLI and 1.8 GB in the host before its text was streamed; 150 MB and 230 MB
after, tests/bench/bench_docs_memory.py), and what pypdf says of a damaged PDF is that file's
notice line on stderr, never a line of its own."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_docs_memory import ROOT, run_add, write_document
from tests.retrieval.test_files import damaged_pdf


def test_adding_a_large_file_takes_memory_that_does_not_grow_with_it(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_document(folder / "big.md", 12)  # 12 MB: about 23,000 chunks
    (folder / "shifted.pdf").write_bytes(damaged_pdf("The tram Owl runs at night."))
    found = run_add(folder, tmp_path / "home", embed=False, source=ROOT)
    assert found["code"] == 0, found["err"]
    assert found["summary"].startswith("2 added")
    # Holding the file took ~140 bytes of memory per byte of text: 1.7 GB for this one.
    assert found["cli_mb"] < 400 and found["host_mb"] < 400, found
    notice = f"notice {(folder / 'shifted.pdf').resolve()}: pypdf: incorrect startxref pointer(3)"
    assert notice in found["err"]
    assert [line for line in found["err"].splitlines() if "startxref" in line] == [
        notice + "; parsing for Object Streams"]
    assert Path(folder / "big.md").stat().st_size > 12_000_000
