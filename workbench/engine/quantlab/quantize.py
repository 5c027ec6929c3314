"""``python -m workbench.engine.quantlab.quantize SOURCE TARGET TYPE``: llama.cpp's quantizer.

Run as a child process so a GGML abort or an out-of-memory kill ends this process, not the app,
and cancel is a kill. TYPE is a llama.cpp file type name (Q8_0, Q4_K_M, F16, …). The answer is
one JSON line: ``result`` with the file's size, or ``error`` with llama.cpp's own reason
("this quantization requires an imatrix!", "requantizing from type q4_1 is disabled").
A half-written target is deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import sys
import time

from ...library.quantization import FILE_TYPES
from .child_io import open_channel, quiet_llama_log, send

FTYPE_OF = {name: number for number, name in FILE_TYPES.items() if name != "GUESSED"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quantize")
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("type")
    parser.add_argument("--allow-requantize", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    open_channel()
    kind = args.type.upper()
    if kind not in FTYPE_OF:
        send("error", message=f"llama.cpp has no file type named {args.type!r}")
        return 2
    import llama_cpp

    llama_cpp.llama_backend_init()
    quiet_llama_log()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPE_OF[kind]
    params.allow_requantize = bool(args.allow_requantize)
    params.nthread = args.threads
    started = time.perf_counter()
    send("progress", message=f"quantizing to {kind}")
    captured = _StderrTail()
    with captured:
        code = llama_cpp.llama_model_quantize(args.source.encode(), args.target.encode(),
                                              ctypes.byref(params))
    seconds = time.perf_counter() - started
    if code != 0:
        with contextlib.suppress(OSError):
            os.unlink(args.target)
        send("error", message=_reason(captured.text(), kind))
        return 1
    send("result", path=args.target, type=kind, size=os.path.getsize(args.target),
         seconds=seconds)
    return 0


def _reason(log: str, kind: str) -> str:
    match = re.findall(r"failed to quantize: (.+)", log)
    reason = match[-1].strip() if match else "llama.cpp's quantizer failed (see its log)"
    if "imatrix" in reason:
        reason += (" (llama.cpp makes an importance matrix with its llama-imatrix tool, which "
                   "the Python bindings do not include)")
    return f"llama.cpp cannot make {kind} from this file: {reason}"


class _StderrTail:
    """Copies fd 2 through a temporary file while the quantizer runs, so its last lines can be
    read (llama.cpp logs through C stdio, which Python's sys.stderr does not see)."""

    def __enter__(self):
        import tempfile

        sys.stderr.flush()
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        data = self.file.read()
        self.file.close()
        self._text = data.decode("utf-8", "replace")
        os.write(2, data[-20000:])  # still in the child's log for the parent
        return False

    def text(self) -> str:
        return getattr(self, "_text", "")


if __name__ == "__main__":
    sys.exit(main())
