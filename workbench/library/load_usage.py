"""What a loaded model actually uses, read from llama.cpp's log and the host process.

llama.cpp logs each buffer it allocates (``CUDA0 model buffer size = 1234.56 MiB``, ``CPU KV
buffer size``, ``... compute buffer size``); devices named CPU or ``*_Host`` are RAM, others VRAM.
The host's resident set size (Linux /proc) shows what the process holds in RAM right now; with a
memory-mapped model it is lower than the buffers until every weight has been touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.model_info import human_bytes

_BUFFER = re.compile(
    r"(?P<device>[\w.]+)\s+(?P<kind>model|KV|compute|output) buffer size\s*=\s*(?P<mib>[\d.]+) MiB")
_LOAD_START = "llama_model_loader: loaded meta data"
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")


@dataclass(frozen=True)
class LoadUsage:
    buffers: dict[str, dict[str, int]] = field(default_factory=dict)  # device -> kind -> bytes
    rss: int | None = None  # resident memory of the host process
    layers_offloaded: int | None = None

    @property
    def ram(self) -> int:
        return sum(sum(kinds.values()) for device, kinds in self.buffers.items()
                   if _is_host(device))

    @property
    def vram(self) -> int:
        return sum(sum(kinds.values()) for device, kinds in self.buffers.items()
                   if not _is_host(device))

    def kind_total(self, kind: str) -> int:
        return sum(kinds.get(kind, 0) for kinds in self.buffers.values())

    def summary(self) -> str:
        parts = [f"llama.cpp buffers: {human_bytes(self.ram)} RAM"]
        if self.vram:
            parts.append(f"{human_bytes(self.vram)} VRAM")
        detail = ", ".join(f"{kind} {human_bytes(self.kind_total(kind))}"
                           for kind in ("model", "KV", "compute") if self.kind_total(kind))
        line = " + ".join(parts) + (f" ({detail})" if detail else "")
        if self.layers_offloaded is not None:
            line += f"; {self.layers_offloaded} layers offloaded"
        if self.rss is not None:
            line += f"; host process resident {human_bytes(self.rss)}"
        return line


def _is_host(device: str) -> bool:
    return device.upper().startswith("CPU") or device.endswith("_Host")


def parse_load_log(text: str) -> LoadUsage:
    """Buffers of the last load in a host log (a host log may hold several loads)."""
    start = text.rfind(_LOAD_START)
    section = text[start:] if start >= 0 else text
    buffers: dict[str, dict[str, int]] = {}
    for match in _BUFFER.finditer(section):
        kinds = buffers.setdefault(match["device"], {})
        # The last figure wins: llama.cpp may reserve a buffer again after a graph change.
        kinds[match["kind"]] = int(float(match["mib"]) * 1024 * 1024)
    offloaded = _OFFLOADED.findall(section)
    return LoadUsage(buffers, None, int(offloaded[-1][0]) if offloaded else None)


def process_rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def load_usage(log_path: Path, pid: int | None) -> LoadUsage:
    try:
        text = log_path.read_text("utf-8", errors="replace")
    except OSError:
        text = ""
    usage = parse_load_log(text)
    return LoadUsage(usage.buffers, process_rss(pid), usage.layers_offloaded)
