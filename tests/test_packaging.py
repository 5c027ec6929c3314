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
    templates = ROOT / "workbench" / "cli" / "plugin_template"  # `workbench plugin new`
    assert {f"workbench/cli/plugin_template/{p.relative_to(templates)}"
            for p in templates.rglob("*.tmpl")} <= names


def test_the_wheel_installed_in_a_fresh_venv_is_the_whole_app(tmp_path):
    """pip install of the built wheel (not editable, no repository on the path) into a new
    venv: the first-party plugins load from their entry points, the shipped tune example and
    suites are found by name, and the bundled model answers."""
    import os
    import venv

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("prompt_workbench-*.whl"))
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    # Dependencies come from the package index (pip's cache makes it quick); torch is left
    # out: the tune extra is for training, `--check` plans without it.
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[demo]"],
        capture_output=True, text=True, timeout=1200,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["WORKBENCH_HOME"] = str(tmp_path / "home")

    def workbench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(target / "bin" / "workbench"), *args], capture_output=True,
                              text=True, timeout=300, env=env, cwd=tmp_path, check=False)

    plugins = workbench("plugins")
    assert plugins.returncode == 0, plugins.stderr
    for name in PLUGINS:
        line = next(line for line in plugins.stdout.splitlines() if name in line)
        assert "active" in line and "entry point" in line, line
    check = workbench("tune", "made-up-fact", "--check")
    assert check.returncode == 0, check.stderr
    assert "8 training rows" in check.stdout
    answer = workbench("generate", "--temp", "0", "--max-tokens", "8", "Say hello")
    assert answer.returncode == 0 and answer.stdout.strip(), answer.stderr
    where = subprocess.run([str(python), "-c", "import workbench; print(workbench.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=True)
    assert str(target) in where.stdout  # the installed copy, not the repository's
