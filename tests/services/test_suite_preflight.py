"""The preflight in-process: every prompt rendered for every case (a failure said once, with
the tests it affects), retrieval variants rendered with a placeholder context, references the
tests lack, a remote server asked with a short timeout, and nothing stored when it refuses."""

from __future__ import annotations

import pytest

from tests.plugins.test_openai_compat_cli import free_port
from workbench.core.evaluation import Assertion
from workbench.core.suites import Suite, SuiteError, SuitePrompt, SuiteProvider, SuiteTest
from workbench.library.bundled import BUNDLED_NAME
from workbench.services.compare import RunService
from workbench.services.evaluation.eval_service import EvalService
from workbench.services.evaluation.preflight import Preflight, check_file, preflight_for
from workbench.services.models import ModelService
from workbench.services.plugins import start_plugins
from workbench.services.sessions import open_store


@pytest.fixture
def service(workbench_home, bundled_model):
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models)
    yield EvalService(store, models, RunService(store, models, plugins), plugins)
    models.close()
    store.close()


def messages(problems) -> list[str]:
    return [f"{p.line}: {p.key}: {p.message}" for p in problems]


def cases_with(*variables: dict) -> tuple[SuiteTest, ...]:
    return tuple(SuiteTest(vars=v) for v in variables)


SMOL = SuiteProvider(BUNDLED_NAME, "smol", line=9)


def test_a_template_failure_is_said_once_per_prompt_with_the_tests_it_affects(service):
    suite = Suite(
        prompts=(SuitePrompt("plain", "Capital of {{ country }}?", line=3),
                 SuitePrompt("topic", "About {{ topic | title }} in {{ country }}", line=4),
                 SuitePrompt("unsafe", "{{ country.__class__.__mro__ }}", line=5),
                 SuitePrompt("broken", "{% if %}", line=6)),
        providers=(SMOL,),
        tests=(SuiteTest("france", {"country": "France", "topic": "food"}),
               SuiteTest("japan", {"country": "Japan"}),
               *cases_with({"country": "Peru"}, {"country": "Chile", "topic": ""},
                           {"country": "Spain"}, {"country": "Italy"})))
    found = messages(preflight_for(service).problems(suite))
    # test 4's topic is "": it renders empty, as promptfoo renders it (undefined is not empty)
    assert found[0] == "4: prompts: prompt 2 ('topic'): 'topic' is undefined — in tests " \
                      '"japan", 3 (and 2 more)'
    assert found[1].startswith("5: prompts: prompt 3 ('unsafe'): The template failed to "
                               "render: access to attribute '__class__' of 'str' object is "
                               "unsafe — in every test")
    assert found[2].startswith("6: prompts: prompt 4 ('broken'): The user template has a "
                               "syntax error on line 1")
    assert found[2].endswith("— in every test")
    assert len(found) == 3  # prompt 1 renders for every test


def test_a_retrieval_variant_renders_with_a_placeholder_context(service):
    service.runs.retrieval_service().create_set("handbook")
    retrieving = SuiteProvider(BUNDLED_NAME, "rag", {"retrieval": {"set": "handbook",
                                                                   "mode": "bm25", "k": 2}},
                               line=9)
    suite = Suite(prompts=(SuitePrompt("grounded", "Use {{ context | trim }}.\n{{ question }}",
                                       line=3),),
                  providers=(SMOL, retrieving),
                  tests=(SuiteTest("asks", {"question": "How long is the warranty?"}),
                         SuiteTest("own context", {"context": "Given.", "question": "Why?"}),
                         SuiteTest("nothing to search with", {"question": ""})))
    found = messages(preflight_for(service).problems(suite))
    # {{ context }} is filled (empty without retrieval, a placeholder passage with it): only
    # the case that gives no query at all fails, once, as the run would fail it (without
    # retrieval its empty question renders empty)
    assert found == ["3: prompts: prompt 1 ('grounded'): Retrieval needs a query: this case "
                     "has no 'query', 'question' or 'input' value, nor any other filled "
                     'variable — in test "nothing to search with"']
    without_question = Suite(prompts=suite.prompts, providers=(retrieving,),
                             tests=(SuiteTest("blank", {"question": "", "topic": ""}),))
    [problem] = preflight_for(service).problems(without_question)
    assert problem.message.startswith("prompt 1 ('grounded'): Retrieval needs a query")


