"""The one record reader behind test cases, few-shot examples and training data: each record
with the line it starts on, broken ones named in their place."""

from __future__ import annotations

from workbench.core.records import RecordProblem, delimited_records, jsonl_records
from workbench.core.tabular import parse_delimited, read_table
from workbench.tuning.formats import read_file


def test_csv_lines_count_blank_lines_and_quoted_cells_that_span_lines():
    text = 'input,output\n\n"first\nsecond",a\nonly-one-cell\nx,y\n'
    header, records = delimited_records(text)
    assert header == ["input", "output"]
    found = list(records)
    assert found[0] == (3, {"input": "first\nsecond", "output": "a"})
    assert found[1][0] == 5 and isinstance(found[1][1], RecordProblem)
    assert found[2] == (6, {"input": "x", "output": "y"})
    rows = parse_delimited(text, ",")
    assert [p.line for p in rows.problems] == [5] and len(rows.rows) == 2


def test_jsonl_problems_name_their_line_and_the_rest_is_read():
    found = list(jsonl_records('{"a": 1}\n\n{broken\n{"a": 2}\n'))
    assert [line for line, _ in found] == [1, 3, 4]
    assert isinstance(found[1][1], RecordProblem) and "not valid JSON" in str(found[1][1])


def test_cases_and_training_data_read_the_same_file_the_same_way(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"prompt": "p1", "completion": "c1"}\nnot json\n'
                    '{"prompt": "p2", "completion": "c2"}\n')
    rows = read_table(path)
    imported = read_file(path)
    assert [p.line for p in rows.problems] == [p.line for p in imported.problems] == [2]
    assert len(rows.rows) == len(imported.examples) == 2


def test_a_json_array_of_cases_is_read_with_line_numbers(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text('[\n  {"country": "Peru"},\n  {"country": "Chile"}\n]\n')
    rows = read_table(path)
    assert rows.rows == [{"country": "Peru"}, {"country": "Chile"}] and not rows.problems
