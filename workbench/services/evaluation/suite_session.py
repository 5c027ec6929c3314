"""A suite as a session: its prompts become prompt versions, its tests a case set (with their
assertions), its providers × prompts the variants. Stored this way, a `workbench eval` run opens
in the app like any comparison; and a session the user built in the app exports as a suite."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ...core.cases import CaseSet, TestCase
from ...core.prompts import Prompt, PromptVersion
from ...core.sampling import SamplingSettings
from ...core.session_variants import SessionVariant
from ...core.sessions import Session
from ...core.suites import (
    StoredSuite,
    Suite,
    SuiteError,
    SuiteProblem,
    SuitePrompt,
    SuiteProvider,
    SuiteTest,
)
from ...store import Store
from ..compare import VariantSpec
from .suite_providers import CONFIG_KINDS, is_remote, request_keys, resolve_provider
from .suite_retrieval import retrieval_config, retrieval_of

SAMPLING_KEYS = set(CONFIG_KINDS)  # the settings a provider's config gives


@dataclass(frozen=True)
class SuiteInSession:
    session: Session
    versions: tuple[PromptVersion, ...]  # one per suite prompt, in order
    case_set: CaseSet
    stored: StoredSuite


def providers_for(suite: Suite, models: list[str] | None,
                  config: dict | None = None) -> list[SuiteProvider]:
    """``-m`` gives the variants when the suite names none, or replaces them (``config``:
    their sampling, e.g. max_tokens); a promptfoo id there is read as in a suite."""
    if models:
        problems: list[SuiteProblem] = []
        providers = [resolve_provider(SuiteProvider(model, config=dict(config or {})),
                                      lambda _key, message, model=model: problems.append(
                                          SuiteProblem(suite.source, None, "-m",
                                                       f"{model}: {message}")))
                     for model in models]
        if problems:
            raise SuiteError(problems)
        return [provider for provider in providers if provider is not None]
    if not suite.providers:
        raise SuiteError(SuiteProblem(suite.source, None, "providers",
                                      "the suite names no model: give one or more with -m"))
    return list(suite.providers)


def sampling_of(provider: SuiteProvider) -> SamplingSettings:
    """The provider's settings: for a server, those its config gives are what it is sent
    (``sent``), with its request keys (``extra``); a local model uses every setting, the
    others at llama.cpp's defaults."""
    config = {key: value for key, value in provider.config.items() if key in SAMPLING_KEYS}
    if "stop" in config and isinstance(config["stop"], str):
        config["stop"] = [config["stop"]]
    if not is_remote(provider.id):
        return SamplingSettings.from_dict(config)
    return SamplingSettings.given(config, request_keys(provider.config))


def store_suite(store: Store, suite: Suite, *, name: str | None = None,
                yaml_text: str = "") -> SuiteInSession:
    """Create a session holding the suite (one transaction: all of it or nothing)."""
    title = suite_title(suite, name)
    with store.transaction():
        session = store.sessions.add(Session(name=session_name(title)))
        # One prompt whose versions are the suite's prompts (the window shows a session's
        # prompt and its versions; each variant row names the version it runs).
        line = store.prompts.add_prompt(Prompt(session.id, title))
        versions = []
        parent = None
        for prompt in suite.prompts:
            version = store.prompts.save_version(version_of(prompt, line.id, parent))
            versions.append(version)
            parent = version.id
        case_set = store.case_sets.save(case_set_of(suite, session.id, title))
        stored = store.evaluations.add_suite(StoredSuite(
            session.id, case_set.id, title, source_path=source_path_of(suite),
            yaml_text=yaml_text))
        store.session_variants.save(session.id, session_variants(suite, versions))
    return SuiteInSession(session, tuple(versions), case_set, stored)


def suite_title(suite: Suite, name: str | None = None) -> str:
    """What the suite's session, prompt and case set are named after."""
    return name or suite.description or Path(suite.source).stem or "Suite"


def session_name(title: str) -> str:
    return f"eval: {title}"


def source_path_of(suite: Suite) -> str:
    """The file the suite was read from ("" for one given as text)."""
    return "" if suite.source == "the suite" else str(suite.source)


