r"""Search spaces: the box a hyperparameter search (超参数搜索) is allowed to look in.

A space maps names to dimensions. Every dimension knows three things a search needs:
how to draw a value at random, how to lay out an evenly spaced grid, and how to map a value
to and from the unit interval :math:`[0, 1]`, where the Gaussian process and the genetic
algorithm do their arithmetic. A log-uniform dimension is uniform in :math:`\log x`, the
right prior for scales such as a learning rate (Bergstra & Bengio, 2012).

The constructors mirror Optuna's distributions, so the two can be swapped.

Dtypes: bounds and unit values are Python or NumPy reals, mapped in float64; ``Int`` returns
Python ints.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Sequence

import numpy as np

__all__ = ["Dimension", "Float", "Int", "Categorical", "SearchSpace", "as_space"]


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _unit(u) -> float:
    """A point of the unit interval (values outside are clipped to it); NumPy scalars accepted."""
    if isinstance(u, (bool, np.bool_)) or not isinstance(u, Real):
        raise TypeError(f"u must be a real number in [0, 1], got {type(u).__name__} {u!r}")
    if math.isnan(u):
        raise ValueError(f"u must be a real number in [0, 1], got {u}")
    return min(max(float(u), 0.0), 1.0)


class Dimension:
    """One hyperparameter: draws values, lays out grids, maps values to and from [0, 1]."""

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(rng.random())

    def grid(self, n: int, centred: bool = False) -> list:
        r"""``n`` evenly spaced values in unit space: :math:`u_i = i/(n-1)` (the middle if ``n = 1``),
        or with ``centred`` the cell centres :math:`u_i = (i + \tfrac12)/n`, which keep a small grid
        off the box's corners (log-spaced for a log dimension either way)."""
        if centred:
            units = [(i + 0.5) / n for i in range(n)]
        else:
            units = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
        values = []
        for u in units:  # an integer or categorical grid may repeat a value: keep it once
            v = self.from_unit(u)
            if v not in values:
                values.append(v)
        return values


class Float(Dimension):
    r"""A real value in :math:`[\text{low}, \text{high}]`, uniform, or uniform in :math:`\log x` if ``log``.

    .. math:: u = \frac{t(x) - t(\text{low})}{t(\text{high}) - t(\text{low})},\qquad t = \log \text{ if log else identity}

    Matches: ``optuna.distributions.FloatDistribution(low, high, log=log)``.
    """

    def __init__(self, low: float, high: float, log: bool = False):
        low, high = _check_real(low, "low"), _check_real(high, "high")
        if not low < high:
            raise ValueError(f"low must be less than high, got low={low}, high={high}")
        if log and low <= 0:
            raise ValueError(f"low must be positive for a log scale, got low={low}")
        self.low, self.high, self.log = low, high, bool(log)
        self._t = math.log if self.log else (lambda x: x)
        self._t_low, self._t_high = self._t(low), self._t(high)

    def to_unit(self, value) -> float:
        return (self._t(value) - self._t_low) / (self._t_high - self._t_low)

    def from_unit(self, u: float) -> float:
        t = self._t_low + _unit(u) * (self._t_high - self._t_low)
        x = math.exp(t) if self.log else t
        return min(max(x, self.low), self.high)  # exp(log(x)) can miss the edge by one ulp

    def contains(self, value) -> bool:
        return isinstance(value, float) and self.low <= value <= self.high

    def __repr__(self) -> str:
        return f"Float({self.low!r}, {self.high!r}, log={self.log})"


