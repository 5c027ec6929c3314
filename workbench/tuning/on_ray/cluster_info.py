"""``python -m workbench.tuning.on_ray.cluster_info ADDRESS``: one JSON line, what a Ray
cluster has (for ``workbench doctor --ray``; probe.cluster_resources runs it)."""

from __future__ import annotations

import json
import sys

from .client_connect import init_ray
from .probe import parse_address


def main(address: str) -> int:
    parsed = parse_address(address)
    found = jobs_cluster(address) if parsed and parsed.jobs else connected_cluster(address)
    print(json.dumps(found))
    return 0


def connected_cluster(address: str) -> dict:
    """Through a Ray connection (the client or the GCS address)."""
    import ray

    init_ray(address, logging_level="ERROR", log_to_driver=False)
    try:
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
    finally:
        ray.shutdown()
    return {"nodes": len(nodes), "CPU": resources.get("CPU", 0),
            "GPU": resources.get("GPU", 0),
            "memory_gib": round(resources.get("memory", 0) / 2**30, 1)}


def jobs_cluster(address: str) -> dict:
    """Through a Ray Jobs (dashboard) address: Ray's state API answers over HTTP, no
    connection to the cluster's core needed."""
    from ray.util.state import list_nodes

    nodes = [n for n in list_nodes(address=address, detail=True) if n.state == "ALIVE"]
    total = lambda key: sum(n.resources_total.get(key, 0) for n in nodes)  # noqa: E731
    return {"nodes": len(nodes), "CPU": total("CPU"), "GPU": total("GPU"),
            "memory_gib": round(total("memory") / 2**30, 1)}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
