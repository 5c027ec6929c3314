"""`workbench doctor` as a user runs it: a real process on this (CPU) machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SECTIONS = ["Python", "Platform", "llama.cpp", "GPUs", "Offload", "Models", "PyTorch", "Ray",
            "Qt", "Data folders", "Database", "Plugins"]


def doctor(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = os.environ.copy()
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run([sys.executable, "-m", "workbench", "doctor", *args],
                          capture_output=True, text=True, timeout=120, env=environment)


def test_doctor_prints_every_section_and_exits_0_on_this_machine():
    done = doctor(QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [s for s in SECTIONS if s not in lines] == []
    assert any(line.startswith("  ok       llama.cpp") for line in lines)
    assert any(" GPU layers and " in line and "parallel sequence" in line for line in lines)
    assert lines[-1].startswith("0 problem(s)")


def test_doctor_json_is_a_list_of_checks():
    done = doctor("--json", QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    checks = json.loads(done.stdout)
    assert {c["section"] for c in checks} == set(SECTIONS)
    assert all(set(c) == {"section", "name", "status", "detail", "fix"} for c in checks)


def test_doctor_names_why_qt_cannot_load_its_platform_and_exits_1():
    done = doctor("--json", QT_QPA_PLATFORM="xcb", DISPLAY=None, WAYLAND_DISPLAY=None)
    assert done.returncode == 1
    platform = next(c for c in json.loads(done.stdout)
                    if (c["section"], c["name"]) == ("Qt", "platform"))
    assert platform["status"] == "problem"
    assert "xcb platform cannot start" in platform["detail"]
    assert "could not connect to display" in platform["detail"]
    assert "DISPLAY is not set" in platform["fix"] and "QT_QPA_PLATFORM=offscreen" in platform["fix"]


def test_the_app_says_in_one_line_why_the_window_cannot_open(tmp_path):
    """Without a display Qt's xcb plugin aborts the process with a page of plugin
    diagnostics; the app checks first and says what to do."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "workbench"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no X display" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]
