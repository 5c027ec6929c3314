"""The few-shot experiment's split and config: deterministic, leak-free, refused when too small
(with the numbers), nested shots drawn from the training part only; the shipped example."""

from __future__ import annotations

import pytest
from workbench_resources import EXAMPLES

from workbench.core.experiment_split import (
    Pair,
    Split,
    SplitError,
    leaks,
    normalise,
    split_examples,
)
from workbench.services.experiments.fewshot_config import ExperimentConfigError, load_toml


def pairs(count: int) -> list[Pair]:
    return [Pair(f"message number {i}", f"label {i % 4}") for i in range(count)]


def test_same_seed_same_split_other_seed_other_split():
    first = split_examples(pairs(40), held_out=10, ks=[0, 2, 4, 8], seed=3)
    again = split_examples(pairs(40), held_out=10, ks=[0, 2, 4, 8], seed=3)
    other = split_examples(pairs(40), held_out=10, ks=[0, 2, 4, 8], seed=4)
    assert first == again
    assert first.held_out != other.held_out
    assert len(first.held_out) == 10 and len(first.training) == 30
    # Recorded: the split reads back as it was written.
    assert Split.from_dict(first.to_dict()) == first


def test_duplicates_are_removed_before_the_split_and_counted():
    given = pairs(20) + [Pair("  MESSAGE   number 3 ", "label 3"), Pair("Message number 7", "x")]
    split = split_examples(given, held_out=8, ks=[0, 4], seed=0)
    assert split.examples == 22 and split.duplicates == 2
    assert len(split.held_out) + len(split.training) == 20
    assert leaks(split) == []
    held = {normalise(p.input) for p in split.held_out}
    assert not held & {normalise(p.input) for p in split.training}
    # leaks() is a real check: a split built by hand with a leak is caught.
    leaky = Split(0, (Pair("Hello  there", "a"),), (Pair("hello there", "a"),), (0,), 2, 0)
    assert leaks(leaky) == ["Hello  there"]


def test_too_small_is_refused_with_the_numbers():
    with pytest.raises(SplitError) as refused:
        split_examples(pairs(12), held_out=4, ks=[0, 16], seed=0)
    assert str(refused.value) == ("12 examples: 4 held out leaves 8 for training, "
                                  "fewer than k=16.")
    with pytest.raises(SplitError, match="11 distinct examples .12 given, 1 duplicates "
                                         "removed.: 4 held out leaves 7"):
        split_examples(pairs(11) + [Pair("message number 0", "label 0")], held_out=4,
                       ks=[8], seed=0)
    with pytest.raises(SplitError, match="5 examples: fewer than the 9 to hold out"):
        split_examples(pairs(5), held_out=9, ks=[0], seed=0)


def test_shots_are_nested_and_come_from_the_training_part():
    split = split_examples(pairs(30), held_out=10, ks=[0, 2, 4, 8], seed=1)
    training = set(split.training)
    previous: tuple = ()
    for k in (0, 2, 4, 8):
        shots = split.shots(k)
        assert len(shots) == k and len(set(shots)) == k
        assert set(shots) <= training
        assert shots[:len(previous)] == previous  # k-shot extends the smaller k
        previous = shots
    with pytest.raises(SplitError, match="k=21 is more than the 20 training examples"):
        split.shots(21)


def test_the_shipped_example_loads_and_fits_its_split():
    config = load_toml(EXAMPLES / "few-shot-vs-lora.toml")
    assert config.shot_ks == (0, 2, 4, 8) and config.held_out == 15
    assert config.data and all(path.endswith(".jsonl") for path in config.data)
    from workbench.tuning.formats import read_files

    imported = read_files(list(config.data))
    assert not imported.problems and len(imported.examples) >= 40
    found = [Pair(e.messages[-2].content, e.messages[-1].content) for e in imported.examples]
    split = split_examples(found, held_out=config.held_out, ks=config.shot_ks, seed=config.seed)
    assert leaks(split) == [] and len(split.training) >= max(config.shot_ks)
    assert {p.output for p in found} == {"billing", "shipping", "technical", "account"}


def test_unknown_and_bad_config_keys_are_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('data = ["x.jsonl"]\nheld_out = 3\nkk = [1]\n[training]\nmax_stepz = 2\n')
    with pytest.raises(ExperimentConfigError, match="kk, training.max_stepz"):
        load_toml(path)
    path.write_text('data = ["x.jsonl"]\nassert = "roughly"\nrepeats = 0\n')
    with pytest.raises(ExperimentConfigError, match="repeats must be at least 1.*assert must "
                                                    "be one of equals"):
        load_toml(path)
