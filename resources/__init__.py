"""Files shipped with the app: ``examples/`` (the made-up-fact tune, see README.md)."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "examples"
SUITES = Path(__file__).resolve().parent  # redteam.yaml, example-suite.yaml: `workbench eval NAME`
