"""Which CPU kernels torch computes with (params `torch.cpu_kernels`), for training and prediction alike.

- `fast`: torch's defaults. Convolutions run in oneDNN, which picks its kernels by the processor's instruction
  set (AVX-512, AMX, AVX2), so two CPUs of this kind train different weights from the same seed.
- `portable`: the same bits on every x86-64 CPU with AVX2, for the same torch version and thread count. oneDNN
  and NNPACK are off, so a convolution is ATen's im2col and an MKL sgemm; MKL is pinned to its AVX2 code path
  through its conditional numerical reproducibility (MKL_CBWR), whose results do not depend on the processor;
  ATen's own vector kernels are pinned to AVX2 (ATEN_CPU_CAPABILITY). Slower: docs/reproducibility.md measures it.

The two variables are read once per process, by MKL at its first call and by ATen at its first kernel dispatch,
so `cpu_kernels("portable")` has to be entered before the process computes anything with torch (the CLI enters
it first thing); entered later it warns and the run is portable only as far as oneDNN and NNPACK being off.
On CUDA the setting changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Iterator

from redbench.config import param

log = logging.getLogger(__name__)

CPU_KERNELS = ("fast", "portable")
PORTABLE_ENV = {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


@dataclass(frozen=True)
class TorchParams:
    # fast: oneDNN's kernels for this processor (weights differ between CPUs) | portable: the same bits on every
    # x86-64 CPU with AVX2 for the same thread count (slower; docs/reproducibility.md)
    cpu_kernels: str = param("portable", choices=CPU_KERNELS)


@contextlib.contextmanager
def cpu_kernels(mode: str) -> Iterator[None]:
    """Run the body with `mode`'s kernels (CPU_KERNELS); the process's settings are restored after it: the
    backend flags and the environment, though MKL and ATen keep the pins they read from it."""
    if mode not in CPU_KERNELS:
        raise ValueError(f"torch.cpu_kernels: must be one of {list(CPU_KERNELS)}, got {mode!r}")
    if mode == "fast":
        yield
        return
    import torch

    before = {key: os.environ.get(key) for key in PORTABLE_ENV}
    for key, value in PORTABLE_ENV.items():
        if before[key] not in (None, value):
            log.info("torch.cpu_kernels portable: %s=%s replaces %s", key, value, before[key])
        os.environ[key] = value
    chosen = torch.backends.cpu.get_cpu_capability()  # ATen's choice, made now unless made before
    if chosen not in ("AVX2", "DEFAULT"):  # DEFAULT: a CPU without AVX2, which portable mode does not cover
        log.warning("torch.cpu_kernels portable: torch computed before it was set and keeps its %s kernels; "
                    "the run's bits may differ on another CPU", chosen)
    # set_flags with the other flags None: mkldnn.flags() would also reset its TF32 and precision flags
    mkldnn = torch.backends.mkldnn.set_flags(False, None, None, None)
    nnpack = torch.backends.nnpack.set_flags(False)
    try:
        yield
    finally:
        torch.backends.mkldnn.set_flags(mkldnn[0], None, None, None)
        torch.backends.nnpack.set_flags(nnpack[0])
        for key, value in before.items():  # for the processes this one starts; its own libraries keep the pins
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
