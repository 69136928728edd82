"""The drill catalogue and the grader's entry points, ``check`` and ``list``."""
from __future__ import annotations

import inspect
import numbers
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .grading import NotAttempted, Trial, run_trial
from .report import Case, Report, section_url

__all__ = ["DRILLS", "Drill", "DrillList", "check", "get", "list_drills"]

DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Drill:
    """One exercise: write ``signature`` from scratch; ``cases()`` grades it.

    ``solution`` is the library's implementation with the drill's signature (most call the
    tested ``dlnotes`` module named in ``shows``); ``section`` is ``(doc, target, title)`` of
    the chapter section that teaches it; ``questions`` are question-bank ids (``"E49"``).
    """

    name: str
    signature: str
    chapter: int
    difficulty: str
    questions: tuple[str, ...]
    statement: str
    hint: str
    section: tuple[str, str, str]
    cases: Callable[[], list[Trial]]
    solution: Callable
    shows: tuple = ()
    outputs: tuple[str, ...] = ()
    numpy: bool = True
    reference: str = ""  # the torch / sklearn call the cases compare with
    extra: dict = field(default_factory=dict)

    def stub(self) -> str:
        """The starting point a reader fills in."""
        return (f"def {self.signature}:\n"
                f"    # your code here\n"
                f"    raise NotImplementedError\n")

    @property
    def arg_names(self) -> list[str]:
        return list(inspect.signature(self.solution).parameters)


DRILLS: dict[str, Drill] = {}


def register(drill: Drill) -> Drill:
    if drill.name in DRILLS:
        raise ValueError(f"drill {drill.name!r} is defined twice")
    if drill.difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {drill.difficulty!r}")
    DRILLS[drill.name] = drill
    return drill


def get(name: str) -> Drill:
    """The drill called ``name``; ``ValueError`` listing the names when there is none."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in DRILLS:
        raise ValueError(f"no drill named {name!r}; the drills are: {', '.join(sorted(DRILLS))}")
    return DRILLS[name]


def _wants_numpy(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any("ndarray" in str(p.annotation) for p in params)


def check(name: str, fn: Callable, reveal: bool = False, numpy: bool | None = None) -> Report:
    r"""Grade ``fn`` on drill ``name`` against the reference; returns a :class:`Report`.

    Every case is run (random shapes and dtypes, then the edge cases where solutions go
    wrong). ``fn`` may work on NumPy arrays (``numpy=True``, annotations that name
    ``ndarray``, or detected when tensors make it raise). A stub that raises
    ``NotImplementedError`` is "not attempted"; any other exception fails its case.
    ``reveal=True`` adds the library's own implementation, once the drill has been attempted.

    The random state and the default dtype are restored afterwards.
    """
    drill = get(name)
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {type(fn).__name__}")
    if numpy is not None and not isinstance(numpy, bool):
        raise TypeError(f"numpy must be True, False or None, got {numpy!r}")
    if not isinstance(reveal, bool):
        raise TypeError(f"reveal must be a bool, got {type(reveal).__name__}")
    if numpy and not drill.numpy:
        raise ValueError(f"drill {name!r} needs torch tensors (it uses autograd); numpy=True is not supported")
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate(), torch.get_default_dtype())
    torch.set_default_dtype(torch.float32)
    try:
        trials = drill.cases()
        mode = "numpy" if (numpy or _wants_numpy(fn)) and drill.numpy else "torch"
        auto = numpy is None and mode == "torch" and drill.numpy
        cases, hints, skipped = [], {}, 0
        for i, trial in enumerate(trials):
            try:
                problem = run_trial(fn, trial, mode, drill.arg_names, seed=i, names=drill.outputs)
                if auto and i == 0 and problem and problem.startswith("raised "):
                    try:  # a NumPy solution fed tensors: try arrays once
                        if run_trial(fn, trial, "numpy", drill.arg_names, seed=i, names=drill.outputs) is None:
                            mode, problem = "numpy", None
                    except NotAttempted:
                        pass
                auto = False
            except NotAttempted:
                skipped += 1
                problem = "raised NotImplementedError (this case is not handled yet)"
            inputs = trial.inputs or _inputs(drill, trial)
            detail = "" if problem is None else f"input: {inputs}\n{problem}"
            cases.append(Case(trial.description, problem is None, detail))
            doc, target, title = trial.section or drill.section
            hints[trial.description] = (trial.hint or drill.hint, title, section_url(doc, target))
        attempted = skipped < len(trials)
        solution = None
        if reveal and attempted:
            from ..display import show
            solution = [show(obj) for obj in drill.shows]
        return Report(drill, cases, hints, attempted=attempted, mode=mode, solution=solution)
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        torch.set_default_dtype(states[3])


def _inputs(drill: Drill, trial: Trial) -> str:
    from .grading import describe

    names = drill.arg_names
    parts = [f"{names[i] if i < len(names) else f'arg{i}'}={describe(a)}" for i, a in enumerate(trial.args)]
    parts += [f"{k}={describe(v)}" for k, v in trial.kwargs.items()]
    return "; ".join(parts) or "(none)"


class DrillList:
    """The table :func:`list_drills` returns: HTML in a notebook, text in a terminal, rows as dicts.

    ``frame`` is the ``pandas.DataFrame``; ``table["name"]`` is a column.
    """

    def __init__(self, frame):
        self.frame = frame

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def __getitem__(self, column):
        return self.frame[column]

    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self):
        return iter(self.frame.to_dict("records"))

    def _repr_html_(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None):
            return self.frame.to_html(index=False)

    def __str__(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None, "display.width", 250):
            return self.frame.to_string(index=False)

    __repr__ = __str__


def list_drills(chapters=None) -> DrillList:
    """Every drill (or those of ``chapters``, an int or a list of ints): name, chapter,
    difficulty, the question-bank entries it answers, and its signature."""
    import pandas as pd

    if chapters is not None:
        if isinstance(chapters, numbers.Number) or not hasattr(chapters, "__iter__"):
            chapters = [chapters]
        chapters = list(chapters)
        if not all(isinstance(c, numbers.Integral) and not isinstance(c, (bool, np.bool_)) and 1 <= c <= 10
                   for c in chapters):
            raise ValueError(f"chapters must be chapter numbers from 1 to 10, got {chapters!r}")
    order = {name: i for i, name in enumerate(DRILLS)}
    rows = [{"name": d.name, "chapter": d.chapter, "difficulty": d.difficulty,
             "questions": ", ".join(d.questions), "signature": d.signature}
            for d in sorted(DRILLS.values(), key=lambda d: (d.chapter, order[d.name]))
            if chapters is None or d.chapter in chapters]
    return DrillList(pd.DataFrame(rows, columns=["name", "chapter", "difficulty", "questions", "signature"]))
