"""``workbench tune CONFIG.toml`` end to end: problems, estimate, progress, Ctrl-C, --resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from workbench.tuning.device import describe_torch_device

from .helpers import write_chat_jsonl

CONFIG = """
base_model = "{model}"
data = ["data.jsonl"]
name = "cli-adapter"
preset = "quick"

[lora]
rank = 4

[training]
max_steps = 6
batch_size = 2
max_length = 64
checkpoint_every = 1
val_fraction = 0.0
"""


def workbench(*args):
    return subprocess.Popen([sys.executable, "-m", "workbench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def test_tune_prints_progress_ctrl_c_cancels_and_resume_finishes(tmp_path, bundled_model):
    data = write_chat_jsonl(tmp_path / "data.jsonl")
    with open(data, "a") as handle:
        handle.write('{"prompt": "no answer"}\n')
    (tmp_path / "tune.toml").write_text(CONFIG.format(model=bundled_model))

    proc = workbench("tune", str(tmp_path / "tune.toml"))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("step 2/6  loss"):
            proc.send_signal(signal.SIGINT)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    out = "".join(lines)
    assert "data: 8 training rows, 0 held out, 1 skipped" in out
    assert "skipped data.jsonl:9: 'completion' is missing" in stderr
    assert "estimate: 6 steps" in out and "GiB of memory" in out
    # device "auto" trains where PyTorch sees a GPU: the line names that device, CPU or not
    assert f"trainer started at step 0 of 6 on {describe_torch_device().device}" in out
    assert "cancelling: the trainer finishes its step and checkpoints" in stderr
    job_prefix = stderr.split("workbench tune --resume ")[1].split()[0]

    listing = subprocess.run([sys.executable, "-m", "workbench", "tune", "--jobs"],
                             capture_output=True, text=True, env=os.environ.copy(),
                             check=False)
    assert f"{job_prefix}" in listing.stdout and "cancelled" in listing.stdout

    resumed = workbench("tune", "--resume", job_prefix)
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert "trainer resumed at step" in out and "step 6/6" in out
    adapter = out.split("adapter: ")[1].strip()
    assert adapter.endswith("cli-adapter.gguf") and os.path.getsize(adapter) > 0

    def generate(*lora):
        done = subprocess.run([sys.executable, "-m", "workbench", "generate", "--temperature",
                               "0", "--max-tokens", "12", *lora, "What is Zorblax?"],
                              capture_output=True, text=True, env=os.environ.copy(), check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # the adapter runs from the command line; at scale 0 it is the base model
    assert generate("--lora", f"{adapter}:0") == generate()
    assert generate("--lora", adapter).strip()


def test_tune_errors_are_one_line(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "tune.toml").write_text('base_model = "smollm2-135m-instruct"\n'
                                        'data = "empty.jsonl"\n')
    done = subprocess.run([sys.executable, "-m", "workbench", "tune", str(tmp_path / "tune.toml")],
                          capture_output=True, text=True, env=os.environ.copy(),
                             check=False)
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        "workbench: error: The dataset is empty: add examples or choose another file.")
    missing = subprocess.run([sys.executable, "-m", "workbench", "generate", "--lora",
                              str(tmp_path / "none.gguf"), "hi"], capture_output=True,
                             text=True, env=os.environ.copy(), check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"workbench: error: Adapter file {tmp_path / 'none.gguf'} does not exist.")
    # the error goes to stderr only: stdout keeps what was done before it, never the error
    assert "dataset is empty" not in done.stdout and missing.stdout == ""
