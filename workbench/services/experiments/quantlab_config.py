"""What a quantization lab is asked to do, and the texts its token distributions are read on."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...core.engine_flags import parse_engine_flags
from ...core.errors import WorkbenchError
from ...library.quantization import FILE_TYPES

# What llama.cpp's quantizer can be asked for by name (the enum's names less GUESSED).
QUANT_TYPES = tuple(name for name in FILE_TYPES.values() if name != "GUESSED")
HIGH_PRECISION = ("F32", "F16", "BF16")
# The lab's usual menu, most precise first (the dialog ticks a few of them).
COMMON_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K", "IQ4_XS")


@dataclass
class QuantLabConfig:
    model: str  # a path or a library name
    quants: list[str] = field(default_factory=lambda: ["Q8_0", "Q4_K_M"])
    existing: list[str] = field(default_factory=list)  # library files of the same model
    engines: list[str] = field(default_factory=lambda: [""])  # llama.cpp flags per setting
    suite: str | None = None  # a suite file: its prompts and answers; pass rates
    texts: list[str] = field(default_factory=list)  # instead of the suite's or the samples
    repeats: int = 3  # speed repeats (llama-bench's -r)
    eval_repeats: int = 1
    pp: int = 512  # prompt tokens per speed run (llama-bench's pp512)
    tg: int = 128  # tokens decoded per speed run (tg128)
    top_k: int = 32  # reference tokens kept per position
    n_ctx: int = 1024
    threads: int = 0  # 0: up to 8 of this machine's cores

    def check(self) -> None:
        """Every bad setting at once, before anything runs."""
        problems = []
        unknown = [q for q in self.quants if q.upper() not in QUANT_TYPES]
        if unknown:
            problems.append(f"unknown quantization type(s) {', '.join(unknown)} (llama.cpp's "
                            f"are {', '.join(QUANT_TYPES)})")
        if not self.quants and not self.existing:
            problems.append("nothing to compare: ask for quantization types or existing files")
        if self.repeats < 1 or self.eval_repeats < 1:
            problems.append(f"repeats must be 1 or more, not {self.repeats}")
        if self.pp < 0 or self.tg < 0 or self.pp + self.tg == 0:
            problems.append("the speed runs need prompt tokens (pp) or decoded tokens (tg)")
        if not 1 <= self.top_k <= 1000:
            problems.append(f"top-K must be between 1 and 1000, not {self.top_k}")
        for flags in self.engines:
            try:
                parse_engine_flags(flags)
            except WorkbenchError as error:
                problems.append(str(error))
        if self.suite and not Path(self.suite).is_file():
            problems.append(f"the suite file {self.suite} does not exist")
        if problems:
            raise WorkbenchError("The quantization lab cannot start: " + "; ".join(problems))

    def normalised(self) -> QuantLabConfig:
        quants = []
        for name in self.quants:
            if name.upper() not in quants:
                quants.append(name.upper())
        return QuantLabConfig(**{**asdict(self), "quants": quants,
                                 "engines": list(self.engines) or [""]})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QuantLabConfig:
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


def checked(config: QuantLabConfig):
    """(the config normalised, its suite read): every bad setting and a bad suite named
    before anything is quantized."""
    config = config.normalised()
    config.check()
    suite = None
    if config.suite:
        from ..evaluation.suite_file import load_suite

        suite = load_suite(config.suite)
    return config, suite


def engine_settings(flags: str) -> dict:
    """Flags → the child's engine dict (LoadSettings' names)."""
    values = parse_engine_flags(flags)
    return {key: values[key] for key in ("flash_attn", "cache_type_k", "cache_type_v")
            if key in values}


def base_name(path: Path) -> str:
    """``SmolLM2-135M-Instruct.Q4_1.gguf`` → ``SmolLM2-135M-Instruct``: the model without its
    quantization, so the lab's files are named ``<model>-<TYPE>.gguf``."""
    stem = path.name[:-5] if path.name.lower().endswith(".gguf") else path.stem
    types = "|".join(re.escape(t) for t in sorted(QUANT_TYPES, key=len, reverse=True))
    return re.sub(rf"[.\-_](?:{types})$", "", stem, flags=re.IGNORECASE) or stem


def suite_texts(suite, chat) -> list[str]:
    """The suite's prompts with each test's variables, as the model receives them (``chat``:
    messages -> the text of its chat template, with the generation prompt), each followed by
    the test's expected answer when it has one: what the model reads and what it should write.
    """
    from ...core.composition import build_messages
    from ...core.prompts import PromptVersion

    texts = []
    for prompt in suite.prompts:
        version = PromptVersion("quantlab", system_prompt=prompt.system,
                                examples=prompt.examples, user_template=prompt.user_template)
        for test in suite.effective_tests():
            try:
                text = chat(build_messages(version, test.vars))
            except WorkbenchError:
                continue  # a test the prompt cannot be rendered for: the suite check says so
            texts.append(text + (test.expected or ""))
    return texts


# Used when no suite is given: prose, a dialogue, code, a list, numbers and another language,
# so the divergence is not measured on one kind of text only.
SAMPLE_TEXTS = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk. From the top he "
    "could see the fishing boats returning to the harbour, their lanterns swaying with the "
    "waves. He had kept the light burning for thirty years, and in all that time no ship had "
    "been lost on the rocks below.",
    "User: What is the capital of France?\nAssistant: The capital of France is Paris.\n"
    "User: And how many people live there?\nAssistant: About two million people live in "
    "the city itself, and more than twelve million in the wider metropolitan area.",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n"
    "    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\n"
    "print([fibonacci(i) for i in range(10)])",
    "Shopping list for the week:\n1. Two loaves of bread\n2. A dozen eggs\n3. Milk and "
    "butter\n4. Apples, bananas and oranges\n5. Rice, pasta and tomato sauce",
    "In 1969 Apollo 11 landed on the Moon. Neil Armstrong and Buzz Aldrin spent about 21 "
    "hours on the surface, while Michael Collins orbited above. The mission returned 21.5 "
    "kilograms of lunar samples to Earth on 24 July.",
    "Photosynthesis is the process by which green plants use sunlight, water and carbon "
    "dioxide to make glucose and oxygen. It takes place mainly in the leaves, inside "
    "chloroplasts that contain the pigment chlorophyll.",
)
