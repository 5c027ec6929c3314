"""Which device PyTorch would train on here, for `workbench doctor` and the tune wizard.

torch is imported inside the function: only tuning may import it (import-linter), and starting
the app must not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TorchDevice:
    version: str
    device: str  # "cuda", "mps" or "cpu": what device="auto" picks (train_loop.pick_device)
    detail: str  # the GPU's name, or why training runs on the CPU

    def training_line(self) -> str:
        """What a job with device "auto" says it trains on, and why when it is the CPU."""
        if self.device == "cpu":
            return f"training on the CPU: no GPU seen by PyTorch ({self.detail})"
        return f"training on {self.device} ({self.detail})"


def describe_torch_device() -> TorchDevice:
    """Raises ImportError when PyTorch is not installed (the tuning extra is missing)."""
    import torch

    version = str(torch.__version__)
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return TorchDevice(version, "cuda", " + ".join(names))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return TorchDevice(version, "mps", "Apple silicon GPU (Metal)")
    cuda_build = getattr(torch.version, "cuda", None)
    why = (f"a CUDA {cuda_build} build, but no usable NVIDIA GPU or driver" if cuda_build
           else "a CPU-only build of PyTorch")
    return TorchDevice(version, "cpu", why)


def training_device_line(choice: str = "auto") -> str:
    """The line a job puts in its log and the wizard's training page: the device it uses
    (``choice`` is the job's device setting) and, on the CPU, why."""
    seen = describe_torch_device()
    if choice in ("auto", seen.device):
        return seen.training_line()
    if choice == "cpu":
        return (f"training on the CPU, as the job's settings ask (PyTorch also sees "
                f"{seen.device}: {seen.detail})")
    return f"training on {choice}, as the job's settings ask (PyTorch picks {seen.device} on auto)"
