"""Base-model detection from a GGUF's names (core/base_model.py)."""

from __future__ import annotations

import pytest

from workbench.core.base_model import looks_like_base_model, says_instructions


@pytest.mark.parametrize("name", ["SmolLM2 135M Instruct", "gemma-3-270m-it", "Llama-2-7b-chat",
                                  "Qwen2.5-0.5B-Instruct", "Phi 3 Mini 4k Instruct",
                                  "Mistral-7B-Instruct-v0.3", "chatglm3-6b"])
def test_instruction_tuned_names(name):
    assert says_instructions(name)


@pytest.mark.parametrize("name", ["Gemma 3 270m", "gemma-3", "Bitnet b1.58", "Split 7B",
                                  "Llama-3.2-1B", "Qwen2.5 0.5B", ""])
def test_base_names(name):
    assert not says_instructions(name)


def test_a_file_with_a_chat_template_is_never_called_base():
    assert looks_like_base_model(False, ["Gemma 3 270m", "gemma-3", ""])
    assert not looks_like_base_model(True, ["Gemma 3 270m", "gemma-3"])
    assert not looks_like_base_model(False, ["Gemma 3 270m", "gemma-3", "it"])  # its finetune
