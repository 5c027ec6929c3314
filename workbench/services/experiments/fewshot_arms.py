"""The example set and the arms of a few-shot vs fine-tune experiment.

Examples come in through the tune wizard's readers (files in any layout it reads, or the
session's examples and rated outputs), so anything the user can tune on they can also compare
against prompting. Every arm is one column of one evaluation run: the same held-out cases, the
same seeds, the same repeats. Prompt arms differ only in their few-shot examples; adapter arms
run the zero-shot prompt (or the largest k-shot one, for "k-shot + adapter") with an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.evaluation import Assertion
from ...core.experiment_split import Pair, Split
from ...core.messages import ChatMessage
from ...core.prompts import FewShotExample, PromptVersion
from ...core.records import RowProblem
from ...core.sampling import SamplingSettings
from ...core.suites import Suite, SuitePrompt, SuiteProvider, SuiteTest
from ...tuning.formats import Example, Imported
from ..compare import VariantSpec
from .fewshot_config import FewShotConfig

USER_TEMPLATE = "{{input}}"


@dataclass(frozen=True)
class ExampleSet:
    pairs: list[Pair]
    system: str  # the config's system prompt, else the examples' own (the first one found)
    problems: list[RowProblem]


def load_examples(tuning, config: FewShotConfig) -> ExampleSet:
    """Files and/or the session's examples, each as (last user message, the answer to it)."""
    imported = Imported()
    if config.data:
        imported.extend(tuning.import_files(list(config.data)))
    if config.session_id:
        imported.extend(tuning.session_examples(config.session_id))
    pairs, systems = [], []
    problems = list(imported.problems)
    for example in imported.examples:
        messages = list(example.messages)
        systems += [m.content for m in messages if m.role == "system" and m.content.strip()]
        answer = messages[-1] if messages and messages[-1].role == "assistant" else None
        question = next((m for m in reversed(messages[:-1]) if m.role == "user"), None)
        if answer is None or question is None:
            problems.append(RowProblem(example.line, "no user message answered by the assistant",
                                       example.source))
            continue
        where = f"{example.source}:{example.line}" if example.line else example.source
        pairs.append(Pair(question.content, answer.content, where))
    system = config.system or (systems[0] if systems else "")
    return ExampleSet(pairs, system, problems)


@dataclass(frozen=True)
class AdapterPlan:
    """One adapter to train: on the first k shots, or on the whole training part."""

    key: str  # "k8", "all"
    label: str
    pairs: tuple[Pair, ...]


@dataclass(frozen=True)
class Arm:
    key: str
    label: str
    kind: str  # "prompt", "adapter", "both" (k-shot + adapter) or "control"
    k: int  # examples shown in the prompt
    trained_on: int = 0  # examples the adapter saw (0: no adapter)
    adapter: str | None = None  # the AdapterPlan's key
    scale: float = 1.0

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "kind": self.kind, "k": self.k,
                "trained_on": self.trained_on, "adapter": self.adapter, "scale": self.scale}


def plan_adapters(config: FewShotConfig, split: Split) -> list[AdapterPlan]:
    plans = [AdapterPlan(f"k{k}", f"LoRA on {k}", split.shots(k)) for k in config.adapter_ks]
    if config.adapter_on_all:
        count = len(split.training)
        plans.append(AdapterPlan("all", f"LoRA on all {count}", split.training))
    return plans


def plan_arms(config: FewShotConfig, split: Split,
              adapters: list[AdapterPlan]) -> list[Arm]:
    arms = [Arm("zero-shot" if k == 0 else f"shots-{k}", "zero-shot" if k == 0 else f"{k}-shot",
                "prompt", k) for k in config.shot_ks]
    arms += [Arm(f"lora-{a.key}", a.label, "adapter", 0, len(a.pairs), a.key) for a in adapters]
    whole = next((a for a in adapters if a.key == "all"), None)
    largest = max(config.shot_ks)
    if config.shots_plus_adapter and whole is not None and largest > 0:
        arms.append(Arm(f"shots-{largest}+lora-all", f"{largest}-shot + {whole.label}", "both",
                        largest, len(whole.pairs), whole.key))
    if config.control and adapters:
        # The whole-part adapter if there is one (the one most unlike the base), else the last.
        chosen = whole or adapters[-1]
        arms.append(Arm("control-base", "control: base (greedy)", "control", 0))
        arms.append(Arm("control-scale0", f"control: {chosen.label} ×0 (greedy)", "control", 0,
                        len(chosen.pairs), chosen.key, 0.0))
    return arms


def suite_for(config: FewShotConfig, split: Split, system: str, model: str) -> Suite:
    """One prompt per k (its examples exactly the first k shots), one test per held-out case
    with the expected answer as its assertion."""
    prompts = tuple(
        SuitePrompt("zero-shot" if k == 0 else f"{k}-shot", USER_TEMPLATE, system,
                    tuple(FewShotExample(p.input, p.output) for p in split.shots(k)))
        for k in config.shot_ks)
    tests = tuple(SuiteTest(description=f"held-out {number}", vars={"input": pair.input},
                            assertions=(Assertion(config.assertion, pair.output),),
                            expected=pair.output)
                  for number, pair in enumerate(split.held_out, 1))
    return Suite(description=f"{config.name} (held-out cases)", prompts=prompts,
                 providers=(SuiteProvider(model, config={"max_tokens": config.max_tokens,
                                                         "temperature": config.temperature,
                                                         "seed": config.seed,
                                                         "stop": list(config.stop)}),),
                 tests=tests, source="the suite")


def variant_specs(config: FewShotConfig, arms: list[Arm], versions: dict[int, PromptVersion],
                  model: str, adapter_paths: dict[str, str]) -> list[VariantSpec]:
    """A column per arm whose adapter (if any) exists; ``versions``: k -> prompt version."""
    sampling = SamplingSettings(max_tokens=config.max_tokens, temperature=config.temperature,
                                seed=config.seed, stop=config.stop)
    greedy = sampling.with_(temperature=0.0)
    specs = []
    for arm in arms:
        path = adapter_paths.get(arm.adapter) if arm.adapter else None
        if arm.adapter and path is None:
            continue  # its training failed: marked in the report, not run
        specs.append(VariantSpec(
            label=arm.label, prompt_version=versions[arm.k], model=model,
            sampling=greedy if arm.kind == "control" else sampling,
            adapter_path=path, adapter_scale=arm.scale))
    return specs


def training_examples(pairs: tuple[Pair, ...], system: str) -> Imported:
    """An adapter learns from the exact messages its arm is asked with (same system prompt)."""
    head = (ChatMessage("system", system),) if system.strip() else ()
    return Imported([Example((*head, ChatMessage("user", p.input),
                              ChatMessage("assistant", p.output)), p.source, number)
                     for number, p in enumerate(pairs, 1)])