def version_of(prompt: SuitePrompt, prompt_id: str, parent: str | None) -> PromptVersion:
    return PromptVersion(prompt_id, system_prompt=prompt.system, examples=prompt.examples,
                         user_template=prompt.user_template, parent_id=parent,
                         note=f"{prompt.label} (imported from a suite)")


def case_set_of(suite: Suite, session_id: str, title: str) -> CaseSet:
    """The suite's tests as a new case set (not stored): defaultTest's vars and options
    merged into each case."""
    case_set = CaseSet(session_id, title, default_assertions=suite.default_assertions,
                       default_threshold=suite.default_threshold, judge=suite.judge,
                       default_options=dict(suite.default_options))
    return replace(case_set, cases=tuple(
        TestCase(case_set.id, {**suite.default_vars, **test.vars}, expected=test.expected,
                 assertions=test.assertions, threshold=test.threshold,
                 description=test.description,
                 options={**suite.default_options, **test.options})
        for test in suite.tests))


def session_variants(suite: Suite, versions) -> list[SessionVariant]:
    """The session's variants table: each prompt (its version) × each provider."""
    return [SessionVariant(label=spec_label(prompt, provider, suite.prompts),
                           version=version.id, model=provider.id,
                           temperature=sampling_of(provider).temperature,
                           seed=sampling_of(provider).seed or 0,
                           max_tokens=sampling_of(provider).max_tokens,
                           retrieval=retrieval_of(provider))
            for prompt, version in zip(suite.prompts, versions)
            for provider in suite.providers]


def spec_label(prompt: SuitePrompt, provider: SuiteProvider, prompts) -> str:
    """A column's name: the model (with its retrieval, when it retrieves and has no label
    of its own), and the prompt when the suite has several."""
    name = provider.name
    retrieval = retrieval_of(provider)
    if not provider.label and retrieval.active:
        name = f"{name} · {retrieval.mode} {retrieval.set_name}"
    return f"{prompt.label} · {name}" if len(prompts) > 1 else name


def variant_specs(suite: Suite, versions, providers: list[SuiteProvider],
                  n_ctx: int = 4096, engine: dict | None = None) -> list[VariantSpec]:
    """prompts × providers, prompt-major (the order promptfoo shows them); ``engine``: the
    variants' engine settings (LoadSettings' names), llama.cpp's defaults when None."""
    return [VariantSpec(label=spec_label(prompt, provider, suite.prompts), prompt_version=version,
                        model=provider.id, sampling=sampling_of(provider), n_ctx=n_ctx,
                        retrieval=retrieval_of(provider), engine=dict(engine or {}))
            for prompt, version in zip(suite.prompts, versions) for provider in providers]


def suite_from_session(store: Store, session_id: str, case_set: CaseSet,
                       versions: list[tuple[str, PromptVersion]],
                       variants: list[SessionVariant]) -> Suite:
    """The session as a suite (File ▸ Export suite…): its prompts, the variants' models with
    their sampling, the cases with their assertions."""
    prompts = tuple(SuitePrompt(label, version.user_template, version.system_prompt,
                                tuple(e for e in version.examples if e.enabled))
                    for label, version in versions)
    providers = []
    for variant in variants:
        if not variant.model:
            continue
        config = {"temperature": variant.temperature, "max_tokens": variant.max_tokens}
        if variant.seed >= 0:
            config["seed"] = variant.seed
        if variant.retrieval.active:
            config["retrieval"] = retrieval_config(variant.retrieval)
        provider = SuiteProvider(variant.model, variant.label, config)
        if provider not in providers:
            providers.append(provider)
    defaults = case_set.default_options  # a case keeps them merged in: written once
    tests = tuple(SuiteTest(case.description, dict(case.variables), case.assertions,
                            case.threshold, case.expected,
                            options={key: code for key, code in case.options.items()
                                     if defaults.get(key) != code})
                  for case in case_set.cases)
    return Suite(description=case_set.name, prompts=prompts, providers=tuple(providers),
                 tests=tests, default_assertions=case_set.default_assertions,
                 default_threshold=case_set.default_threshold, judge=case_set.judge,
                 default_options=dict(defaults))
