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
