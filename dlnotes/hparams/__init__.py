"""Hyperparameters and how to search for them (chapter 4): spaces, four searches, a GP surrogate.

Dtypes: search spaces and objective values are Python floats (float64); the GP surrogate runs
in float64; the digits objectives train float32 models.
"""
from .gp import RBF, GaussianProcessRegressor, expected_improvement, fit_kernel
from .search import (SEARCHES, bayes_search, best_trial, genetic_search, grid_search, optuna_search,
                     propose_ei, random_search, trials_to_reach)
from .space import Categorical, Dimension, Float, Int, SearchSpace

__all__ = ["Categorical", "Dimension", "Float", "GaussianProcessRegressor", "Int", "RBF", "SEARCHES",
           "SearchSpace", "bayes_search", "best_trial", "expected_improvement", "fit_kernel", "genetic_search",
           "grid_search", "optuna_search", "propose_ei", "random_search", "trials_to_reach"]


def __getattr__(name):  # dlnotes.hparams.run_workers, imported on first use so that
    if name == "run_workers":  # `python -m dlnotes.hparams.parallel` runs without a warning
        from .parallel import run_workers
        return run_workers
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
