"""What a user installs is the product: the wheel carries the first-party plugins (found through
the same entry points third parties use) and the examples, not only the repository."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("openai_compat", "quality_scorers", "safety_filter")


def test_the_package_list_covers_every_package_on_disk():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {*find_packages(str(ROOT), include=["workbench*"]), "workbench_resources",
               "workbench_plugins", *(f"workbench_plugins.{p}" for p in PLUGINS)}
    assert listed == on_disk
    entry_points = config["project"]["entry-points"]["workbench"]
    assert entry_points == {p: f"workbench_plugins.{p}" for p in PLUGINS}


def test_the_built_wheel_carries_the_plugins_and_the_examples(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("prompt_workbench-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names
                            if n.endswith("entry_points.txt"))
    for plugin in PLUGINS:
        assert f"workbench_plugins/{plugin}/__init__.py" in names
        assert f"{plugin} = workbench_plugins.{plugin}" in entry_points
    assert "workbench_plugins/openai_compat/client.py" in names
    assert "workbench_resources/examples/made-up-fact.jsonl" in names
    assert "workbench_resources/examples/made-up-fact.toml" in names
    assert "workbench_resources/redteam.yaml" in names  # workbench eval's suites
    assert "workbench_resources/example-suite.yaml" in names
    assert "workbench/store/migrations/versions/0003_session_variants.py" in names