def test_references_the_tests_lack_and_judges_are_named_where_they_are_written(service):
    suite = Suite(
        prompts=(SuitePrompt("p", "Say {{ word }}", line=3),), providers=(SMOL,),
        tests=(SuiteTest("with", {"word": "hi"}, (Assertion("rouge-l", line=12),),
                         expected="hi"),
               SuiteTest("without", {"word": "yo"}, (Assertion("rouge-l", line=15),
                                                     Assertion("likelihood", threshold=50,
                                                               line=16))),
               SuiteTest("", {"word": "x"}, (Assertion("llm-rubric", "is kind", line=19),
                                             Assertion("select-best", "kinder",
                                                       line=20)))),
        default_assertions=(Assertion("levenshtein", threshold=3, line=7),),
        judge="no-such-judge", judge_at=("suite.yaml", 5), source="suite.yaml")
    found = messages(preflight_for(service).problems(suite))
    assert "5: defaultTest.options.provider: the judge model 'no-such-judge' cannot be used: " \
           "No model named 'no-such-judge'" in found[0]
    assert found[1] == "7: assert: in defaultTest: levenshtein needs a reference: a value, or " \
                       'an expected answer on the test — in tests "without", 3'
    assert found[2:] == [
        '15: assert: in test "without": rouge-l needs a reference: a value, or an expected '
        "answer on the test",
        "16: assert: in test \"without\": likelihood scores the test's expected answer, and "
        "the test has none"]


def test_a_server_where_nothing_listens_is_named_quickly_and_nothing_is_stored(service):
    dead = f"openai+http://127.0.0.1:{free_port()}/v1"
    assert service.models.remote_problem(dead) == (
        f"nothing answers at {dead.removeprefix('openai+')} (connection refused)")
    assert service.models.remote_problem("openai+ftp://example/v1") == \
        "'ftp://example/v1' is not an http:// or https:// address"
    assert service.models.remote_problem("nobody+http://127.0.0.1:1/v1") == \
        "no plugin serves 'nobody+' models (nobody+http://127.0.0.1:1/v1)"
    suite = Suite(prompts=(SuitePrompt("p", "Say {{ word }}"),),
                  providers=(SuiteProvider(dead, line=6), SMOL),
                  tests=(SuiteTest("t", {"word": "hi"},
                                   (Assertion("llm-rubric", "is kind", provider=dead,
                                              line=11),)),))
    with pytest.raises(SuiteError) as refused:
        service.run_suite(suite)
    assert messages(refused.value.problems) == [
        f"6: providers: nothing answers at {dead.removeprefix('openai+')} (connection refused)",
        f"11: assert: in test \"t\": the judge model '{dead}' cannot be used: nothing answers "
        f"at {dead.removeprefix('openai+')} (connection refused)"]
    assert service.store.sessions.list() == []


def test_a_file_problem_found_by_both_readings_is_said_once(service, tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(f"""prompts: ["Say {{{{ word }}}}"]
providers: [{BUNDLED_NAME}]
repeat: 3
tests:
  - vars: {{word: hi}}
    assert:
      - {{type: regex, value: "(["}}
      - {{type: python, value: nobody}}
""")
    with pytest.raises(SuiteError) as refused:
        check_file(path, Preflight(service.models, service.plugins))
    found = messages(refused.value.problems)
    assert [line.split(":")[0] for line in found] == ["3", "7", "8"]
    assert "does not compile" in found[1] and "no plugin scorer is called 'nobody'" in found[2]


def test_import_needs_no_models_but_a_run_does(service, tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text('prompts: ["Say {{ word }}"]\ntests: [{vars: {word: hi}}]\n')
    assert check_file(path, preflight_for(service), need_models=False).tests
    with pytest.raises(SuiteError, match="names no model: give one or more with -m"):
        check_file(path, preflight_for(service))
