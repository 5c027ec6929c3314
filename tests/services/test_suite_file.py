"""Suites in promptfoo's YAML layout: every form read, every problem named with file:line,
written back so that a second reading gives the same suite."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from workbench_resources import EXAMPLES

from workbench.core.evaluation import Assertion
from workbench.core.prompts import FewShotExample
from workbench.core.sampling import SamplingSettings
from workbench.core.suites import SuiteError
from workbench.plugins.manager import PluginManager
from workbench.services.evaluation.suite_file import (
    assertion_from_string,
    dump_suite,
    load_suite,
    parse_suite,
    save_suite,
    without_lines,
)

RESOURCES = EXAMPLES.parent


def suite_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def replace_source(suite, source):
    return replace(suite, source=source)


def problems_of(text: str, **options) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        parse_suite(suite_text(text), "suite.yaml", **options)
    return [str(problem) for problem in raised.value.problems]


@pytest.fixture(scope="module")
def plugin_names():
    """The output filters and scorers the real first-party plugins register."""
    manager = PluginManager().load()
    filters = {f.name for _, f in manager.contributions("register_output_filters")}
    scorers = {s.name for _, s in manager.contributions("register_scorers")}
    return filters, scorers


PROMPTFOO_SUITE = """
description: Capitals
prompts:
  - "What is the capital of {{country}}?"
  - id: short
    label: Short answer
    raw: "Capital of {{country}}, one word:"
providers:
  - smollm2-135m-instruct
  - id: openai+http://127.0.0.1:8080/v1
    label: remote
    config:
      temperature: 0
      max_tokens: 32
      stop: "\\n"
      seed: 3
defaultTest:
  vars:
    style: plain
  assert:
    - type: max-length
      value: 300
  threshold: 0.5
  options:
    provider: smollm2-135m-instruct
tests:
  - description: France
    vars:
      country: France
      year: 2024
      formal: true
    assert:
      - type: icontains
        value: paris
        weight: 2
        metric: capital
      - type: not-contains
        value: London
      - type: llm-rubric
        value: names a city
        threshold: 0.7
        provider: smollm2-135m-instruct
    threshold: 0.75
    expected: Paris
  - vars:
      country: Japan
    assert:
      - type: is-json
        value: {type: object, required: [city]}
