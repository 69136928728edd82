r"""A scalar computational graph with reverse-mode differentiation, small enough to read.

Each :class:`Value` records the operation that made it and its inputs, so the expression
forms a directed acyclic graph. The forward pass computes values as the expression is
written; :meth:`Value.backward` visits the graph in reverse topological order and applies
the chain rule at every node,

.. math:: \frac{\partial L}{\partial x} = \sum_{y \in \text{children}(x)}
          \frac{\partial L}{\partial y}\,\frac{\partial y}{\partial x}.

After Karpathy's *micrograd*; tested against ``torch.autograd`` in float64.

Dtypes: a :class:`Value` holds a Python float (IEEE float64); ``int``, ``float`` and NumPy
real scalars (``np.float32``, ``np.int64``) are accepted and converted, ``bool`` and complex
numbers are refused. Arithmetic follows IEEE 754 as torch does in float64: ``0 ** -1`` is
``inf``, ``(-8) ** 0.5`` is NaN and ``exp(1000)`` is ``inf`` (plain Python floats raise
instead). There is no half precision here.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

__all__ = ["Value", "plot_graph"]


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _pow(a: float, k: float) -> float:
    """``a ** k`` in IEEE arithmetic (C's ``pow``): inf, -inf or NaN instead of an exception."""
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(a), np.float64(k)))


def _exp(a: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.exp(np.float64(a)))


class Value:
    """A scalar node of a computational graph: ``data``, ``grad``, and how it was made."""

    def __init__(self, data: float, _children: tuple["Value", ...] = (), _op: str = "", label: str = ""):
        if not _is_real(data):
            raise TypeError(f"data must be a real number (int, float or NumPy scalar), got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = _children
        self._op = _op
        self.label = label

    @staticmethod
    def _lift(other) -> "Value":
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other) -> "Value":
        other = self._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a+b)/da = d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        other = self._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k: float) -> "Value":
        if not _is_real(k):
            raise TypeError(f"exponent must be a constant int or float, got {type(k).__name__}")
        out = Value(_pow(self.data, k), (self,), f"**{k}")
        k = float(k)

        def _backward():  # d(a^k)/da = k a^(k-1)
            self.grad += k * _pow(self.data, k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> "Value":
        out = Value(_exp(self.data), (self,), "exp")

        def _backward():  # d(e^a)/da = e^a
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log needs a positive argument, got {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():  # d(log a)/da = 1/a
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():  # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> "Value":
        s = 1 / (1 + _exp(-self.data)) if self.data >= 0 else _exp(self.data) / (1 + _exp(self.data))
        out = Value(s, (self,), "sigmoid")

        def _backward():  # d(sigma a)/da = sigma(a)(1 - sigma(a))
            self.grad += out.data * (1 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():  # subgradient 0 at a = 0, as torch uses
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> "Value":
        out = Value(-self.data, (self,), "neg")

        def _backward():  # d(-a)/da = -1
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __sub__(self, other) -> "Value":
        return self + (-self._lift(other))

    def __truediv__(self, other) -> "Value":
        return self * self._lift(other) ** -1

    def __radd__(self, other) -> "Value":
        return self + other

    def __rmul__(self, other) -> "Value":
        return self * other

    def __rsub__(self, other) -> "Value":
        return self._lift(other) - self

    def __rtruediv__(self, other) -> "Value":
        return self._lift(other) / self

    def topological_order(self) -> list["Value"]:
        """Every node this value depends on, each after all of its inputs.

        A depth-first search with an explicit stack (not recursion), so a graph a million
        nodes deep is sorted as easily as a small one: each entry is a node and whether its
        inputs have already been pushed; a node is emitted on its second visit.
        """
        order, seen = [], set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            v, inputs_done = stack.pop()
            if inputs_done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((child, False) for child in reversed(v._prev) if id(child) not in seen)
        return order

    def backward(self) -> None:
        """Fill ``grad`` of every node with :math:`\\partial\\,\\text{self} / \\partial\\,\\text{node}`."""
        order = self.topological_order()
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            v._backward()

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"


def plot_graph(root: Value, ax=None):
    """Draw the computational graph of ``root``: inputs on the left, ``root`` on the right.

    Each node shows its label (or operation), its forward value and, after
    ``root.backward()``, its gradient.
    """
    import matplotlib.pyplot as plt

    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order = root.topological_order()
    depth: dict[int, int] = {}
    for v in order:  # longest path from an input decides the column
        depth[id(v)] = 1 + max((depth[id(c)] for c in v._prev), default=-1)
    columns: dict[int, list[Value]] = {}
    for v in order:
        columns.setdefault(depth[id(v)], []).append(v)
    pos = {}
    for col, nodes in columns.items():
        for row, v in enumerate(nodes):
            pos[id(v)] = (col, row - (len(nodes) - 1) / 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 * (len(columns) + 1), 0.9 * (max(map(len, columns.values())) + 1)))
    for v in order:
        for child in v._prev:
            (x0, y0), (x1, y1) = pos[id(child)], pos[id(v)]
            ax.annotate("", xy=(x1 - 0.28, y1), xytext=(x0 + 0.28, y0),
                        arrowprops=dict(arrowstyle="->", color="0.5", lw=1.2))
    for v in order:
        x, y = pos[id(v)]
        name = v.label or v._op or "const"
        ax.text(x, y, f"{name}\n{v.data:.3g}\ngrad {v.grad:.3g}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.4", fc="#e8f1f8" if v._prev else "#fdf0e6", ec="0.4"))
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(min(p[1] for p in pos.values()) - 0.7, max(p[1] for p in pos.values()) + 0.7)
    ax.axis("off")
    return ax
