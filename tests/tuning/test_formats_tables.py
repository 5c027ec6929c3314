"""Training data as tables: CSV through the one record reader (core/records.py), and any
format tuning does not read itself through the importer handed in (the plugins' in the app;
here the built-in importer's reader, core/tabular.read_table, which reads TSV)."""

from __future__ import annotations

import pytest

from workbench.core.tabular import read_table
from workbench.core.tuning_errors import DatasetError
from workbench.tuning.formats import read_file, read_files


def test_a_csv_row_is_named_by_the_line_it_starts_on_and_a_short_row_is_a_problem(tmp_path):
    (tmp_path / "d.csv").write_text('prompt,completion\n"two\nlines",a\nx,y,z\nonly\n'
                                    "User,\n")
    result = read_file(tmp_path / "d.csv")
    assert [(e.line, e.messages[0].content) for e in result.examples] == [(2, "two\nlines")]
    assert [(p.line, p.reason) for p in result.problems] == [
        (4, "3 cells, the header has 2"), (5, "1 cell, the header has 2"),
        (6, "'completion' is empty")]
    assert str(result.problems[0]) == "d.csv:4: 3 cells, the header has 2"


def test_a_format_tuning_does_not_read_goes_to_the_importer_handed_in(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("Prompt\tCompletion\nWhat is 2+2?\t4\n\nonly one cell\nHi\t\n")
    with pytest.raises(DatasetError, match=r"data files must be \.jsonl, \.json or \.csv\.$"):
        read_file(path)  # no importer handed in: the app's own formats only
    result = read_file(path, read_table)
    assert [(e.line, e.messages[-1].content) for e in result.examples] == [(2, "4")]
    assert [str(p) for p in result.problems] == ["data.tsv:4: 1 cell, the header has 2",
                                                 "data.tsv:5: 'completion' is empty"]


def test_a_tables_chat_column_is_json_and_its_columns_are_checked_first(tmp_path):
    chats = tmp_path / "chats.tsv"
    chats.write_text('messages\n[{"role": "user", "content": "Hi"}, '
                     '{"role": "assistant", "content": "Hello"}]\n{broken\n')
    result = read_files([chats], read_table)
    assert [m.content for m in result.examples[0].messages] == ["Hi", "Hello"]
    assert [(p.line, p.reason[:33]) for p in result.problems] == [
        (3, "'messages' is not valid JSON (Exp")]
    (tmp_path / "qa.tsv").write_text("question\tanswer\na\tb\n")
    with pytest.raises(DatasetError, match="qa.tsv: the table must have prompt,completion"):
        read_file(tmp_path / "qa.tsv", read_table)


def test_a_format_no_importer_reads_is_refused_with_what_is_read(tmp_path):
    def no_importer(path):
        from workbench.core.errors import WorkbenchError

        raise WorkbenchError("No importer reads .xlsx files (d.xlsx); installed importers "
                             "read .csv, .tsv.")

    (tmp_path / "d.xlsx").write_bytes(b"PK")
    with pytest.raises(DatasetError, match=r"Cannot read d.xlsx: .* or a table an importer "
                                           r"plugin reads. No importer reads \.xlsx"):
        read_file(tmp_path / "d.xlsx", no_importer)
    with pytest.raises(DatasetError, match="does not exist"):
        read_file(tmp_path / "missing.xlsx", no_importer)