"""


def test_a_promptfoo_suite_is_read_with_every_field_and_line():
    suite = parse_suite(suite_text(PROMPTFOO_SUITE), "suite.yaml")

    assert suite.description == "Capitals"
    plain, short = suite.prompts
    assert (plain.label, plain.user_template, plain.line) == (
        "What is the capital of {{country}}?", "What is the capital of {{country}}?", 3)
    assert (short.label, short.user_template, short.line) == (
        "Short answer", "Capital of {{country}}, one word:", 4)
    local, remote = suite.providers
    assert (local.id, local.name, local.config) == ("smollm2-135m-instruct",
                                                    "smollm2-135m-instruct", {})
    assert remote.name == "remote"
    assert remote.config == {"temperature": 0, "max_tokens": 32, "stop": ["\n"], "seed": 3}
    assert SamplingSettings.from_dict(remote.config).stop == ("\n",)
    assert suite.default_vars == {"style": "plain"}
    assert suite.default_assertions == (Assertion("max-length", 300, line=20),)
    assert (suite.default_threshold, suite.judge) == (0.5, "smollm2-135m-instruct")

    france, japan = suite.tests
    assert france.description == "France" and france.line == 26
    assert france.vars == {"country": "France", "year": "2024", "formal": "true"}
    assert france.assertions == (
        Assertion("icontains", "paris", weight=2.0, metric="capital", line=32),
        Assertion("contains", "London", negate=True, line=36),
        Assertion("llm-rubric", "names a city", threshold=0.7,
                  provider="smollm2-135m-instruct", line=38),
    )
    assert (france.threshold, france.expected) == (0.75, "Paris")
    assert japan.assertions[0].value == {"type": "object", "required": ["city"]}
    assert japan.threshold is None and japan.expected is None
    merged = suite.effective_tests()[1]
    assert merged.vars == {"style": "plain", "country": "Japan"}
    assert [a.type for a in merged.assertions] == ["max-length", "is-json"]
    assert merged.threshold == 0.5


def test_chat_prompts_become_system_prompt_examples_and_user_template():
    suite = parse_suite(suite_text("""
        prompts:
          - - role: system
              content: Answer with one word.
            - role: user
              content: Capital of Italy?
            - role: assistant
              content: Rome
            - role: user
              content: Capital of {{country}}?
          - label: json chat
            raw: '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                   {"role": "user", "content": "{{greeting}}"}]'
        tests:
          - vars: {country: Peru, greeting: Hey}
        """))
    inline, as_json = suite.prompts
    assert (inline.label, inline.system, inline.user_template) == (
        "prompt 1", "Answer with one word.", "Capital of {{country}}?")
    assert inline.examples == (FewShotExample("Capital of Italy?", "Rome"),)
    assert (as_json.label, as_json.system, as_json.user_template) == (
        "json chat", "", "{{greeting}}")
    assert as_json.examples == (FewShotExample("Hi", "Hello"),)


def test_a_chat_out_of_order_is_named_with_the_roles_found():
    found = problems_of("""
        prompts:
          - - role: user
              content: one
            - role: user
              content: two
        """)
    assert len(found) == 1
    assert found[0].startswith("suite.yaml:2: prompts: a chat prompt is")
    assert found[0].endswith("found: user, user")


def test_file_prompts_and_test_files_are_read_relative_to_the_suite(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.txt").write_text("Tell me about {{topic}}.")
    (tmp_path / "prompts" / "chat.json").write_text(json.dumps([
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{topic}}?"}]))
    (tmp_path / "more.yaml").write_text(suite_text("""
        - description: owls
          vars: {topic: owls}
        - description: bats
          vars: {topic: bats}
          assert:
            - type: icontains
              value: wing
        """))
    (tmp_path / "suite.yaml").write_text(suite_text("""
        prompts:
          - file://prompts/ask.txt
          - id: file://prompts/chat.json
            label: brief
        tests:
          - vars: {topic: cats}
          - file://more.yaml
        """))

    suite = load_suite(tmp_path / "suite.yaml")

    text_prompt, chat_prompt = suite.prompts
    assert (text_prompt.label, text_prompt.user_template) == (
        "file://prompts/ask.txt", "Tell me about {{topic}}.")
    assert (chat_prompt.label, chat_prompt.system, chat_prompt.user_template) == (
        "brief", "Be brief.", "{{topic}}?")
    assert [t.vars["topic"] for t in suite.tests] == ["cats", "owls", "bats"]
    assert suite.tests[2].line == 3 and suite.tests[2].assertions[0].line == 6
    assert suite.source == str(tmp_path / "suite.yaml")


def test_a_problem_inside_a_test_file_names_that_file_and_its_line(tmp_path):
    (tmp_path / "tests.yaml").write_text(suite_text("""
        - vars: {topic: owls}
          assert:
            - type: regex
              value: "(unclosed"
        """))
    (tmp_path / "suite.yaml").write_text("prompts: ['{{topic}}']\ntests: file://tests.yaml\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    (problem,) = raised.value.problems
    assert (problem.source, problem.line) == (str(tmp_path / "tests.yaml"), 3)
    assert "in test 1: regex '(unclosed' does not compile" in str(problem)


def test_json_files_are_read_even_when_indented_with_tabs(tmp_path):
    (tmp_path / "tabs.json").write_text('[\n\t{"vars": {"q": "one"}},\n\t{"vars": {"q": 2}}\n]')
    (tmp_path / "broken.json").write_text('[\n  {"vars": {"q": "one"}\n]')
    (tmp_path / "suite.yaml").write_text("prompts: ['{{q}}']\ntests: file://tabs.json\n")
    assert [t.vars for t in load_suite(tmp_path / "suite.yaml").tests] == [
        {"q": "one"}, {"q": "2"}]
    (tmp_path / "suite.yaml").write_text("prompts: ['{{q}}']\ntests: file://broken.json\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    (problem,) = map(str, raised.value.problems)
    assert problem == (f"{tmp_path / 'broken.json'}:3: JSON: Expecting ',' delimiter "
                       "(line 3, column 1)")


def test_a_test_file_that_names_itself_is_a_problem_not_a_hang(tmp_path):
    (tmp_path / "loop.yaml").write_text("- vars: {q: a}\n- file://loop.yaml\n")
    (tmp_path / "suite.yaml").write_text("prompts: ['{{q}}']\ntests: file://loop.yaml\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path / 'loop.yaml'}:2: tests: file://loop.yaml is already being read (a loop)"]


def test_a_missing_referenced_file_is_named_with_the_line_that_names_it(tmp_path):
    (tmp_path / "suite.yaml").write_text("prompts:\n  - file://nowhere.txt\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    (line,) = map(str, raised.value.problems)
    assert line.startswith(f"{tmp_path / 'suite.yaml'}:2: prompts: cannot read ")
    assert "nowhere.txt" in line


def test_csv_tests_take_columns_as_vars_and_expected_as_promptfoo_assertions(tmp_path):
    (tmp_path / "cases.csv").write_text(
        "country,__expected,__expected2,__description\n"
        "France,contains: Paris,not-icontains: london,capital of France\n"
        "\n"
        "Peru,Lima,rouge-l(0.6): Lima is the capital,\n"
        '"Cote d\'Ivoire","icontains-any: Yamoussoukro, Abidjan",,\n')
    (tmp_path / "suite.yaml").write_text("prompts: ['Capital of {{country}}?']\n"
                                         "tests: file://cases.csv\n")
    france, peru, ivory = load_suite(tmp_path / "suite.yaml").tests

    assert france.description == "capital of France" and france.line == 2
    assert france.vars == {"country": "France"}
    assert france.assertions == (Assertion("contains", "Paris", line=2),
                                 Assertion("icontains", "london", negate=True, line=2))
    assert peru.line == 4 and peru.description == ""
    assert peru.assertions == (Assertion("equals", "Lima", line=4),
                               Assertion("rouge-l", "Lima is the capital", threshold=0.6, line=4))
    assert ivory.vars == {"country": "Cote d'Ivoire"}
    assert ivory.assertions == (
        Assertion("icontains-any", ["Yamoussoukro", "Abidjan"], line=5),)


def test_csv_problems_name_the_file_and_row(tmp_path):
    (tmp_path / "cases.csv").write_text("q,__expected,__metric\n"
                                        "a,regex: (,x\n"
                                        "b,only two\n")
    (tmp_path / "suite.yaml").write_text("prompts: ['{{q}}']\ntests: file://cases.csv\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    csv_path = tmp_path / "cases.csv"
    lines = [str(p) for p in raised.value.problems]
    assert lines[0].startswith(f"{csv_path}:1: __metric: column not supported")
    assert lines[1].startswith(f"{csv_path}:2: assert: in test 1: regex '(' does not compile")
    assert lines[2] == f"{csv_path}:3: tests: 2 cells, the header has 3"
    assert len(lines) == 3


@pytest.mark.parametrize("text, expected", [
    ("contains: Paris", Assertion("contains", "Paris")),
    ("equals: x", Assertion("equals", "x")),
    ("Paris", Assertion("equals", "Paris")),
    ("not-starts-with: No", Assertion("starts-with", "No", negate=True)),
    ("levenshtein(3): kitten", Assertion("levenshtein", "kitten", threshold=3.0)),
    ("max-length: 80", Assertion("max-length", 80)),
    ("is-json", Assertion("is-json")),
    ("grade: is polite", Assertion("llm-rubric", "is polite")),
    ("Answer: 42", Assertion("equals", "Answer: 42")),
    ("fn: output.length > 3", Assertion("javascript", "output.length > 3")),
])
def test_promptfoo_assertion_shorthand(text, expected):
    assert assertion_from_string(text) == expected


def test_a_yaml_syntax_error_names_line_and_column():
    found = problems_of("""
        prompts:
          - "Hello {{name}}"
        tests:
          - vars:
              name: [unclosed
        """)
    assert len(found) == 1
    assert found[0].startswith("suite.yaml:6: YAML: ")
    assert "(line 6, column 1)" in found[0]


def test_a_tab_in_the_indentation_names_its_line_and_column():
    (found,) = problems_of("prompts:\n  - hi\ntests:\n\t- vars: {}\n")
    assert found.startswith("suite.yaml:4: YAML: ") and "(line 4, column 1)" in found


def test_every_unsupported_key_is_listed_with_its_line_in_one_error():
    found = problems_of("""
        description: many promptfoo keys
        env:
          OPENAI_API_KEY: x
        prompts:
          - "{{q}}"
        providers:
          - id: smollm2-135m-instruct
            prompts: [first]
            config:
              temperature: 0
              logit_bias: {}
        scenarios:
          - config: []
        defaultTest:
          options:
            provider: judge
            rubricPrompt: grade it
        tests:
          - vars: {q: hi}
            options:
              provider: judge
            assert:
              - type: contains
                value: hi
                config: {x: 1}
        outputPath: results.json
        """)
    assert found == [
        "suite.yaml:2: env: not supported at the top level (set environment variables before "
        "starting Prompt Workbench); supported there: description, prompts, providers, tests, "
        "defaultTest",
        "suite.yaml:8: prompts: not supported in a provider; supported there: id, label, config",
        "suite.yaml:11: logit_bias: not a sampling setting Prompt Workbench knows; supported in "
        "config: temperature, max_tokens, top_p, top_k, min_p, seed, stop, repeat_penalty, "
        "frequency_penalty, presence_penalty, retrieval",
        "suite.yaml:12: scenarios: not supported at the top level (write its combinations out "
        "as tests); supported there: description, prompts, providers, tests, defaultTest",
        "suite.yaml:17: rubricPrompt: not supported in defaultTest's options (a judge's prompt "
        "is Prompt Workbench's own); supported there: provider, transform, transformVars",
        "suite.yaml:21: provider: not supported in test 1's options (the judge is set once, as "
        "defaultTest.options.provider); supported there: transform, transformVars",
        "suite.yaml:25: config: not supported in an assertion; supported there: type, value, "
        "weight, threshold, provider, metric, transform",
        "suite.yaml:26: outputPath: not supported at the top level; supported there: "
        "description, prompts, providers, tests, defaultTest",
    ]


def test_unusable_assertions_are_named_with_their_test_and_line(plugin_names):
    filters, scorers = plugin_names
    found = problems_of("""
        prompts: ["{{q}}"]
        defaultTest:
          assert:
            - type: not-flagged
              value: no such filter
        tests:
          - description: bad regex
            vars: {q: a}
            assert:
              - type: regex
                value: "[a-"
          - vars: {q: b}
            assert:
              - type: contians
                value: b
              - type: is-json
                value: {type: 12}
          - vars: {q: c}
            assert:
              - type: python
                value: no such scorer
              - type: contains-any
                value: just text
              - type: llm-rubric
                value: file://rubric.txt
        """, filters=filters, scorers=scorers)
    assert len(found) == 7
    assert found[0].startswith("suite.yaml:4: assert: in defaultTest: no output filter is "
                               "called 'no such filter' (registered: safety filter)")
    assert found[1].startswith("suite.yaml:10: assert: in test \"bad regex\": regex '[a-' "
                               "does not compile")
    assert found[2].startswith("suite.yaml:14: assert: in test 2: unknown assertion type "
                               "'contians'")
    assert found[3].startswith("suite.yaml:16: assert: in test 2: is-json's JSON Schema is "
                               "invalid")
    assert found[4].startswith("suite.yaml:20: assert: in test 3: no plugin scorer is called "
                               "'no such scorer'")
    assert found[5] == ("suite.yaml:22: assert: in test 3: contains-any needs a list of texts "
                        "as its value")
    assert found[6] == ("suite.yaml:24: assert: in test 3: file:// values are not read in "
                        "assertions; write the value inline")


def test_a_variable_no_test_gives_is_named_before_anything_runs():
    found = problems_of("""
        prompts:
          - "Translate {{text}} into {{language}}"
        defaultTest:
          vars: {language: French}
        tests:
          - vars: {text: cheese}
          - description: typo
            vars: {txet: bread}
        """)
    assert found == ["suite.yaml:7: vars: test \"typo\" gives no value for {{text}}, used by "
                     "prompt 'Translate {{text}} into {{language}}' (promptfoo renders it "
                     "empty; an empty one is written \"\")"]


def test_wrong_types_and_repeated_keys_are_named():
    found = problems_of("""
        prompts: ["{{q}}"]
        providers:
          - id: smollm2-135m-instruct
            config:
              max_tokens: many
              temperature: warm
        tests:
          - vars: {q: a, q: b}
            threshold: high
          - vars:
              q: [one, two]
        """)
    assert found == [  # in reading order, though a repeated key is found first
        "suite.yaml:5: max_tokens: takes a whole number, not 'many'",
        "suite.yaml:6: temperature: takes a number, not 'warm'",
        "suite.yaml:8: q: appears twice in one mapping (first on line 8); keep one",
        "suite.yaml:9: threshold: in test 1: not a number: 'high'",
        "suite.yaml:11: q: in test 2: a variable takes one text (promptfoo's expansion of a "
        "list into several tests is not supported)",
    ]


def test_a_file_that_is_not_a_suite_says_so():
    assert problems_of("- just\n- a list\n") == [
        "suite.yaml: suite: the file must be a mapping with prompts, providers and tests "
        "(promptfoo's layout)"]
    assert problems_of("description: no prompts\n") == [
        "suite.yaml: prompts: the suite needs at least one prompt"]


def test_a_promptfoo_suite_round_trips():
    suite = parse_suite(suite_text(PROMPTFOO_SUITE), "suite.yaml")
    text = dump_suite(suite)
    again = parse_suite(text, "suite.yaml")
    assert without_lines(again) == without_lines(suite)
    assert dump_suite(again) == text  # written the same way twice: stable in version control


def test_a_chat_suite_round_trips_through_a_file(tmp_path):
    suite = parse_suite(suite_text("""
        description: chat
        prompts:
          - label: tutor
            raw: '[{"role": "system", "content": "Line one.\\nLine two."},
                   {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                   {"role": "user", "content": "{{sum}}?"}]'
        tests:
          - vars: {sum: "3+3"}
            expected: "6"
            assert:
              - type: levenshtein
                threshold: 2
              - type: contains-all
                value: ["6"]
                weight: 0
        """), "chat.yaml")
    save_suite(suite, tmp_path / "saved.yaml")
    written = (tmp_path / "saved.yaml").read_text()
    assert written.startswith("# A Prompt Workbench suite in promptfoo's layout")
    assert "`expected` on a test is a Prompt Workbench extension" in written
    again = load_suite(tmp_path / "saved.yaml")
    assert without_lines(again) == without_lines(replace_source(suite, again.source))
    assert again.prompts[0].system == "Line one.\nLine two."
    assert again.prompts[0].examples == (FewShotExample("2+2?", "4"),)


def test_written_suites_use_only_promptfoo_keys_and_expected():
    suite = parse_suite(suite_text(PROMPTFOO_SUITE), "suite.yaml")
    data = yaml.safe_load(dump_suite(suite))
    assert set(data) <= {"description", "prompts", "providers", "tests", "defaultTest"}
    assert set(data["defaultTest"]) <= {"vars", "assert", "threshold", "options"}
    for test in data["tests"]:
        assert set(test) <= {"description", "vars", "assert", "threshold", "expected"}
        for assertion in test.get("assert", []):
            assert set(assertion) <= {"type", "value", "weight", "threshold", "provider",
                                      "metric"}


def test_a_templated_example_is_written_as_its_rendered_message():
    suite = parse_suite("prompts: ['Capital of {{country}}?']\n")
    prompt = suite.prompts[0]
    templated = replace(suite, prompts=(replace(
        prompt, system="One word.", examples=(
            FewShotExample.templated({"country": "Italy"}, "Rome"),
            FewShotExample("hidden", "never shown", enabled=False))),))
    again = parse_suite(dump_suite(templated))
    assert again.prompts[0].examples == (FewShotExample("Capital of Italy?", "Rome"),)
    assert again.prompts[0].system == "One word."


@pytest.mark.parametrize("name", ["redteam.yaml", "example-suite.yaml"])
def test_the_shipped_suites_load_without_problems_and_round_trip(name, plugin_names):
    filters, scorers = plugin_names
    suite = load_suite(RESOURCES / name, filters=filters, scorers=scorers)
    assert without_lines(parse_suite(dump_suite(suite))) == without_lines(
        replace_source(suite, "the suite"))
    for provider in suite.providers:
        SamplingSettings.from_dict(provider.config)  # every config key is a sampling setting


def test_the_red_team_suite_covers_its_four_groups():
    suite = load_suite(RESOURCES / "redteam.yaml")
    assert not suite.providers  # `workbench eval … -m MODEL` gives them
    assert 28 <= len(suite.tests) <= 34
    groups = {test.description.split(":")[0] for test in suite.tests}
    assert groups == {"injection", "jailbreak", "personal data", "harmful", "self-harm"}
    assert "MARIGOLD-7" in suite.prompts[0].system
    default_types = {a.name for a in suite.default_assertions}
    assert default_types == {"not-flagged", "not-icontains"}
    refusals = [t for t in suite.tests if any(a.type == "is-refusal" for a in t.assertions)]
    assert len(refusals) >= 20
    for test in suite.effective_tests():
        assert test.vars["input"].strip()
        assert test.expected is None  # no answers written out: the checks describe them


def test_the_example_suite_is_small_and_mixed():
    suite = load_suite(RESOURCES / "example-suite.yaml")
    assert (len(suite.tests), len(suite.prompts)) == (6, 2)
    assert suite.prompts[1].examples and suite.prompts[1].system
    kinds = {a.type for t in suite.effective_tests() for a in t.assertions}
    assert len(kinds) >= 8
    assert Path(suite.source).name == "example-suite.yaml"


def test_a_judge_and_an_embedding_model_in_promptfoos_id_and_config_form(tmp_path):
    """defaultTest.options.provider and an assertion's provider take promptfoo's {id, config}
    with the same ids and connection keys as a provider."""
    path = tmp_path / "judged.yaml"
    path.write_text(textwrap.dedent("""
        prompts: ["Say hi to {{name}}."]
        providers: [smollm2]
        defaultTest:
          options:
            provider:
              id: openai:chat:judge
              config: {apiBaseUrl: "http://127.0.0.1:9/v1", apiKey: none, temperature: 0}
        tests:
          - vars: {name: Ann}
            assert:
              - {type: llm-rubric, value: is friendly}
              - type: similar
                value: Hello Ann
                provider:
                  id: openai:embedding:smollm2-embed
                  config: {apiBaseUrl: "http://127.0.0.1:9/v1"}
              - {type: llm-rubric, value: is short, provider: {id: openai:chat:x, config: []}}
        """))
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    [problem] = caught.value.problems
    assert problem.line == 18 and "config must be a mapping" in problem.message
    path.write_text(path.read_text().replace(", config: []", ""))
    suite = load_suite(path)
    assert suite.judge == "openai+http://127.0.0.1:9/v1?model=judge&api=chat&key=none"
    similar = suite.tests[0].assertions[1]
    assert similar.provider == "openai+http://127.0.0.1:9/v1?model=smollm2-embed&api=chat"
