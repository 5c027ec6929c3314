"""llama.cpp-style flags for engine and sampling settings (model bar, variants)."""

from __future__ import annotations

import pytest

from workbench.core.engine_flags import (
    format_engine_flags,
    format_sampling_flags,
    parse_engine_flags,
    parse_sampling_flags,
)
from workbench.core.errors import SettingsError
from workbench.core.model_info import LoadSettings
from workbench.core.sampling import GREEDY, SamplingSettings, describe_sampling


def test_a_llama_server_command_line_carries_over():
    engine = parse_engine_flags("-fa off --cache-type-k q8_0 -ctv=q8_0 -b 1024 -ub 256 -np 2")
    assert engine == {"flash_attn": "off", "cache_type_k": "q8_0", "cache_type_v": "q8_0",
                      "n_batch": 1024, "n_ubatch": 256, "n_parallel": 2}
    settings = LoadSettings("m.gguf", **engine)
    assert parse_engine_flags(format_engine_flags(settings.engine_settings())) == engine
    assert format_engine_flags(LoadSettings("m.gguf").engine_settings()) == ""


@pytest.mark.parametrize("text, message", [
    ("-fa maybe", "-fa 'maybe' is not one of auto, on, off"),
    ("--mlock", "unknown flag '--mlock'"),
    ("-ctk", "-ctk needs a value"),
    ("-b many", "-b 'many' is not a int value"),
    ("-fa 'off", "No closing quotation"),
])
def test_bad_flags_are_named(text, message):
    with pytest.raises(SettingsError, match=message):
        parse_engine_flags(text)


def test_sampling_flags_show_only_what_differs_from_llama_cpp():
    settings = parse_sampling_flags("--repeat-penalty 1.1 --top-k 20 --seed 7",
                                    SamplingSettings(temperature=0.7))
    assert settings.repeat_penalty == 1.1 and settings.top_k == 20 and settings.seed == 7
    assert format_sampling_flags(settings, skip=("temperature", "seed")) == \
        "--top-k 20 --repeat-penalty 1.1"
    assert format_sampling_flags(SamplingSettings()) == ""
    # Greedy ignores top-k/p and min-p: they are not listed as differences.
    assert format_sampling_flags(GREEDY) == "--temp 0"
    assert describe_sampling(GREEDY) == "greedy"
    assert describe_sampling(settings) == "temp 0.7 · top-k 20 · repeat 1.1 · seed 7"
    with pytest.raises(SettingsError, match="--top-k 'x' is not a int value"):
        parse_sampling_flags("--top-k x")
