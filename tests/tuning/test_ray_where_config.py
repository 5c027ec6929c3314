"""Where a job trains, as tune.toml and the CLI say it; how a team shares a step's batches."""

from __future__ import annotations

import pytest

from workbench.core.tuning_errors import TuneConfigError
from workbench.tuning.config import TuneConfig, from_toml_dict
from workbench.tuning.on_ray.probe import parse_address
from workbench.tuning.trainer.team import fair_share

from .helpers import FACT_DATA


def test_the_where_table_of_a_tune_config(tmp_path):
    raw = {"base_model": "smollm2", "data": [str(FACT_DATA)],
           "where": {"address": "ray://head:10001", "workers": 4, "gpus_per_worker": 1,
                     "storage": "s3://bucket/ckpt"}}
    config = from_toml_dict(raw, tmp_path)
    assert config.where.on_ray and config.where.workers == 4  # an address means Ray
    assert TuneConfig.from_dict(config.to_dict()).where == config.where  # stored and read back
    assert not from_toml_dict({**raw, "where": {}}, tmp_path).where.on_ray
    with pytest.raises(TuneConfigError, match="where.wrkers"):
        from_toml_dict({**raw, "where": {"wrkers": 2}}, tmp_path)
    with pytest.raises(TuneConfigError, match="at least 1"):
        from_toml_dict({**raw, "where": {"place": "ray", "workers": 0}}, tmp_path)


def test_ray_addresses():
    assert parse_address("") is None and parse_address("local") is None
    client = parse_address("ray://10.0.0.5")
    assert (client.host, client.port, client.client) == ("10.0.0.5", 10001, True)
    assert parse_address("head:6380").port == 6380 and not parse_address("head:6380").client
    jobs = parse_address("http://head")  # Ray Jobs: the driver is submitted to the cluster
    assert (jobs.host, jobs.port, jobs.jobs, jobs.client) == ("head", 8265, True, False)
    assert parse_address("auto") is None  # inside a submitted job: the cluster it runs in
    for wrong in ("ray://:10001", "http://head:8265/api", "head:port"):
        with pytest.raises(TuneConfigError, match="not a Ray address"):
            parse_address(wrong)


def test_a_ray_jobs_address_needs_a_storage_both_sides_reach(tmp_path):
    raw = {"base_model": "smollm2", "data": [str(FACT_DATA)],
           "where": {"address": "http://head:8265"}}
    with pytest.raises(TuneConfigError, match="where.storage is needed"):
        from_toml_dict(raw, tmp_path)
    shared = {**raw["where"], "storage": "s3://bucket/ckpt"}
    assert from_toml_dict({**raw, "where": shared}, tmp_path).where.on_ray


@pytest.mark.parametrize("batches,world", [(4, 2), (3, 2), (1, 2), (5, 3), (2, 1)])
def test_a_team_shares_every_batch_once_and_runs_the_same_number_of_micro_batches(
        batches, world):
    window = [[i] for i in range(batches)]
    shares = [fair_share(window, rank, world) for rank in range(world)]
    assert len({len(share) for share in shares}) == 1  # no worker waits alone in a collective
    weighted = sorted(b[0] for share in shares for b, weight in share if weight)
    assert weighted == list(range(batches))  # each batch counted exactly once
