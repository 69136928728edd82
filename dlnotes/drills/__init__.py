"""Interview drills: implement it yourself, graded against PyTorch and scikit-learn.

    >>> from dlnotes import drills
    >>> drills.list()                       # every drill: chapter, difficulty, questions
    >>> drills.check("softmax", my_softmax) # a Report: a table in a notebook, text in a terminal
    >>> drills.check("softmax", my_softmax, reveal=True)  # and then the library's own solution

From a terminal: ``python -m dlnotes.drills check my_solutions.py [NAME ...]``.

Dtypes: the cases draw float32 and float64 inputs (half precision where a drill is about it,
such as bf16 rounding); a result is compared at a tolerance set by the reference's dtype
(``grading.TOLERANCE``) and must come back in that dtype.
"""
from . import (  # noqa: F401  (each module registers its drills)
    cases_gan,
    cases_generalization,
    cases_gradients,
    cases_metrics,
    cases_normalization,
    cases_optim,
    cases_precision,
)
from .catalogue import DRILLS, Drill, check, get, list_drills
from .grading import Trial
from .report import Case, Report

list = list_drills  # noqa: A001  (the public name is drills.list())

__all__ = ["Case", "DRILLS", "Drill", "Report", "Trial", "check", "get", "list"]
