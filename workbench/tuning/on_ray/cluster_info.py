"""``python -m workbench.tuning.on_ray.cluster_info ADDRESS``: one JSON line, what a Ray
cluster has (for ``workbench doctor --ray``; probe.cluster_resources runs it)."""

from __future__ import annotations

import json
import sys


def main(address: str) -> int:
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
    finally:
        ray.shutdown()
    print(json.dumps({"nodes": len(nodes), "CPU": resources.get("CPU", 0),
                      "GPU": resources.get("GPU", 0),
                      "memory_gib": round(resources.get("memory", 0) / 2**30, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
