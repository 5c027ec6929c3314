"""ray.init through the Ray Client (ray://), tried again when the head's server fails to start.

The head's Ray Client proxy starts one server process per connection by forking while its
gRPC threads run; now and then (about 7% of connections, ray-project/ray#63202, open) that
child dies, and ``ray.init`` fails with "Starting Ray client server failed" (it died at once)
or, 30 s later, "Proxy failed to Connect to backend" (it died while starting). Nothing has
run on the cluster yet, so connecting again is safe: the proxy starts a fresh server. Any
other failure is raised at once, as Ray says it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

SERVER_START_FAILED = ("Starting Ray client server failed", "Proxy failed to Connect to backend")
ATTEMPTS = 3
PAUSE_S = 2.0
KNOWN_FAULT = "ray-project/ray#63202"


def is_server_start_failure(error: BaseException) -> bool:
    return (isinstance(error, ConnectionAbortedError)
            and any(text in str(error) for text in SERVER_START_FAILED))


def init_ray(address: str, say: Callable[[str], None] | None = None, **init_kwargs) -> None:
    """``ray.init(address, **init_kwargs)``; for a ray:// address, up to ATTEMPTS tries while
    the head's per-connection server fails to start, each retry said through ``say``
    (stderr by default: the job's log)."""
    import ray

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    tries = ATTEMPTS if address.startswith("ray://") else 1
    for attempt in range(1, tries + 1):
        try:
            ray.init(address=address, **init_kwargs)
            return
        except ConnectionAbortedError as error:
            if attempt == tries or not is_server_start_failure(error):
                raise
            say(f"The Ray Client server on {address} failed to start (a known Ray fault, "
                f"{KNOWN_FAULT}); connecting again, try {attempt + 1} of {tries}.")
            time.sleep(PAUSE_S)
