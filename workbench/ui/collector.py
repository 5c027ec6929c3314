"""Python's cycle collector and the event loop.

A full collection (the oldest generation) scans every object the collector tracks, holding the
interpreter lock throughout. Once the window is built the process holds ~100-170k of them
(modules, classes, Qt wrappers, SQLAlchemy's mappers), and such a scan stopped the event loop for
120-600 ms during the window soak (tests/bench/bench_gui_soak.py with gc callbacks timed): the
last long gaps left once the store's reads were off the GUI thread.

What exists when the window is ready lives as long as the app, so it is moved out of the
collector's sight (gc.freeze): later collections scan only what was made since. Only for the
app's own process: a test process that builds and drops many windows must not pin them.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once (start-up's own garbage must not be kept for ever), then freeze the rest."""
    gc.collect()
    gc.freeze()
