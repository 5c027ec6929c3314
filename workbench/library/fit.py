"""Will a model fit? Memory for weights + KV cache + compute buffers, and an ``n_gpu_layers``.

The sizes follow what llama.cpp allocates (checked against its log for the bundled model: model
buffer 92.1 MiB; KV cache 11.2 / 180 MiB and compute buffer 98.2 / 99.4 / 166.4 MiB at n_ctx
512 / 2048 / 8192):
* weights: the tensors in the file; offloaded layer by layer (blocks, then the output head as
  the last "layer"; token embeddings always stay in RAM);
* KV cache: n_ctx × layers × KV heads × (key + value length) × the cache type's bytes per
  value (2 for f16; q8_0 stores 32 values in 34 bytes, q4_0 in 18, as ggml's block sizes);
* compute buffer: the larger of the logits of one 512-token batch (4 × 512 × vocabulary) and
  its attention scores (4 × 512 × n_ctx × heads), plus activations and the mask. A heuristic,
  within 7% of llama.cpp's figure for the bundled model at those three sizes; other
  architectures and flash attention may differ more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.model_info import default_parallel, human_bytes
from .gguf_metadata import GGUFInfo
from .system_memory import Memory

N_UBATCH = 512  # llama.cpp's default physical batch: sets the size of the logits buffer
GPU_HEADROOM = 512 * 1024 * 1024  # left free for the driver, other apps and fragmentation
RAM_HEADROOM = 256 * 1024 * 1024


# ggml's storage per value of each KV cache type: (bytes, values) of one block.
CACHE_BLOCK = {"f32": (4, 1), "f16": (2, 1), "bf16": (2, 1), "q8_0": (34, 32),
               "q5_1": (24, 32), "q5_0": (22, 32), "q4_1": (20, 32), "q4_0": (18, 32),
               "iq4_nl": (18, 32)}


@dataclass(frozen=True)
class KVTypes:
    """The KV cache's types (llama.cpp's -ctk / -ctv); f16 unless the user chose others."""
    k: str = "f16"
    v: str = "f16"

    @property
    def quantized(self) -> bool:
        return self != KVTypes()

    def flags(self) -> str:
        return f"-ctk {self.k} -ctv {self.v}"


F16_CACHE = KVTypes()  # llama.cpp's default


@dataclass(frozen=True)
class FitEstimate:
    n_ctx: int
    n_layers: int
    weights: int
    kv_cache: int
    compute: int
    recommended_gpu_layers: int  # for n_gpu_layers: 0 … n_layers + 1 (+1 = the output head)
    gpu_bytes: int  # needed on the GPU with that recommendation
    ram_bytes: int  # needed in RAM with that recommendation
    free_ram: int | None
    free_vram: int | None
    fits: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    n_parallel: int = 1  # sequences decoded together, each with its own n_ctx of KV cache
    kv: KVTypes = KVTypes()

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute

    def summary(self) -> str:
        """One line for the GUI and the CLI."""
        kv_types = f" {self.kv.k}/{self.kv.v}" if self.kv.quantized else ""
        need = (f"needs ≈{human_bytes(self.total)} (weights {human_bytes(self.weights)} + KV "
                f"cache{kv_types} {human_bytes(self.kv_cache)} + compute {human_bytes(self.compute)}) at "
                f"n_ctx {self.n_ctx:,}" + (f" ({self.n_parallel} parallel, each its own KV cache)"
                                           if self.n_parallel > 1 else ""))
        ram = "RAM free unknown" if self.free_ram is None else f"{human_bytes(self.free_ram)} RAM free"
        vram = "VRAM free unknown" if self.free_vram is None else f"{human_bytes(self.free_vram)} VRAM free"
        verdict = "fits" if self.fits else "does NOT fit"
        layers = self.recommended_gpu_layers
        offload = ("all layers on the GPU" if layers > self.n_layers
                   else f"{layers} of {self.n_layers + 1} layers on the GPU")
        return (f"{need}; {ram}, {vram}; {verdict} with n_gpu_layers {layers} "
                f"({offload})")


def _row_bytes(n_values: int, cache_type: str) -> int:
    """ggml_row_size: one position's keys (or values) of one layer, whole blocks."""
    size, per_block = CACHE_BLOCK[cache_type]
    return -(-n_values // per_block) * size


def kv_cache_bytes(info: GGUFInfo, n_ctx: int, layers: int | None = None,
                   kv: KVTypes = F16_CACHE) -> int:
    """Keys and values of ``n_ctx`` positions (every parallel sequence counted) in ``layers``:
    llama.cpp keeps one row per position and layer, of KV heads × head length values."""
    layers = info.n_layers if layers is None else layers
    k_row = _row_bytes(info.head_count_kv * info.key_length, kv.k)
    v_row = _row_bytes(info.head_count_kv * info.value_length, kv.v)
    return n_ctx * layers * (k_row + v_row)


def compute_bytes(info: GGUFInfo, n_ctx: int) -> int:
    """llama.cpp reuses one scratch buffer, so the larger of the logits and the attention
    scores sets its size; activations and the f16 attention mask come on top."""
    logits = 4 * N_UBATCH * info.vocab_size
    scores = 4 * N_UBATCH * n_ctx * info.head_count
    return max(logits, scores) + 12 * N_UBATCH * info.embedding_length + 2 * N_UBATCH * n_ctx


def estimate_fit(info: GGUFInfo, n_ctx: int, memory: Memory,
                 offload_supported: bool | None = None,
                 n_parallel: int | None = None, kv: KVTypes = F16_CACHE) -> FitEstimate:
    """The memory a load with ``n_ctx`` takes, and how many layers the free VRAM can hold.

    Each of the ``n_parallel`` sequences decoded together has its own n_ctx of KV cache
    (default: the app's, 4 on the CPU and 8 with offload), stored as ``kv`` says."""
    n_ctx = max(1, int(n_ctx))
    parallel = n_parallel or default_parallel(bool(offload_supported and memory.free_vram))
    weights = info.file_size
    kv_bytes = kv_cache_bytes(info, n_ctx * parallel, kv=kv)
    compute = compute_bytes(info, n_ctx)
    notes: list[str] = []
    if info.context_length and n_ctx > info.context_length:
        notes.append(f"n_ctx {n_ctx:,} is beyond the trained context of {info.context_length:,} "
                     "tokens; answers degrade past it")
    layers = _gpu_layers(info, n_ctx * parallel, memory.free_vram, compute, kv)
    if offload_supported is False:
        layers = 0
        notes.append("the installed llama.cpp is CPU only, so nothing is offloaded")
    elif memory.free_vram is None:
        notes.append(memory.gpu + "; run on the CPU (n_gpu_layers 0) unless you know better")
    elif offload_supported is None and layers:
        notes.append("offload needs a GPU build of llama.cpp (see README, GPU offload)")
    gpu = _gpu_bytes(info, n_ctx * parallel, layers, compute, kv)
    # Apple silicon: one pool of memory, so the RAM check covers what the GPU uses too.
    ram = weights + kv_bytes + compute - (0 if memory.unified else gpu)
    fits_ram = memory.free_ram is None or ram + RAM_HEADROOM <= memory.free_ram
    if not fits_ram:
        notes.append(f"needs {human_bytes(ram)} of RAM, {human_bytes(memory.free_ram or 0)} free: "
                     "choose a smaller n_ctx or a smaller quantization")
    if memory.free_ram is None:
        notes.append("free RAM unknown on this system")
    return FitEstimate(
        n_ctx=n_ctx, n_layers=info.n_layers, weights=weights, kv_cache=kv_bytes, compute=compute,
        recommended_gpu_layers=layers, gpu_bytes=gpu, ram_bytes=ram,
        free_ram=memory.free_ram, free_vram=memory.free_vram, fits=fits_ram, notes=tuple(notes),
        n_parallel=parallel, kv=kv,
    )


def layer_bytes(info: GGUFInfo, n_ctx: int, kv: KVTypes = F16_CACHE) -> int:
    """What one offloaded block takes on the GPU: its weights and its share of the KV cache
    (``n_ctx`` counts every parallel sequence)."""
    return info.layer_bytes + kv_cache_bytes(info, n_ctx, layers=1, kv=kv)


def _gpu_layers(info: GGUFInfo, n_ctx: int, free_vram: int | None, compute: int,
                kv: KVTypes) -> int:
    """As many repeating layers as fit, then the output head (n_layers + 1 = everything)."""
    if not free_vram or info.n_layers <= 0:
        return 0
    budget = free_vram - GPU_HEADROOM - compute  # the compute buffer moves to the GPU too
    per_layer = max(1, layer_bytes(info, n_ctx, kv))
    layers = max(0, min(info.n_layers, budget // per_layer))
    if layers == info.n_layers and budget - layers * per_layer >= info.output_bytes:
        return info.n_layers + 1
    return int(layers)


def _gpu_bytes(info: GGUFInfo, n_ctx: int, layers: int, compute: int, kv: KVTypes) -> int:
    if layers <= 0:
        return 0
    blocks = min(layers, info.n_layers)
    output = info.output_bytes if layers > info.n_layers else 0
    return blocks * layer_bytes(info, n_ctx, kv) + output + compute
