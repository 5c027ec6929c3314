"""A JSON document with its long list written element by element is the text json.dumps gives
for the whole, and a file written piece by piece appears whole or not at all."""

from __future__ import annotations

import io
import json

import pytest

from workbench.core.atomic_file import open_atomically
from workbench.core.json_stream import dump_json_with_list, stream_here

ROWS = [{"text": "a\nb «ç» \u2028", "n": 1.5, "nested": {"list": [1, [], {}], "none": None}},
        {"empty": {}, "quote": 'say "hi"'}, [1, 2], "plain", 3]


@pytest.mark.parametrize("rows", [ROWS, [], [{}]])
@pytest.mark.parametrize("shape", ["top", "nested", "alone"])
def test_streamed_list_gives_the_text_of_the_whole(rows, shape):
    def document(value):
        return {"top": {"a": 1, "results": value, "z": [1]},
                "nested": {"outer": {"inner": {"results": value}}, "after": 2},
                "alone": value}[shape]

    written = io.StringIO()
    dump_json_with_list(written, document(stream_here()), iter(rows), ensure_ascii=False,
                        default=str)
    assert written.getvalue() == json.dumps(document(rows), indent=2, ensure_ascii=False,
                                            default=str)


def test_a_document_without_the_place_is_refused():
    with pytest.raises(ValueError):
        dump_json_with_list(io.StringIO(), {"results": []}, [])


def test_a_file_written_in_pieces_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("the earlier run", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with open_atomically(target) as file:
            file.write("half of a new")
            raise RuntimeError("the export failed half-way")
    assert target.read_text(encoding="utf-8") == "the earlier run"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left
    with open_atomically(target) as file:
        file.write("first part, ")
        assert target.read_text(encoding="utf-8") == "the earlier run"
        file.write("second part")
    assert target.read_text(encoding="utf-8") == "first part, second part"
