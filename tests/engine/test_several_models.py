"""Several models loaded at once through the service, each in its own host process."""

from __future__ import annotations

import threading

from workbench.core.generation import GenerationRequest
from workbench.core.messages import conversation
from workbench.core.sampling import GREEDY
from workbench.services.models import ModelService


def test_two_models_at_once_generate_concurrently(bundled_model):
    service = ModelService()
    try:
        small = service.load_named(None, n_ctx=512)
        large = service.load_named(None, n_ctx=1024)
        assert small is not large and small.pid != large.pid
        assert service.load_named(None, n_ctx=512) is small  # the same settings share a host
        assert {h.metadata.n_ctx for h in service.loaded()} == {512, 1024}
        request = GenerationRequest(messages=tuple(conversation("Name two planets.")),
                                    sampling=GREEDY.with_(max_tokens=16))
        results = {}

        def run(name, host):
            results[name] = host.generate(request).result()

        threads = [threading.Thread(target=run, args=item)
                   for item in (("small", small), ("large", large))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert results["small"].token_ids == results["large"].token_ids
        service.unload(small)
        assert not small.alive and large.alive
    finally:
        service.close()
    assert service.loaded() == []
