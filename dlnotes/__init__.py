"""dlnotes: the tested library behind the book *Deep-learning fundamentals, executed and checked*.

Every chapter starts with::

    import dlnotes
    DEVICE = dlnotes.device()
    dlnotes.seed_everything(0)
    dlnotes.set_style()

and shows the code it studies with ``dlnotes.show(obj)``.
"""
from .display import show
from .runtime import device, seed_everything
from .style import set_style

__all__ = ["device", "seed_everything", "show", "set_style"]
__version__ = "0.1.0"
