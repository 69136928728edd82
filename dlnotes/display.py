"""Show the library's own source in a notebook, so the code a reader studies is the code tested."""
from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

__all__ = ["Source", "show"]


class Source:
    """Source code of a dlnotes object, rendered as a highlighted Python block.

    Jupyter and the book render the Markdown form (a fenced ``python`` block); a plain
    console prints the code itself.
    """

    def __init__(self, name: str, path: str, code: str):
        self.name, self.path, self.code = name, path, code

    def _repr_markdown_(self) -> str:
        return f"`{self.name}` (from `{self.path}`)\n\n```python\n{self.code}\n```\n"

    def __repr__(self) -> str:
        return self.code


def show(obj) -> Source:
    """Return the source of a dlnotes function, class or module for display in a notebook.

    >>> show(dlnotes.gradients.numerical_gradient)   # doctest: +SKIP
    """
    module = inspect.getmodule(obj)
    if module is None or not module.__name__.split(".")[0] == "dlnotes":
        raise TypeError(
            f"show() displays dlnotes code only; got {obj!r} "
            f"from module {getattr(module, '__name__', None)!r}"
        )
    try:
        code = inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise TypeError(f"no source is available for {obj!r}: {exc}") from None
    package_root = Path(inspect.getfile(inspect.getmodule(show))).parent.parent
    path = Path(inspect.getfile(module)).resolve().relative_to(package_root.resolve())
    name = getattr(obj, "__qualname__", module.__name__)
    return Source(name=name, path=path.as_posix(), code=textwrap.dedent(code).rstrip())
