"""Importing training data: the common layouts, line-numbered problems, rows as the model sees
them (llama.cpp's own template and tokenizer), the split and the length histogram."""

from __future__ import annotations

import json

import pytest

from workbench.core.messages import ChatMessage
from workbench.core.tuning_errors import DatasetError
from workbench.tuning.base_tokenizer import HostTokenizer
from workbench.tuning.formats import Example, read_file, read_files
from workbench.tuning.rows import (
    length_histogram,
    prepare,
    require_rows,
    segments,
    split,
    tokenize_example,
)


@pytest.fixture(scope="module")
def tokenizer(shared_host):
    return HostTokenizer(shared_host)


def lines(path, *rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_three_layouts_in_jsonl_become_the_same_chat(tmp_path):
    path = lines(tmp_path / "d.jsonl",
                 {"messages": [{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": "Hi"},
                               {"role": "assistant", "content": "Hello"}]},
                 {"instruction": "Translate", "input": "chat", "output": "cat"},
                 {"prompt": "2+2?", "completion": "4"},
                 "",
                 {"conversations": [{"from": "human", "value": "Yo"},
                                    {"from": "gpt", "value": "Hey"}]})
    result = read_file(path)
    assert not result.problems
    assert [e.line for e in result.examples] == [1, 2, 3, 5]
    assert result.examples[1].messages == (ChatMessage("user", "Translate\n\nchat"),
                                           ChatMessage("assistant", "cat"))
    assert result.examples[0].messages[0] == ChatMessage("system", "Be brief.")


def test_malformed_rows_are_listed_with_line_numbers_and_reasons(tmp_path):
    path = lines(tmp_path / "bad.jsonl",
                 {"prompt": "ok", "completion": "fine"},
                 "{not json",
                 {"prompt": "no answer"},
                 {"messages": [{"role": "user", "content": "Hi"}]},
                 {"messages": [{"role": "tool", "content": "x"},
                               {"role": "assistant", "content": "y"}]},
                 {"text": "raw"},
                 [1, 2],
                 {"prompt": "", "completion": "x"})
    result = read_file(path)
    assert len(result.examples) == 1
    reasons = {p.line: p.reason for p in result.problems}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8]
    assert "not valid JSON" in reasons[2]
    assert "'completion' is missing" in reasons[3]
    assert "last message must be the assistant" in reasons[4]
    assert "role 'tool'" in reasons[5]
    assert "unknown layout (keys: text)" in reasons[6]
    assert "expected an object" in reasons[7]
    assert "'prompt' is empty" in reasons[8]
    assert str(result.problems[0]).startswith("bad.jsonl:2: ")


def test_json_array_and_data_object_keep_line_numbers(tmp_path):
    (tmp_path / "a.json").write_text('[\n {"prompt": "a", "completion": "b"},\n'
                                     ' {"prompt": "c"}\n]')
    (tmp_path / "b.json").write_text('{"version": 1,\n "data": [\n'
                                     '  {"instruction": "x", "output": "y"}]}')
    result = read_files([tmp_path / "a.json", tmp_path / "b.json"])
    assert [(e.line, e.messages[-1].content) for e in result.examples] == [(2, "b"), (3, "y")]
    assert [(p.line, p.reason) for p in result.problems] == [(3, "'completion' is missing")]


def test_csv_columns_and_problems(tmp_path):
    (tmp_path / "d.csv").write_text('instruction,input,output\nSay hi,,hi\n'
                                    'Add,"1 and 2",3\nEmpty,,\n')
    result = read_file(tmp_path / "d.csv")
    assert [e.messages[0].content for e in result.examples] == ["Say hi", "Add\n\n1 and 2"]
    assert [(p.line, p.reason) for p in result.problems] == [(4, "'output' is empty")]
    (tmp_path / "x.csv").write_text("question,answer\na,b\n")
    with pytest.raises(DatasetError, match="CSV header must have"):
        read_file(tmp_path / "x.csv")


def test_unreadable_files_are_refused_with_a_sentence(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_file(tmp_path / "missing.jsonl")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"\.jsonl, \.json or \.csv"):
        read_file(tmp_path / "d.txt")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_file(tmp_path / "bin.jsonl")


def chat(*turns) -> Example:
    roles = ("user", "assistant")
    return Example(tuple(ChatMessage(roles[i % 2], t) for i, t in enumerate(turns)), "t", 1)


def test_rows_are_the_rendered_template_and_only_answers_are_trained(tokenizer, shared_host):
    example = chat("What is 2+2?", "4", "And 3+3?", "6")
    row = tokenize_example(tokenizer, example, 256)
    rendered = shared_host.render(list(example.messages), add_generation_prompt=False)
    assert row.text == rendered  # the preview is exactly what the model sees
    assert shared_host.detokenize(list(row.ids)) == rendered
    trained = [shared_host.detokenize(list(row.ids[s:e])) for s, e in row.spans]
    assert trained == ["4<|im_end|>\n", "6<|im_end|>\n"]
    assert row.prompt_text.endswith("<|im_start|>assistant\n")
    pieces = segments(tokenizer, example.messages)
    assert "".join(t for t, _ in pieces) == rendered


def test_max_length_cuts_answers_and_refuses_prompts_that_do_not_fit(tokenizer):
    long_answer = chat("Tell me a story.", "Once upon a time " * 30)
    row = tokenize_example(tokenizer, long_answer, 48)
    assert len(row.ids) == 48 and row.truncated and row.spans[0][1] == 48
    prepared = prepare(tokenizer, [chat("word " * 60, "x"), long_answer], 48)
    assert len(prepared.rows) == 1
    assert "the prompt is" in prepared.problems[0].reason
    assert "longer than the max length (48)" in prepared.problems[0].reason


def test_data_with_nothing_to_train_on_gets_a_clear_message(tokenizer):
    with pytest.raises(DatasetError, match="The dataset is empty"):
        require_rows(prepare(tokenizer, [], 64), 0, 64)
    too_long = prepare(tokenizer, [chat("word " * 80, "x"), chat("many " * 90, "y")], 32)
    with pytest.raises(DatasetError, match="every prompt is longer than the max length"):
        require_rows(too_long, 2, 32)


def test_a_file_with_no_valid_rows_is_refused_naming_the_first_problem(tmp_path):
    from workbench.tuning.rows import Prepared

    imported = read_file(lines(tmp_path / "bad.jsonl", {"prompt": "x"}, "nope"))
    with pytest.raises(DatasetError, match=r"no valid rows \(2 problems; first: bad.jsonl:1:"):
        require_rows(Prepared([], imported.problems), 0, 64)


def test_split_is_seeded_and_never_empties_training():
    rows = list(range(20))
    train, val = split(rows, 0.1, seed=3)
    assert len(val) == 2 and sorted(train + val) == rows
    assert split(rows, 0.1, seed=3) == (train, val)
    assert split(rows[:4], 0.5, seed=0) == (rows[:4], [])  # too few rows to hold any out


def test_length_histogram_counts_every_row():
    histogram = length_histogram([5, 10, 60, 64, 200], 64, bins=8, truncated=1)
    assert sum(histogram.counts) == 5 and histogram.edges[-1] >= 200
    assert histogram.over == 1 and histogram.max_length == 64
