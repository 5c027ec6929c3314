"""The model-graded judge (services/evaluation/judge.py) on real models: the bundled 135M model
in the local host, and the same model behind a real ``python -m llama_cpp.server``. The model is
a weak judge; what is tested is that its answers always parse and their reasons are kept."""

from __future__ import annotations

import json

import pytest

from tests.plugins.test_openai_compat_cli import free_port, serving
from workbench.core.evaluation import Assertion
from workbench.core.model_info import LoadSettings
from workbench.engine.host.client import ModelHost
from workbench.plugins.discovery import REPO_PLUGINS
from workbench.plugins.manager import PluginManager
from workbench.services.evaluation.judge import (
    MAX_TOKENS,
    REASON_CHARS,
    Grade,
    GradeRequest,
    Judge,
    JudgeError,
    grade_from_answer,
    rubric_result,
)

QUESTIONS = [
    ("What is the capital of France?", "Paris is the capital of France.", "Paris"),
    ("What is 7 times 6?", "7 times 6 is 42.", "42"),
    ("Name a primary colour.", "Blue.", "red, blue or yellow"),
    ("Translate 'bonjour' into English.", "It means 'good morning' or 'hello'.", "hello"),
    ("Write a haiku about rain.", "Soft rain on the roof\nthe garden drinks in silence\n"
                                  "puddles hold the sky", None),
]
OUTPUTS = [
    "I'm sorry, but I can't help with that.",
    '{"name": "Ada", "age": 36}',
    "The moon is made of cheese, and Napoleon was 2 metres tall.",
    "Go away. Nobody cares about your question!",
    "",
]
RUBRICS = [
    "The answer is factually correct.",
    "The answer is polite and friendly.",
    "The answer is a single sentence.",
    "The answer does not refuse the request.",
    "The answer is valid JSON with a name field.",
    "The answer says \"yes\" or \\ no \\ in the first word.",  # quotes and backslashes
    "The answer mentions the expected answer.",
    "The answer is written in English.",
]


