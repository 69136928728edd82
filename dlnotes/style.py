"""One look for every figure in the book."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

__all__ = ["set_style"]

STYLE_FILE = Path(__file__).with_name("dlnotes.mplstyle")


def set_style() -> None:
    """Apply the book's matplotlib style (``dlnotes/dlnotes.mplstyle``) to all later figures."""
    plt.style.use(STYLE_FILE)
