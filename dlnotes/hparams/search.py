r"""Four hyperparameter searches with one signature, plus Optuna's sampler behind the same door.

``search(objective, space, budget, seed=0, direction="minimize") -> trials``: ``objective``
maps a dict of hyperparameters to a number; ``budget`` is how many times it may be called.

* grid search (网格搜索): every combination of ``n`` evenly spaced values per dimension,
  with the largest ``n`` that fits the budget;
* random search (随机搜索): independent draws from the space (Bergstra & Bengio, 2012);
* Bayesian optimization (贝叶斯优化): a Gaussian process fitted to the trials so far picks the
  point of highest expected improvement (Snoek, Larochelle & Adams, 2012);
* a genetic algorithm (遗传算法): tournament selection, uniform crossover and Gaussian mutation
  on a population (Holland, 1975; the notes' E Q47).

Every search returns the same table: one row per trial with its parameters, its value, its
state (``COMPLETE``, or ``FAIL`` when the objective returned NaN or inf, which then never
counts as best) and the best-so-far curve.

Dtypes: parameters and objective values are Python floats (float64), trials a pandas table;
the Bayesian search's surrogate runs in float64.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable

import numpy as np
import pandas as pd
import torch

from .gp import RBF, GaussianProcessRegressor, expected_improvement, fit_kernel
from .space import Categorical, as_space

__all__ = [
    "SEARCHES", "best_trial", "trials_to_reach", "grid_search", "random_search", "propose_ei",
    "bayes_search", "genetic_search", "optuna_search"
]

Objective = Callable[[dict], float]
DIRECTIONS = ("minimize", "maximize")


class _Recorder:
    """Calls the objective, checks what comes back, and keeps the trials in order."""

    def __init__(self, objective, space, budget, seed, direction, progress):
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        self.space = as_space(space)
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
            raise TypeError(f"budget must be an int, got {type(budget).__name__}")
        if budget < 1:
            raise ValueError(f"budget must be at least 1, got {budget}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
        self.objective, self.budget, self.direction = objective, int(budget), direction
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.rng = np.random.default_rng(seed)
        self.rows: list[dict] = []
        from ..progress import tqdm

        self.bar = tqdm(total=self.budget, disable=not progress)

    @property
    def left(self) -> int:
        return self.budget - len(self.rows)

    def evaluate(self, params: dict) -> float:
        """Run one trial; return its value turned into a loss (``inf`` for a failed trial)."""
        if self.left <= 0:
            raise RuntimeError("budget exhausted")  # a bug in a search, never the user's
        value = self.objective(dict(params))
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"objective must return a real number, got {type(value).__name__} for {params}")
        value = float(value)
        state = "COMPLETE" if math.isfinite(value) else "FAIL"
        if state == "FAIL":
            warnings.warn(f"trial {len(self.rows)} failed: objective returned {value} for {params}; "
                          "it is recorded as FAIL and never ranked", RuntimeWarning, stacklevel=3)
        self.rows.append({"number": len(self.rows), "value": value, "state": state,
                          **{f"params_{k}": v for k, v in params.items()}})
        self.bar.update(1)
        return self.sign * value if state == "COMPLETE" else math.inf

    def table(self, method: str) -> pd.DataFrame:
        self.bar.close()
        trials = pd.DataFrame(self.rows)
        ok = trials["state"] == "COMPLETE"
        if not ok.any():
            raise ValueError(f"every one of the {len(trials)} trials failed (the objective returned "
                             "NaN or inf each time); there is no best value")
        loss = (self.sign * trials["value"]).where(ok)
        trials["best_so_far"] = self.sign * loss.cummin()  # cummin skips NaN: failed trials never rank
        trials.attrs.update(method=method, direction=self.direction)
        return trials


def best_trial(trials: pd.DataFrame) -> pd.Series:
    """The best completed trial of a trials table (failed trials never win)."""
    done = trials[trials["state"] == "COMPLETE"] if "state" in trials else trials.iloc[:0]
    if done.empty:
        raise ValueError(f"trials has no completed trial (of {len(trials)}); every one failed or none ran, "
                         "so there is no best trial")
    idx = done["value"].idxmin() if trials.attrs.get("direction", "minimize") == "minimize" else done["value"].idxmax()
    return done.loc[idx]


def trials_to_reach(trials: pd.DataFrame, target: float) -> float:
    """How many trials the search needed before its best-so-far reached ``target`` (NaN: never)."""
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real):
        raise TypeError(f"target must be a real number, got {type(target).__name__} {target!r}")
    better = trials["best_so_far"] <= target if trials.attrs.get("direction", "minimize") == "minimize" \
        else trials["best_so_far"] >= target
    return float(better.values.argmax() + 1) if better.any() else math.nan


def grid_search(objective: Objective, space, budget: int, seed: int = 0,
                direction: str = "minimize", progress: bool = False, layout: str = "endpoints") -> pd.DataFrame:
    r"""Every combination of ``n`` values per dimension, :math:`\prod_j |G_j(n)| \le` ``budget``, ``n`` largest.

    ``G_j(n)`` is :meth:`Dimension.grid`: ``n`` evenly spaced unit values (log-spaced for a log
    dimension), fewer for an integer or categorical dimension with fewer distinct values.
    ``layout="endpoints"`` puts the first and last values on the box's edges,
    :math:`u_i = i/(n-1)`; ``layout="centred"`` uses the cell centres :math:`(i+\tfrac12)/n`, the
    better choice for a small ``n`` (two values per dimension are then a quarter of the way in,
    not the corners). The order is deterministic, so ``seed`` changes nothing; it is accepted for
    the common signature.

    Matches: ``sklearn.model_selection.ParameterGrid`` over the same value lists.
    """
    if layout not in ("endpoints", "centred"):
        raise ValueError(f"layout must be 'endpoints' or 'centred', got {layout!r}")
    centred = layout == "centred"
    rec = _Recorder(objective, space, budget, seed, direction, progress)
    n, grids = 1, [dim.grid(1, centred) for dim in rec.space.values()]
    while n < budget:
        bigger = [dim.grid(n + 1, centred) for dim in rec.space.values()]
        if math.prod(map(len, bigger)) > budget:
            break
        if bigger == grids:  # every dimension is already exhausted
            break
        n, grids = n + 1, bigger
    for combo in _product(grids):
        rec.evaluate(dict(zip(rec.space, combo)))
    return rec.table("grid")


def _product(grids):
    if not grids:
        yield ()
        return
    for head in grids[0]:
        for tail in _product(grids[1:]):
            yield (head, *tail)


def random_search(objective: Objective, space, budget: int, seed: int = 0,
                  direction: str = "minimize", progress: bool = False) -> pd.DataFrame:
    r"""``budget`` independent draws :math:`x_t \sim \prod_j p_j` from the space.

    Matches: ``optuna.samplers.RandomSampler`` (the same distribution, another random stream).
    """
    rec = _Recorder(objective, space, budget, seed, direction, progress)
    while rec.left:
        rec.evaluate(rec.space.sample(rec.rng))
    return rec.table("random")


LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8)


def propose_ei(X: np.ndarray, loss: np.ndarray, rng: np.random.Generator, n_candidates: int = 1000,
               xi: float = 0.01, kernel: str = "grid", init: RBF | None = None) -> np.ndarray:
    r"""The next point in :math:`[0,1]^d`: maximize expected improvement of a GP fitted to ``(X, loss)``.

    The GP standardizes the losses. Its RBF kernel is, by ``kernel``:

    * ``"grid"``: one length scale, the one in ``LENGTH_SCALES`` with the largest log marginal likelihood;
    * ``"isotropic"``: one length scale and a variance fitted by marginal likelihood (:func:`fit_kernel`);
    * ``"ard"``: one length scale per dimension, fitted the same way (automatic relevance determination).

    ``init`` warm-starts the fit (the previous trial's kernel). EI is maximized over random
    candidates plus small perturbations of the best point so far. Returns the point; the fitted
    kernel is left in ``propose_ei.last_kernel`` for the next warm start.
    """
    if kernel not in ("grid", "isotropic", "ard"):
        raise ValueError(f"kernel must be 'grid', 'isotropic' or 'ard', got {kernel!r}")
    scale = float(np.max(np.abs(loss)))  # EI's argmax is unchanged by a positive rescaling of the losses,
    if scale > 0:                         # and squares of values above ~1e154 would overflow in the GP
        loss = loss / scale
    if kernel == "grid":
        fits = [GaussianProcessRegressor(RBF(ls), alpha=1e-6, normalize_y=True).fit(X, loss) for ls in LENGTH_SCALES]
        gp = max(fits, key=lambda g: g.log_marginal_likelihood_value_)
    else:
        fitted = fit_kernel(X, loss, ard=kernel == "ard", n_restarts=0 if init is not None else 1,
                            init=init, max_iter=20 if init is not None else 60)
        gp = GaussianProcessRegressor(fitted, alpha=1e-6, normalize_y=True).fit(X, loss)
    propose_ei.last_kernel = gp.kernel
    d = X.shape[1]
    best_x = X[np.argmin(loss)]
    local = np.clip(best_x + 0.05 * rng.standard_normal((n_candidates // 4, d)), 0, 1)
    candidates = np.vstack([rng.random((n_candidates, d)), local])
    mean, std = gp.predict(candidates, return_std=True)
    ei = expected_improvement(mean, std, best=float(loss.min()), xi=xi * float(np.std(loss) or 1.0))
    return candidates[int(torch.argmax(ei))]


def bayes_search(objective: Objective, space, budget: int, seed: int = 0, direction: str = "minimize",
                 progress: bool = False, n_initial: int = 5, kernel: str = "grid") -> pd.DataFrame:
    r"""Bayesian optimization: ``n_initial`` random trials, then :math:`x_{t+1} = \arg\max_x \mathrm{EI}_t(x)`.

    Failed trials are left out of the GP's data. Integer and categorical values are snapped
    after the continuous proposal, and the GP is fitted on the snapped values.

    ``kernel`` is :func:`propose_ei`'s: ``"grid"`` (one length scale from a fixed list, the
    default), ``"isotropic"`` or ``"ard"`` (fitted by marginal likelihood at every trial, warm-started
    from the previous fit).

    Matches: the loop of ``skopt.gp_minimize(..., acq_func="EI")``; with ``kernel="ard"`` its
    default Matern-free analogue, an RBF with one fitted length scale per dimension.
    """
    if isinstance(n_initial, bool) or not isinstance(n_initial, int) or n_initial < 1:
        raise ValueError(f"n_initial must be a positive int, got {n_initial!r}")
    if kernel not in ("grid", "isotropic", "ard"):
        raise ValueError(f"kernel must be 'grid', 'isotropic' or 'ard', got {kernel!r}")
    rec = _Recorder(objective, space, budget, seed, direction, progress)
    X, loss, fitted = [], [], None
    while rec.left:
        if len(loss) < n_initial:
            params = rec.space.sample(rec.rng)
        else:
            params = rec.space.from_unit(propose_ei(np.array(X), np.array(loss), rec.rng, kernel=kernel, init=fitted))
            fitted = propose_ei.last_kernel if kernel != "grid" else None
        value = rec.evaluate(params)
        if math.isfinite(value):
            X.append(rec.space.to_unit(params))
            loss.append(value)
    return rec.table("bayes")


def genetic_search(objective: Objective, space, budget: int, seed: int = 0, direction: str = "minimize",
                   progress: bool = False, population_size: int = 8, tournament_size: int = 3,
                   crossover_rate: float = 0.9, mutation_rate: float | None = None,
                   mutation_scale: float = 0.1, n_elite: int = 1) -> pd.DataFrame:
    r"""A generational genetic algorithm on genes :math:`u \in [0,1]^d` (the unit-space encoding).

    Each generation keeps the ``n_elite`` fittest unchanged and breeds the rest:

    1. **selection**: each parent is the fittest of ``tournament_size`` random members;
    2. **crossover**: with probability ``crossover_rate`` every gene comes from either parent
       with probability 1/2 (uniform crossover), otherwise the child copies parent 1;
    3. **mutation**: each gene, with probability ``mutation_rate`` (default :math:`1/d`), moves by
       :math:`\mathcal N(0, \text{mutation\_scale}^2)` and is clipped to :math:`[0, 1]`; a
       categorical gene is redrawn instead.

    Fitness is the negated loss; a failed trial has fitness :math:`-\infty` and is never selected
    while a completed one is available. Elites are carried over, not re-evaluated.

    Matches: the select / cross / mutate loop of DEAP's ``eaSimple`` with ``selTournament``,
    ``cxUniform`` and a Gaussian mutation.
    """
    for name, v, low in (("population_size", population_size, 2), ("tournament_size", tournament_size, 1),
                         ("n_elite", n_elite, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    if n_elite >= population_size:
        raise ValueError(f"n_elite must be less than population_size ({population_size}), got {n_elite}")
    for name, p in (("crossover_rate", crossover_rate), ("mutation_rate", mutation_rate)):
        if p is not None and not 0 <= p <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {p}")
    if not mutation_scale > 0:
        raise ValueError(f"mutation_scale must be positive, got {mutation_scale}")
    rec = _Recorder(objective, space, budget, seed, direction, progress)
    rng, d = rec.rng, len(rec.space)
    p_mut = 1.0 / d if mutation_rate is None else mutation_rate
    is_cat = np.array([isinstance(dim, Categorical) for dim in rec.space.values()])

    def evaluate(genes):
        params = rec.space.from_unit(genes)
        return rec.space.to_unit(params), rec.evaluate(params)  # genes snapped to what was tried

    population = [evaluate(rng.random(d)) for _ in range(min(population_size, rec.left))]
    while rec.left:
        ranked = sorted(population, key=lambda member: member[1])
        children = ranked[:n_elite]
        while len(children) < population_size and rec.left:
            mum, dad = (min((population[i] for i in rng.choice(len(population), tournament_size)),
                            key=lambda member: member[1])[0] for _ in range(2))
            child = np.where(rng.random(d) < 0.5, mum, dad) if rng.random() < crossover_rate else mum.copy()
            mutate = rng.random(d) < p_mut
            child = np.where(mutate & ~is_cat, np.clip(child + mutation_scale * rng.standard_normal(d), 0, 1), child)
            child = np.where(mutate & is_cat, rng.random(d), child)
            children.append(evaluate(child))
        population = children
    return rec.table("genetic")


def optuna_search(objective: Objective, space, budget: int, seed: int = 0, direction: str = "minimize",
                  progress: bool = False, sampler: str = "tpe") -> pd.DataFrame:
    r"""The same search through Optuna, with its TPE (Bergstra et al., 2011) or random sampler.

    Matches: ``optuna.create_study(direction=direction, sampler=TPESampler(seed=seed)).optimize(
    objective, n_trials=budget)``, with the trials returned in this module's table.
    """
    import optuna

    samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    if sampler not in samplers:
        raise ValueError(f"sampler must be one of {sorted(samplers)}, got {sampler!r}")
    rec = _Recorder(objective, space, budget, seed, direction, progress)
    dists = rec.space.to_optuna()

    def suggest(trial, name, dist):  # the public suggest_* API, one call per distribution type
        if isinstance(dist, optuna.distributions.FloatDistribution):
            return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        if isinstance(dist, optuna.distributions.IntDistribution):
            return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        return trial.suggest_categorical(name, dist.choices)

    def wrapped(trial):
        params = {name: suggest(trial, name, dist) for name, dist in dists.items()}
        loss = rec.evaluate(params)
        return rec.sign * loss if math.isfinite(loss) else math.nan

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        study = optuna.create_study(direction=direction, sampler=samplers[sampler](seed=int(seed)))
        study.optimize(wrapped, n_trials=rec.budget)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return rec.table(f"optuna-{sampler}")


SEARCHES = {"grid": grid_search, "random": random_search, "bayes": bayes_search,
            "genetic": genetic_search, "optuna-tpe": optuna_search}