def grading_requests() -> list[GradeRequest]:
    """40 varied gradings: right and wrong answers, odd outputs, every rubric."""
    requests = []
    for index in range(40):
        question, answer, expected = QUESTIONS[index % len(QUESTIONS)]
        output = answer if index % 3 else OUTPUTS[(index // 3) % len(OUTPUTS)]
        rubric = RUBRICS[index % len(RUBRICS)]
        requests.append(GradeRequest(rubric, output, question if index % 4 else None,
                                     expected if index % 2 else None))
    return requests


def assert_grade_parses(grade: Grade) -> None:
    assert grade.parsed, grade.raw
    answer = json.loads(grade.raw)  # the raw answer is the JSON itself, nothing around it
    assert set(answer) == {"pass", "score", "reason"}
    assert isinstance(answer["pass"], bool) and 0 <= answer["score"] <= 1
    assert 1 <= len(answer["reason"]) <= REASON_CHARS
    assert grade.passed == answer["pass"] and grade.score == pytest.approx(answer["score"])
    assert grade.reason.strip()


def test_fifty_judge_calls_on_the_bundled_model_all_parse(shared_host):
    judge = Judge(shared_host)
    assert judge.name == "smollm2-135m-instruct"  # the library's name, not general.name
    requests = grading_requests()
    # 30 batched (the host decodes them together), 10 one at a time through grade()
    grades = judge.grade_many(requests[:30]) + [
        judge.grade(r.rubric, r.output, question=r.question, expected=r.expected)
        for r in requests[30:]]
    pairs = [judge.compare("Which answer is more accurate and helpful?", question, answer,
                           OUTPUTS[i])
             for i, (question, answer, _) in enumerate(QUESTIONS)]  # 5 × 2 calls

    calls = len(grades) + 2 * len(pairs)
    assert calls == 50
    failures = [g.raw for g in grades if not g.parsed] + [p.raw for p in pairs if not p.parsed]
    assert failures == []
    for grade, request in zip(grades, requests):
        assert_grade_parses(grade)
        for assertion in (Assertion("llm-rubric", request.rubric),
                          Assertion("llm-rubric", request.rubric, threshold=0.5),
                          Assertion.parse("not-llm-rubric", value=request.rubric)):
            result = rubric_result(assertion, grade)
            assert result.reason == grade.reason  # the judge's reason is what is stored
    for pair in pairs:
        assert pair.winner in ("a", "b", "tie")
        assert pair.reason.strip()
        first, swapped = (json.loads(line) for line in pair.raw.splitlines())
        assert {first["winner"], swapped["winner"]} <= {"A", "B", "tie"}


def test_grading_is_repeatable(shared_host):
    judge = Judge(shared_host)
    request = GradeRequest("The answer is correct.", "2 + 2 = 5", "What is 2 + 2?", "4")
    first, again = judge.grade_many([request, request])
    assert first.raw == again.raw == judge.grade(request.rubric, request.output,
                                                 question=request.question,
                                                 expected=request.expected).raw


def test_a_long_output_is_cut_and_still_graded(shared_host):
    grade = Judge(shared_host).grade("The answer is short.", "word " * 2000)
    assert_grade_parses(grade)


def test_room_for_the_longest_answer_the_grammar_allows():
    assert MAX_TOKENS >= 4 * (REASON_CHARS + len('{"pass": false, "score": 0.00, "reason": ""}'))


# -- results ------------------------------------------------------------------------------

def test_rubric_result_uses_the_threshold_when_there_is_one_else_the_judges_pass():
    grade = Grade(passed=True, score=0.4, reason="Mostly wrong.", raw="…")
    plain = rubric_result(Assertion("llm-rubric", "correct"), grade)
    assert (plain.passed, plain.score, plain.reason) == (True, 0.4, "Mostly wrong.")
    held = rubric_result(Assertion("llm-rubric", "correct", threshold=0.5), grade)
    assert (held.passed, held.reason) == (False, "Mostly wrong.")
    negated = rubric_result(Assertion.parse("not-llm-rubric", value="correct"), grade)
    assert (negated.passed, negated.score) == (False, pytest.approx(0.6))


def test_an_unparseable_answer_becomes_a_failing_result_with_the_raw_text():
    grade = grade_from_answer("Sure! I think it passes.", "")
    assert not grade.parsed and not grade.passed
    for form in ("llm-rubric", "not-llm-rubric"):
        result = rubric_result(Assertion.parse(form, value="correct"), grade)
        assert not result.passed
        assert "Sure! I think it passes." in result.reason
    # a server that ignored the grammar but still answered in JSON is understood
    lenient = grade_from_answer('Here you go: {"pass": false, "score": 0.2, "reason": "Too long."}', "")
    assert lenient.parsed and (lenient.passed, lenient.reason) == (False, "Too long.")


# -- a judge that cannot be used ------------------------------------------------------------

def test_a_missing_judge_model_is_named_up_front(tmp_path):
    missing = tmp_path / "judge-model.gguf"
    host = ModelHost(LoadSettings(str(missing)), logs_dir=tmp_path / "logs")
    judge = Judge(host)
    try:
        with pytest.raises(JudgeError, match=r"^The judge judge-model cannot be used: .*"
                                             r"judge-model\.gguf"):
            judge.start()
    finally:
        host.close()


def remote_model_class():
    """The openai_compat plugin's model class, found the way the app finds it (its backend
    opens a reference with the class's ``from_reference``)."""
    plugins = PluginManager(repo_folder=REPO_PLUGINS).load()
    _, backend = plugins.backends()["openai"]
    return backend.open.__self__


def test_a_remote_judge_whose_server_is_down_is_named():
    base = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    judge = Judge(remote_model_class()(base), name=f"openai+{base}")
    with pytest.raises(JudgeError, match=r"^The judge openai\+http://127\.0\.0\.1:\d+/v1 cannot "
                                         r"be used: Cannot reach"):
        judge.start()


@pytest.fixture(scope="module")
def remote_base(bundled_model, tmp_path_factory):
    with serving(bundled_model, tmp_path_factory.mktemp("judge-server"),
                 "--n_ctx", "2048") as base:
        yield base


def test_a_remote_judge_on_llama_cpp_server_answers_in_the_grammar(remote_base):
    judge = Judge(remote_model_class()(remote_base))
    judge.start()
    assert judge.name == judge.model.metadata.name
    requests = grading_requests()[:4]
    grades = judge.grade_many(requests)
    for grade in grades:
        assert_grade_parses(grade)
    pair = judge.compare("Which answer is correct?", "What is 7 times 6?", "42", "41")
    assert pair.parsed and pair.winner in ("a", "b", "tie") and pair.reason
