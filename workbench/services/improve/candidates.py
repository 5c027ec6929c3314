"""A candidate as the model sees it: its settings rendered into a prompt version (instruction
in the system prompt or in front of the user message, an answer-format line, the chosen
examples) and a variant to run it; and what it changes against its parent, in words."""

from __future__ import annotations

from ...core.improve import CandidateSettings
from ...core.prompts import PromptVersion
from ..compare import VariantSpec
from .bootstrap import ExamplePool
from .request import ImproveRequest


def start_settings(start: PromptVersion, pool: ExamplePool) -> CandidateSettings:
    """The start as the search describes it: its system prompt is the instruction, its own
    examples are shown."""
    return CandidateSettings(instruction=start.system_prompt, system_on=True,
                             format_line=False,
                             examples=tuple(key for key in pool.keys if key.startswith("u")))


def render(start: PromptVersion, settings: CandidateSettings, pool: ExamplePool,
           request: ImproveRequest, *, prompt_id: str, parent_version_id: str | None,
           note: str) -> PromptVersion:
    """A new prompt version (not stored) in ``prompt_id``'s line."""
    template = start.user_template
    instruction = settings.instruction.strip()
    system = instruction if settings.system_on else ""
    if instruction and not settings.system_on:
        template = f"{instruction}\n\n{template}"
    if settings.format_line and request.allowed.format_line_text.strip():
        template = f"{template}\n{request.allowed.format_line_text.strip()}"
    return PromptVersion(prompt_id, system_prompt=system, examples=pool.pick(settings.examples),
                         user_template=template, parent_id=parent_version_id, note=note)


def spec(label: str, version: PromptVersion, settings: CandidateSettings,
         request: ImproveRequest) -> VariantSpec:
    sampling = request.target_sampling
    if settings.temperature is not None and settings.temperature != sampling.temperature:
        sampling = sampling.with_sent(temperature=settings.temperature)
    return VariantSpec(label=label, prompt_version=version, model=request.target_model,
                       sampling=sampling, n_ctx=request.n_ctx)


def describe_change(parent: CandidateSettings | None, settings: CandidateSettings) -> str:
    """What differs from the parent, in a few words ("instruction rewritten; 3 examples
    [b4, u0, b9]; temperature 0.3")."""
    if parent is None:
        return "the start"
    parts = []
    if settings.instruction != parent.instruction:
        parts.append("instruction rewritten")
    if settings.system_on != parent.system_on:
        parts.append("instruction in the system prompt" if settings.system_on
                     else "instruction in the user message")
    if settings.format_line != parent.format_line:
        parts.append("answer-format line added" if settings.format_line
                     else "answer-format line removed")
    if settings.examples != parent.examples:
        shown = ", ".join(settings.examples)
        parts.append(f"{len(settings.examples)} example(s) [{shown}]" if settings.examples
                     else "no examples")
    if settings.temperature != parent.temperature:
        parts.append(f"temperature {settings.temperature}")
    return "; ".join(parts) or "no change"
