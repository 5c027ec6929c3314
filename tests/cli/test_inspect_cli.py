"""The token inspector on the command line, as a user runs it (a real process, the real model)."""

from __future__ import annotations

import json
import math

from tests.cli.test_cli import workbench
from workbench.library.bundled import BUNDLED_NAME


def test_tokenize_ids_prints_the_ids_on_one_line():
    done = workbench("tokenize", "-m", BUNDLED_NAME, "--ids", "Hello world")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "19556 905\n"
    special = workbench("tokenize", "--ids", "<|im_start|>user")
    assert special.stdout.split()[0] == "1"  # the template token is one token, id 1


def test_generate_logprobs_json_has_each_token_with_its_alternatives():
    done = workbench("generate", "--temperature", "0", "--max-tokens", "12", "--logprobs", "3",
                     "--json", "What is the capital of France?")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    tokens = result["tokens"]
    assert [t["id"] for t in tokens] == result["token_ids"] and tokens
    assert "".join(t["piece"] for t in tokens) == result["text"]
    for token in tokens:
        assert token["logprob"] <= 0.0 and len(token["top"]) == 3
        assert token["top"][0]["id"] == token["id"]  # greedy: the best one was chosen
        assert token["top"][0]["logprob"] == token["logprob"]
        assert [a["logprob"] for a in token["top"]] == sorted(
            (a["logprob"] for a in token["top"]), reverse=True)
    assert result["sampling"]["logprobs"] == 3


def test_generate_logprobs_without_json_prints_a_token_table():
    done = workbench("generate", "--temperature", "0", "--max-tokens", "6", "--logprobs", "2",
                     "Say hi.")
    assert done.returncode == 0, done.stderr
    table = done.stdout.splitlines()[-6:]
    assert len(table) == 6 and all("%" in line and " · " in line for line in table)


def test_generate_refuses_more_than_twenty_alternatives():
    done = workbench("generate", "--logprobs", "21", "Hi")
    assert done.returncode == 2 and "0 to 20" in done.stderr


def test_score_prints_nll_perplexity_tokens_and_the_least_likely():
    args = ("score", "-m", BUNDLED_NAME, "--system", "Answer briefly.",
            "--prompt", "What is the capital of France?", "--answer", "The capital is Paris.")
    done = workbench(*args)
    assert done.returncode == 0, done.stderr
    for label in ("total NLL", "perplexity", "tokens", "least likely"):
        assert label in done.stdout
    result = json.loads(workbench(*args, "--json", "--top-k", "4").stdout)
    assert result["answer_tokens"] == len(result["tokens"]) == 5
    assert "".join(t["piece"] for t in result["tokens"]) == "The capital is Paris."
    assert result["total_nll"] == -sum(t["logprob"] for t in result["tokens"])
    assert math.isclose(result["perplexity"], math.exp(result["total_nll"] / 5))
    assert all(len(t["top"]) == 4 for t in result["tokens"])
    least = result["least_likely"]
    assert least[0]["logprob"] == min(t["logprob"] for t in result["tokens"])
    assert f"{result['perplexity']:.3f}" in done.stdout
    # Scoring twice gives the same numbers; an unlikely answer scores worse.
    assert json.loads(workbench(*args, "--json", "--top-k", "4").stdout) == result
    odd = json.loads(workbench("score", "--system", "Answer briefly.", "--prompt",
                               "What is the capital of France?", "--answer",
                               "Purple elephants compute the moon's taxes.", "--json").stdout)
    assert odd["perplexity"] > result["perplexity"]


def test_score_says_what_is_wrong_in_one_line():
    done = workbench("score", "--prompt", "Hi", "--answer", "")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "The answer to score is empty" in done.stderr
