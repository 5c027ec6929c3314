"""How a prompt fills the model's context window, part by part."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.composition import build_messages, example_messages, system_messages
from ..core.prompts import PromptVersion
from ..engine.protocol import TextModel


@dataclass(frozen=True)
class ContextBudget:
    system: int
    examples: int
    input: int
    answer: int  # tokens reserved for the answer (max_tokens)
    n_ctx: int
    rendered: str  # the exact text the model receives

    @property
    def prompt(self) -> int:
        return self.system + self.examples + self.input

    @property
    def room_left(self) -> int:
        return self.n_ctx - self.prompt - self.answer

    @property
    def fits(self) -> bool:
        return self.prompt < self.n_ctx

    @property
    def warning(self) -> str | None:
        if not self.fits:
            return (f"The prompt is {self.prompt:,} tokens; the context window holds "
                    f"{self.n_ctx:,}. Remove examples or shorten the input.")
        if self.room_left < 0:
            return (f"Only {self.n_ctx - self.prompt:,} tokens are left for the answer "
                    f"(max tokens is {self.answer:,}): the answer will be cut short.")
        return None


def measure(model: TextModel, version: PromptVersion, variables: dict[str, str],
            max_tokens: int) -> ContextBudget:
    """Count each part by rendering the chat template with and without it.

    Templates add their own markup around each message, so a part's cost is the difference
    between renderings, which is exactly what it adds to the prompt.
    """
    system = system_messages(version)
    with_examples = system + example_messages(version)
    everything = build_messages(version, variables)

    def count(messages, generation_prompt: bool) -> tuple[int, str]:
        if not messages:
            return 0, ""
        text = model.render(messages, add_generation_prompt=generation_prompt)
        return len(model.tokenize(text, add_special=True, parse_special=True)), text

    system_tokens, _ = count(system, False)
    examples_tokens, _ = count(with_examples, False)
    total, rendered = count(everything, True)
    return ContextBudget(
        system=system_tokens,
        examples=max(0, examples_tokens - system_tokens),
        input=max(0, total - max(examples_tokens, system_tokens)),
        answer=max_tokens,
        n_ctx=model.metadata.n_ctx,
        rendered=rendered,
    )
