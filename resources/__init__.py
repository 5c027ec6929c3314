"""Files shipped with the app: ``examples/`` (the made-up-fact tune, see README.md)."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "examples"
