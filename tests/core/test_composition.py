"""Few-shot examples go through the user template like test cases, or stay raw text."""

from __future__ import annotations

import pytest

from workbench.core.composition import CompositionError, build_messages, example_as_raw
from workbench.core.prompts import FewShotExample, PromptVersion, templated_examples
from workbench.core.tabular import parse_delimited

TEMPLATE = "Review: {{ review }}\nSentiment:"


def version(*examples: FewShotExample, template: str = TEMPLATE) -> PromptVersion:
    return PromptVersion("p", "Classify.", examples, template)


def test_templated_examples_have_the_cases_shape():
    messages = build_messages(version(FewShotExample.templated({"review": "Loved it"}, "positive")),
                              {"review": "Dull"})
    assert [(m.role, m.content) for m in messages] == [
        ("system", "Classify."),
        ("user", "Review: Loved it\nSentiment:"), ("assistant", "positive"),
        ("user", "Review: Dull\nSentiment:"),
    ]


def test_raw_examples_keep_the_old_behaviour():
    messages = build_messages(version(FewShotExample("Loved it", "positive")), {"review": "Dull"})
    assert messages[1].content == "Loved it"
    assert messages[3].content == "Review: Dull\nSentiment:"


def test_an_empty_variable_names_the_example():
    examples = (FewShotExample.templated({"review": "Fine"}, "positive"),
                FewShotExample.templated({"review": ""}, "negative"))
    with pytest.raises(CompositionError, match=r"^Example 2: variable 'review' is empty"):
        build_messages(version(*examples), {"review": "Dull"})


def test_disabled_and_blank_examples_are_left_out():
    examples = (FewShotExample.templated({"review": ""}, "negative", enabled=False),
                FewShotExample.templated({"review": ""}, ""),  # a row just added, not filled
                FewShotExample("", ""))
    assert len(build_messages(version(*examples), {"review": "Dull"})) == 2


def test_old_stored_examples_read_as_raw_and_keep_their_hash():
    old = {"input": "Loved it", "output": "positive", "enabled": True}
    example = FewShotExample.from_dict(old)
    assert example.variables is None and example.to_dict() == old
    templated = FewShotExample.templated({"review": "Loved it"}, "positive")
    assert templated.to_dict()["input"] == "Loved it"  # what the full-text search reads
    again = FewShotExample.from_dict(templated.to_dict())
    assert again == templated and again.variables == {"review": "Loved it"}
    assert version(example).content_hash != version(templated).content_hash


def test_a_templated_example_as_raw_text_is_its_user_message():
    example = FewShotExample.templated({"review": "Loved it"}, "positive", enabled=False)
    assert example_as_raw(TEMPLATE, example) == FewShotExample(
        "Review: Loved it\nSentiment:", "positive", enabled=False)


def test_examples_from_a_table_fill_the_variables():
    rows = parse_delimited("review,answer\nLoved it,positive\n,negative\n", ",", "t.csv")
    examples, problems = templated_examples(rows, ["review"])
    assert examples == [FewShotExample.templated({"review": "Loved it"}, "positive")]
    assert [p.line for p in problems] == [2] and "review" in problems[0].reason
