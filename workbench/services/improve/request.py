"""What an improve job is asked to do: ``ImproveRequest`` (the window's dialog and
``workbench improve`` fill one in) and ``AllowedChanges`` (what the search may change)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ...core.errors import WorkbenchError
from ...core.sampling import SamplingSettings

DEFAULT_FORMAT_LINE = "Answer with the answer only, in as few words as possible."


@dataclass(frozen=True)
class AllowedChanges:
    """What the search may change. ``instruction``: rewrites by the proposer; ``examples``:
    which few-shot examples, how many (up to ``max_examples``), in what order, from the
    user's examples and bootstrapped ones; ``temperature``: one of ``temperatures``;
    ``system_prompt``: the instruction in the system prompt or in front of the user message;
    ``format_line``: ``format_line_text`` under the user message, or not."""

    instruction: bool = True
    examples: bool = True
    temperature: bool = False
    system_prompt: bool = False
    format_line: bool = False
    max_examples: int = 4
    temperatures: tuple[float, ...] = (0.0, 0.3, 0.7)
    format_line_text: str = DEFAULT_FORMAT_LINE

    @property
    def settings(self) -> bool:
        """Anything Optuna's TPE chooses (everything but the instruction)."""
        return self.examples or self.temperature or self.system_prompt or self.format_line

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["temperatures"] = list(self.temperatures)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AllowedChanges:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "temperatures" in known:
            known["temperatures"] = tuple(float(t) for t in known["temperatures"])
        return cls(**known)


@dataclass(frozen=True)
class ImproveRequest:
    """One improve job.

    Where: ``session_id`` (its first prompt and its first case set, whose cases carry the
    checks) starting from ``version_id`` (None: the prompt's latest version).
    Target: ``target_model`` (a library name, a .gguf path or an ``openai+http://…`` reference;
    None: the bundled model) with ``target_sampling`` (the variant's temperature, seed,
    max_tokens, …) — the variant being improved. Proposer: ``proposer_model`` (same forms;
    None: the target's model) writes the instruction rewrites.
    Budget: ``budget_generations`` target-model calls in all, the final held-out comparison
    included (it is reserved first), and/or ``budget_minutes`` of work.
    ``seed`` fixes the split, the samples, Optuna's sampler and the proposer's sampling, so a
    job is reproducible and a resumed job ends where an uninterrupted one would.
    ``held_out_fraction`` of the cases (stratified by expected answer) are never shown to the
    search; ``held_out_repeats`` repeats each held-out case when the sampling is not greedy.
    ``concurrency``: requests in flight to a remote target or proposer."""

    session_id: str
    version_id: str | None = None
    target_model: str | None = None
    target_sampling: SamplingSettings = field(
        default_factory=lambda: SamplingSettings(temperature=0.0, seed=0, max_tokens=64))
    proposer_model: str | None = None
    budget_generations: int = 400
    budget_minutes: float | None = None
    seed: int = 0
    allowed: AllowedChanges = field(default_factory=AllowedChanges)
    held_out_fraction: float = 0.4
    held_out_repeats: int = 3
    rewrites_per_round: int = 3
    trials_per_round: int = 4
    concurrency: int | None = None
    n_ctx: int = 2048
    title: str = ""

    def validate(self) -> ImproveRequest:
        problems = []
        if self.budget_generations < 10:
            problems.append(f"a budget of {self.budget_generations} generations is too small "
                            "(at least 10)")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            problems.append("the budget in minutes must be more than 0")
        if not 0.1 <= self.held_out_fraction <= 0.8:
            problems.append(f"held_out_fraction {self.held_out_fraction} is not between 0.1 "
                            "and 0.8")
        if not (self.allowed.instruction or self.allowed.settings):
            problems.append("nothing may change: allow the instruction, the examples or a "
                            "setting")
        if self.allowed.max_examples < 0:
            problems.append("max_examples must be 0 or more")
        if problems:
            raise WorkbenchError("The improve request cannot run: " + "; ".join(problems) + ".")
        return self

    @property
    def greedy(self) -> bool:
        """The target answers the same every time (one repeat is enough)."""
        return self.target_sampling.greedy and not self.allowed.temperature

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["target_sampling"] = self.target_sampling.to_dict()
        data["allowed"] = self.allowed.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImproveRequest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["target_sampling"] = SamplingSettings.from_dict(data.get("target_sampling", {}))
        known["allowed"] = AllowedChanges.from_dict(data.get("allowed", {}))
        return cls(**known)

    def with_(self, **changes: Any) -> ImproveRequest:
        return replace(self, **changes)
