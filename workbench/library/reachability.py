"""Is a server reachable at all? A look-up and a TCP connect with a short deadline, so being
offline is reported in seconds instead of after a client's retries."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

OFFLINE = "You appear to be offline"
DEADLINE_S = 4.0


def unreachable_reason(url: str, deadline_s: float = DEADLINE_S) -> str | None:
    """None when ``url``'s host accepts a TCP connection; else a plain reason."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[str | None] = []

    def probe() -> None:
        # getaddrinfo has no timeout of its own: it runs in a thread the caller stops waiting for.
        try:
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            outcome.append(f"the name {host} could not be looked up")
            return
        last = f"{host}:{port} could not be reached"
        for family, kind, proto, _name, address in addresses:
            try:
                with socket.socket(family, kind, proto) as sock:
                    sock.settimeout(deadline_s)
                    sock.connect(address)
                outcome.append(None)
                return
            except TimeoutError:
                last = f"{host}:{port} did not answer within {deadline_s:g} s"
            except OSError as error:
                last = f"{host}:{port} refused the connection" \
                    if isinstance(error, ConnectionRefusedError) else \
                    f"{host}:{port} could not be reached ({error.strerror or error})"
        outcome.append(last)

    thread = threading.Thread(target=probe, name="reachability", daemon=True)
    thread.start()
    thread.join(deadline_s + 0.5)
    if not outcome:
        return f"{host} did not answer within {deadline_s:g} s"
    return outcome[0]
