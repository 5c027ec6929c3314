"""What the client's reply reader puts on a request's queue, shared by client and stream.

Its own module so that stream.py need not import client.py (which imports stream.py).
"""

from __future__ import annotations

from ...core.errors import ModelProcessDied

TERMINAL = ("result", "error", "done")  # reply types that end a request


class Died:
    """Put on a request's queue when the host process ends under it."""

    def __init__(self, error: ModelProcessDied):
        self.error = error
