"""Which device ML runs on, and the precision it runs at."""

from __future__ import annotations

import contextlib
import threading

import torch
from django.conf import settings

_threads_set = threading.Event()


def resolve_device(name: str | None = None) -> torch.device:
    """``ML_DEVICE``: ``auto`` (cuda when available, else cpu) or any torch device string."""
    name = (name or settings.ML_DEVICE or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"ML_DEVICE={name!r} but this worker has no CUDA device; use 'auto' or 'cpu'.")
    return device


def autocast(device: torch.device):
    """bfloat16 autocast on CUDA only; full precision everywhere else."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def configure_torch(device: torch.device) -> None:
    """Once per process: CPU threads from ML_TORCH_THREADS; TF32 matmuls on Ampere+ GPUs."""
    if _threads_set.is_set():
        return
    _threads_set.set()
    if settings.ML_TORCH_THREADS > 0:
        torch.set_num_threads(settings.ML_TORCH_THREADS)
    if device.type == "cuda" and torch.cuda.get_device_properties(device).major >= 8:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
