"""Where code runs and how it is seeded: the two calls every chapter starts with.

Seeds may be Python or NumPy integers in :math:`[0, 2^{32})`; no tensors are created here.
"""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

__all__ = ["device", "seed_everything"]

_KNOWN_DEVICES = ("cpu", "cuda", "mps")
_colab_hint_shown = False


def device() -> torch.device:
    """The device chapters compute on: ``cuda`` if available, then ``mps``, else ``cpu``.

    The environment variable ``DLNOTES_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides the
    choice. An override this machine cannot honour raises ``ValueError`` at once, naming the
    variable: an unknown device name, a malformed index, ``cuda`` without CUDA (or an index
    past the last GPU), ``mps`` without MPS. On Colab without a GPU, a notebook is told once
    how to switch the runtime.
    """
    override = os.environ.get("DLNOTES_DEVICE", "").strip()
    if override:
        return _override_device(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    _hint_colab_runtime()
    return torch.device("cpu")


def _override_device(override: str) -> torch.device:
    kind = override.split(":", 1)[0]
    if kind not in _KNOWN_DEVICES:
        raise ValueError(
            f"DLNOTES_DEVICE must name one of {', '.join(_KNOWN_DEVICES)} "
            f"(optionally with an index, e.g. 'cuda:1'), got {override!r}"
        )
    try:
        chosen = torch.device(override)
    except RuntimeError:
        raise ValueError(f"DLNOTES_DEVICE must be a device such as 'cuda' or 'cuda:1', got {override!r}") from None
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"DLNOTES_DEVICE={override!r} but CUDA is not available on this machine "
                             "(no GPU, or a CPU-only torch); unset it or set it to 'cpu'")
        count = torch.cuda.device_count()
        if chosen.index is not None and chosen.index >= count:
            raise ValueError(f"DLNOTES_DEVICE={override!r} but this machine has {count} CUDA device(s), "
                             f"numbered 0 to {count - 1}")
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"DLNOTES_DEVICE={override!r} but MPS is not available on this machine; "
                             "unset it or set it to 'cpu'")
    return chosen


def _hint_colab_runtime() -> None:
    """On Colab's CPU runtime, say once (visibly) how to get a GPU."""
    global _colab_hint_shown
    if _colab_hint_shown or "google.colab" not in sys.modules:
        return
    _colab_hint_shown = True
    message = (
        "**No GPU in this Colab runtime.** Everything here runs on the CPU, only slower. "
        "For a GPU: *Runtime → Change runtime type → Hardware accelerator: GPU*, then "
        "*Runtime → Restart and run all*."
    )
    from IPython.display import Markdown, display

    display(Markdown(message))


def seed_everything(seed: int, deterministic: bool | None = None) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU).

    Seeding fixes the random numbers, not the arithmetic: on CUDA several kernels are
    non-deterministic by design (atomic adds in ``index_add_`` and ``scatter_add_``, cuDNN
    picking the fastest convolution algorithm per run, cuBLAS splitting a matmul differently
    across streams), so the same seed can still give different last digits. With
    ``deterministic=True`` this function also

    * sets ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (unless it is already set), which cuBLAS needs
      for reproducible matmuls on CUDA 10.2 and later. cuBLAS reads it when it first starts,
      so call this before any CUDA work, as every chapter's first cell does;
    * calls ``torch.use_deterministic_algorithms(True, warn_only=True)``: torch picks
      deterministic kernels where it has them and *warns* (instead of raising) for an
      operation that has none, so a chapter still runs on a GPU and the warning names the op;
    * sets ``torch.backends.cudnn.deterministic = True`` and ``cudnn.benchmark = False``.

    ``deterministic=False`` turns these back off (the environment variable stays).
    ``deterministic=None``, the default, means "on when CUDA is available": on a CPU-only
    machine nothing but the seeds is touched (CPU kernels are deterministic already), and on
    a GPU the book's outputs repeat run after run.

    Matches: the recipe of the PyTorch "Reproducibility" notes
    (``torch.manual_seed``, ``random.seed``, ``np.random.seed``,
    ``torch.use_deterministic_algorithms``, ``CUBLAS_WORKSPACE_CONFIG``).
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    if deterministic is not None and not isinstance(deterministic, (bool, np.bool_)):
        raise TypeError(f"deterministic must be a bool or None, got {type(deterministic).__name__}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    if deterministic is None:
        deterministic = torch.cuda.is_available()
        if not deterministic:
            return
    _set_deterministic(bool(deterministic))


def _set_deterministic(on: bool) -> None:
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on, warn_only=on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False
