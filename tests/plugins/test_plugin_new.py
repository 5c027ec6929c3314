"""`workbench plugin new`: the package it writes installs with `pip install -e`, appears in
`workbench plugins` and in the window, and passes its own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.cli.plugin_scaffold import hook_names, hooks_for, kind_of
from workbench.core.errors import WorkbenchError

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def new_plugin(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["plugin", "new", *args])
    out, err = capsys.readouterr()
    return code, out, err


def throwaway_venv(folder: Path) -> Path:
    """A venv of its own that sees this one's packages (a .pth adds our site-packages, and its
    .pth files: the editable app), so installing into it leaves the shared venv untouched and
    needs no network. ``--system-site-packages`` would see the base Python's, not ours."""
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "workbench-test-parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def run(python: Path, *args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240, check=False)


def test_a_plugin_with_every_hook_installs_appears_and_passes_its_own_tests(tmp_path, capsys):
    code, out, _ = new_plugin(capsys, "shout", "--hooks", "all", "--dir", str(tmp_path))
    package = tmp_path / "workbench-shout"
    assert code == 0 and f"Made {package}" in out
    python = throwaway_venv(tmp_path / "venv")
    env = {**os.environ, "WORKBENCH_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    installed = run(python, "-m", "pip", "install", "-e", str(package), "--no-deps",
                    "--no-build-isolation", "--no-index", cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]

    listed = run(python, "-m", "workbench", "plugins", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    record = next(r for r in json.loads(listed.stdout) if r["name"] == "shout")
    assert (record["source"], record["status"], record["version"]) == (
        "entry point", "active", "0.1.0")
    assert record["hooks"] == sorted(hook_names())

    window = run(python, str(HERE / "window_probe.py"), "shout", "Shout notes",
                 "Shout: copy the plugin list", cwd=tmp_path, env=env)
    assert window.returncode == 0, window.stderr[-3000:]
    seen = json.loads(window.stdout.splitlines()[-1])
    assert seen["panel_docked"] and "Shout: copy the plugin list" in seen["menu_entries"]
    assert "shout 0.1.0 active" in seen["clipboard"]
    name, version, source, hooks, state = seen["dialog_row"]  # Plugins ▸ Manage plugins…
    assert (name, version, source, state) == ("shout", "0.1.0", "entry point", "active")
    assert hooks.count(",") == len(hook_names()) - 1 and seen["banner"] == ""

    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package, env=env)
    assert tests.returncode == 0, tests.stdout[-4000:]
    summary = tests.stdout.strip().splitlines()[-1]
    # One test a hook, a second for the backend, one for the plugin itself; nothing skipped.
    assert summary.startswith(f"{len(hook_names()) + 2} passed in"), summary

    lint = subprocess.run([str(BIN / "ruff"), "check", "--isolated", "--select",
                           "F,E,W,I,B,UP", "--line-length", "100", "."], cwd=package,
                          capture_output=True, text=True, timeout=120, check=False)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("hook", hook_names())
def test_each_hook_alone_makes_a_package_that_compiles(tmp_path, capsys, hook):
    code, _, _ = new_plugin(capsys, "solo", "--hooks", kind_of(hook), "--dir", str(tmp_path))
    assert code == 0
    package = tmp_path / "workbench-solo"
    for source in package.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")  # a SyntaxError fails the test
    module = (package / "workbench_solo" / "__init__.py").read_text()
    assert f"def {hook}(" in module and module.count("@hookimpl") == 1
    assert f'"{hook}",' in (package / "tests" / "test_solo.py").read_text()


def test_hook_kinds_are_read_as_typed_and_unknown_ones_are_named():
    assert hooks_for("scorer, backends,register_panels") == [
        "register_backends", "register_scorers", "register_panels"]
    assert hooks_for("all") == hook_names()
    with pytest.raises(WorkbenchError, match="unknown hook kind scorrer; choose from: backend, scorer"):
        hooks_for("scorrer")


def test_it_refuses_a_bad_name_and_an_existing_folder(tmp_path, capsys):
    code, _, err = new_plugin(capsys, "My Plugin", "--dir", str(tmp_path))
    assert code == 1 and "'My Plugin' cannot name a plugin" in err
    assert new_plugin(capsys, "shout", "--dir", str(tmp_path))[0] == 0
    readme = (tmp_path / "workbench-shout" / "README.md").read_text()
    code, _, err = new_plugin(capsys, "shout", "--dir", str(tmp_path))
    assert code == 1 and "already exists" in err
    assert (tmp_path / "workbench-shout" / "README.md").read_text() == readme  # untouched
