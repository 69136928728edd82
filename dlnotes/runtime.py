"""Where code runs and how it is seeded: the two calls every chapter starts with."""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

_KNOWN_DEVICES = ("cpu", "cuda", "mps")
_colab_hint_shown = False


def device() -> torch.device:
    """The device chapters compute on: ``cuda`` if available, then ``mps``, else ``cpu``.

    The environment variable ``DLNOTES_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides the
    choice. On Colab without a GPU, a notebook is told once how to switch the runtime.
    """
    override = os.environ.get("DLNOTES_DEVICE", "").strip()
    if override:
        kind = override.split(":", 1)[0]
        if kind not in _KNOWN_DEVICES:
            raise ValueError(
                f"DLNOTES_DEVICE must name one of {', '.join(_KNOWN_DEVICES)} "
                f"(optionally with an index, e.g. 'cuda:1'), got {override!r}"
            )
        return torch.device(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    _hint_colab_runtime()
    return torch.device("cpu")


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


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
