"""``workbench docs`` through the real entry point: add, list, search, reembed."""

from __future__ import annotations

import json
import shutil

from tests.retrieval.conftest import CORPUS
from workbench.cli.main import main
from workbench.library.bundled import BUNDLED_NAME


def test_docs_commands(tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("transit-trams.md", "weather-fog.txt", "library-membership.html"):
        shutil.copy(CORPUS / name, folder / name)
    (folder / "latin1.txt").write_bytes(b"caf\xe9")

    assert main(["docs", "add", "city", str(folder), "--chunking", "paragraphs",
                 "--size", "64"]) == 0
    out, err = capsys.readouterr()
    assert "3 added" in out and "3 embedded" not in out and "embedded" in out
    assert "skipped" in err and "latin1.txt: not UTF-8" in err and "reading" in err

    assert main(["docs", "list"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("city\t3 documents") and "paragraphs up to 64 tokens" in out
    assert "(576-d, mean)" in out
    assert f"{BUNDLED_NAME} (576-d" in out  # the library's name of the model, not the GGUF's
    assert main(["docs", "list", "city"]) == 0
    assert capsys.readouterr().out.count("\n") == 3

    assert main(["docs", "search", "city", "At which fog level do ferries stop?", "--json",
                 "-k", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and hits[0]["source"].endswith("weather-fog.txt")
    assert main(["docs", "search", "city", "owl bus", "--mode", "bm25"]) == 0
    assert "transit-trams.md" in capsys.readouterr().out.splitlines()[0]

    assert main(["docs", "reembed", "city", "--model", "bundled"]) == 0
    assert "0 embedded" in capsys.readouterr().out  # already in that space
    assert main(["docs", "reembed", "city", "--model", "missing-model"]) == 1
    assert "embedding model 'missing-model' cannot be used" in capsys.readouterr().err
    assert main(["docs", "search", "nowhere", "x"]) == 1
    assert "No document set named 'nowhere' (known: 'city')" in capsys.readouterr().err


def test_a_chunk_size_past_the_embedding_window_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "a.md").write_text("Some text.")
    assert main(["docs", "add", "wide", str(tmp_path), "--size", "1024", "--no-embed"]) != 0
    err = capsys.readouterr().err
    assert "A chunk size of 1024 tokens is larger than the embedding window (512 tokens)" in err
    assert main(["docs", "list"]) == 0
    assert "wide" not in capsys.readouterr().out  # nothing was made
