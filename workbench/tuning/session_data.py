"""Training examples from a session: its few-shot examples and its highly rated outputs.

This is the bridge from in-context learning to fine-tuning: examples that taught the model in
the prompt become training rows, and outputs a person rated well become answers to imitate.
A rated output's row is the prompt it was generated for (system prompt and the case's user
message) without the few-shot examples, which the adapter is meant to make unnecessary.
"""

from __future__ import annotations

from collections import defaultdict

from ..core.composition import CompositionError, example_user_message, render_user_message
from ..core.messages import ChatMessage
from ..core.records import RowProblem
from ..store import Store
from .formats import Example, Imported


def session_examples(store: Store, session_id: str, *, include_examples: bool = True,
                     min_rating: float = 4.0) -> Imported:
    result = Imported()
    if include_examples:
        for prompt in store.prompts.prompts(session_id):
            version = store.prompts.latest(prompt.id)
            if version is None:
                continue
            system = _system(version.system_prompt)
            for number, example in enumerate(version.examples, 1):
                if not example.enabled:
                    continue
                source = f"{prompt.name} (few-shot)"
                if not example.input.strip() or not example.output.strip():
                    result.problems.append(RowProblem(
                        number, "the example has an empty input or output", source))
                    continue
                try:  # a templated example trains on the same user message the prompt showed
                    user = example_user_message(version.user_template, example, number)
                except CompositionError as error:
                    result.problems.append(RowProblem(number, str(error), source))
                    continue
                result.examples.append(Example(
                    (*system, ChatMessage("user", user),
                     ChatMessage("assistant", example.output)), source, number))
    result.extend(_rated_outputs(store, session_id, min_rating))
    return result


def _system(text: str) -> tuple[ChatMessage, ...]:
    return (ChatMessage("system", text),) if text.strip() else ()


def _rated_outputs(store: Store, session_id: str, min_rating: float) -> Imported:
    result = Imported()
    cases: dict[str, dict] = {}
    for case_set in store.case_sets.for_session(session_id):
        for case in case_set.cases:
            cases[case.id] = case.variables
    for run in store.runs.for_session(session_id):
        outputs = [o for o in store.runs.outputs(run.id) if not o.error and o.text.strip()]
        scores: dict[str, list[int]] = defaultdict(list)
        for rating in store.ratings.ratings_for([o.id for o in outputs]):
            scores[rating.output_id].append(rating.score)
        versions = {v.id: v.prompt_version_id for v in run.variants}
        for number, output in enumerate(outputs, 1):
            marks = scores.get(output.id)
            if not marks or sum(marks) / len(marks) < min_rating:
                continue
            source = f"run {run.name or run.id[:8]} (rated output)"
            version = store.prompts.version(versions[output.variant_id])
            try:
                user = render_user_message(version.user_template,
                                           cases.get(output.case_id or "", {}))
            except CompositionError as error:
                result.problems.append(RowProblem(number, str(error), source))
                continue
            result.examples.append(Example(
                (*_system(version.system_prompt), ChatMessage("user", user),
                 ChatMessage("assistant", output.text)), source, number))
    return result