class Int(Dimension):
    r"""An integer in :math:`\{\text{low}, \dots, \text{high}\}`, each equally likely (log-spaced if ``log``).

    A unit value :math:`u` maps to the continuous value of :class:`Float` on
    :math:`[\text{low} - \tfrac12, \text{high} + \tfrac12]`, rounded, so every integer owns an
    equal share of :math:`[0, 1]` (an equal share of :math:`\log` space if ``log``).

    Matches: ``optuna.distributions.IntDistribution(low, high, log=log)``.
    """

    def __init__(self, low: int, high: int, log: bool = False):
        for name, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if not low <= high:
            raise ValueError(f"low must be at most high, got low={low}, high={high}")
        if log and low < 1:
            raise ValueError(f"low must be at least 1 for a log scale, got low={low}")
        self.low, self.high, self.log = int(low), int(high), bool(log)
        self._cont = Float(self.low - 0.5, self.high + 0.5, log=self.log)  # low - 0.5 >= 0.5 when log

    def to_unit(self, value) -> float:
        return self._cont.to_unit(float(value))

    def from_unit(self, u: float) -> int:
        return int(min(max(round(self._cont.from_unit(u)), self.low), self.high))

    def contains(self, value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def __repr__(self) -> str:
        return f"Int({self.low}, {self.high}, log={self.log})"


class Categorical(Dimension):
    r"""One of a finite list of choices; choice :math:`i` of :math:`k` owns :math:`[i/k, (i+1)/k)`.

    Matches: ``optuna.distributions.CategoricalDistribution(choices)``.

    Differences: the Gaussian process sees the choices on one ordinal axis (their index), not
    one-hot; fine for a few ordered choices, crude for many unordered ones.
    """

    def __init__(self, choices: Sequence):
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise TypeError(f"choices must be a list or tuple, got {type(choices).__name__}")
        if len(choices) == 0:
            raise ValueError("choices must not be empty, got []")
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"choices must be distinct, got {list(choices)!r}")
        self.choices = tuple(choices)

    def to_unit(self, value) -> float:
        return (self.choices.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        k = len(self.choices)
        return self.choices[min(int(_unit(u) * k), k - 1)]

    def grid(self, n: int, centred: bool = False) -> list:
        k = len(self.choices)
        if n >= k:
            return list(self.choices)
        return [self.choices[round(i * (k - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else [self.choices[k // 2]]

    def contains(self, value) -> bool:
        return any(value == c and type(value) is type(c) for c in self.choices)

    def __repr__(self) -> str:
        return f"Categorical({list(self.choices)!r})"


class SearchSpace(dict):
    """A named set of dimensions: ``SearchSpace(lr=Float(1e-4, 1, log=True), width=Int(8, 64))``.

    Matches: the ``distributions`` dict of ``optuna.trial.FixedTrial`` / ``create_trial``.
    """

    def __init__(self, dims: dict | None = None, **kwargs):
        dims = {**(dims or {}), **kwargs}
        if not dims:
            raise ValueError("space must have at least one dimension, got an empty space")
        for name, dim in dims.items():
            if not isinstance(name, str):
                raise TypeError(f"dimension names must be str, got {name!r}")
            if not isinstance(dim, Dimension):
                raise TypeError(f"space[{name!r}] must be a Float, Int or Categorical, got {type(dim).__name__}")
        super().__init__(dims)

    def sample(self, rng: np.random.Generator) -> dict:
        return {name: dim.sample(rng) for name, dim in self.items()}

    def to_unit(self, params: dict) -> np.ndarray:
        return np.array([dim.to_unit(params[name]) for name, dim in self.items()])

    def from_unit(self, u) -> dict:
        u = np.asarray(u, dtype=np.float64)
        if u.shape != (len(self),):
            raise ValueError(f"u must hold one unit value per dimension ({len(self)}: {list(self)}), "
                             f"got shape {u.shape}")
        return {name: dim.from_unit(float(ui)) for (name, dim), ui in zip(self.items(), u)}

    def contains(self, params: dict) -> bool:
        return set(params) == set(self) and all(dim.contains(params[n]) for n, dim in self.items())

    def to_optuna(self) -> dict:
        """The same space as Optuna distributions, for ``create_trial`` or ``GridSampler``."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out = {}
        for name, dim in self.items():
            if isinstance(dim, Float):
                out[name] = FloatDistribution(dim.low, dim.high, log=dim.log)
            elif isinstance(dim, Int):
                out[name] = IntDistribution(dim.low, dim.high, log=dim.log)
            else:
                out[name] = CategoricalDistribution(dim.choices)
        return out


def as_space(space) -> SearchSpace:
    """Accept a ``SearchSpace`` or a plain dict of dimensions; reject anything else clearly."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, dict):
        return SearchSpace(space)
    raise TypeError(f"space must be a SearchSpace or a dict of dimensions, got {type(space).__name__}")
