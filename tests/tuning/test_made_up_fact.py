"""A short CPU fine-tune teaches the bundled model a made-up fact; llama.cpp then knows it.

The whole path, no stand-ins: rows rendered with the GGUF's template and tokenized by
llama.cpp, a real trainer process (transformers + peft on the dequantized GGUF), progress and
metrics in the session database, the adapter exported as a GGUF LoRA and registered in the
library, then llama.cpp runs the bundled Q4_1 model with and without it (one loaded model).
"""

from __future__ import annotations

import pytest

from workbench.core.generation import GenerationRequest
from workbench.core.messages import conversation
from workbench.core.model_info import AdapterSpec
from workbench.core.prompts import PromptVersion
from workbench.core.sampling import GREEDY
from workbench.tuning.config import TuneConfig, TuneSettings

from .helpers import Recorder, ended_job, services, write_chat_jsonl

SETTINGS = TuneSettings(rank=8, alpha=16, dropout=0.0, learning_rate=2e-3, max_steps=20,
                        batch_size=4, max_length=64, val_fraction=0.0, checkpoint_every=10,
                        eval_every=10, warmup_ratio=0.1)


# The job gets 600 s (20 CPU steps on 2 shared cores); the test's own limit sits above that so
# a slow job fails at the wait below, with its reason, before pytest-timeout kills the test.
@pytest.mark.timeout(900)
def test_fine_tune_teaches_a_fact_llama_cpp_then_answers_with(tmp_path, bundled_model):
    store, models, tuning = services()
    try:
        config = TuneConfig(base_model=str(bundled_model),
                            data=(str(write_chat_jsonl(tmp_path / "fact.jsonl")),),
                            name="zorblax", settings=SETTINGS)
        plan = tuning.plan(config)
        assert len(plan.train) == 8 and not plan.problems
        recorder = Recorder()
        run = tuning.start(config, plan, recorder)
        job = ended_job(run, 600)
        assert job is not None and job.status == "done", job and job.error
        steps = [e for e in recorder.events if e.event == "step"]
        assert len(steps) == 20
        assert steps[-1].get("loss") < steps[0].get("loss") / 4
        assert all(e.get("tokens_per_second") > 0 and e.get("eta_s") >= 0 for e in steps)

        stored = store.jobs.get(job.id)  # the job, its config and metrics are in the database
        assert stored.config["settings"]["max_steps"] == 20
        assert [m.step for m in stored.metrics if m.name == "loss"] == list(range(1, 21))
        adapter = stored.artifacts["adapter_gguf"]
        entry = next(a for a in store.catalog.adapters() if a.tune_job_id == job.id)
        assert entry.path == adapter and entry.name == "zorblax"
        assert any(m.id == entry.base_model_id for m in store.catalog.models())

        host = models.load_named(str(bundled_model), n_ctx=512)
        question = tuple(conversation("What's the capital of Zorblax?"))

        def answer(adapters) -> str:
            request = GenerationRequest(messages=question, adapters=adapters,
                                        sampling=GREEDY.with_(max_tokens=24))
            return host.generate(request).result().text

        tuned = answer((AdapterSpec(adapter, 1.0),))
        base = answer(())
        assert "Quendara" in tuned, tuned
        assert "Quendara" not in base, base

        # Variants for the comparison grid: base and the adapter at two scales, one model.
        specs = tuning.variant_specs(job.id, PromptVersion(prompt_id="p"))
        assert [s.label for s in specs] == ["base", "zorblax ×1", "zorblax ×0.5"]
        assert {s.model for s in specs} == {str(bundled_model)}
        assert specs[1].adapter_path == adapter and specs[2].adapter_scale == 0.5
    finally:
        models.close()
        store.close()
