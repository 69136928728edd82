r"""Exponentially weighted averages (指数加权平均), the building block of momentum, RMSProp and Adam.

.. math::

    v_0 = 0, \qquad v_t = \beta\, v_{t-1} + (1-\beta)\, x_t
        = (1-\beta) \sum_{i=1}^{t} \beta^{\,t-i} x_i

The weights sum to :math:`1-\beta^t`, not 1, so early averages are pulled toward the zero
start; dividing by :math:`1-\beta^t` (bias correction, Kingma & Ba 2015, §3) makes them a true
weighted mean. The average remembers roughly the last :math:`1/(1-\beta)` inputs.

Dtypes: a tensor ``xs`` is averaged in its own floating-point dtype (half precision included,
so an fp16 average rounds at every step as an fp16 ``exp_avg`` would); lists and arrays become
float64, integer tensors the default dtype.
"""
from __future__ import annotations

import numpy as np
import torch

from ._base import flag, in_unit_interval

__all__ = ["ewa"]


def ewa(xs, beta: float, bias_correction: bool = True) -> torch.Tensor:
    r"""Running exponentially weighted average of ``xs`` along its first axis.

    .. math:: v_t = \beta\, v_{t-1} + (1-\beta)\, x_t, \quad v_0 = 0, \qquad
              \hat v_t = \frac{v_t}{1-\beta^t} \ \text{(if bias\_correction)}

    ``xs`` is a tensor, array or list of shape ``(T, ...)``; returns a float tensor of the same
    shape whose row ``t-1`` is :math:`\hat v_t` (or :math:`v_t`).

    Matches: Adam's ``exp_avg`` state (``bias_correction=False``, ``beta=beta1``) after steps on
    gradients ``xs``; ``pandas.Series(xs).ewm(alpha=1-beta, adjust=True).mean()`` with
    ``bias_correction=True``.
    """
    if isinstance(xs, torch.Tensor):
        x = xs.detach()
    elif isinstance(xs, (list, tuple, np.ndarray)):
        x = torch.as_tensor(np.asarray(xs, dtype=np.float64))
    else:
        raise TypeError(f"xs must be a tensor, array or list, got {type(xs).__name__}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"xs must have at least one entry along its first axis, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    beta = in_unit_interval("beta", beta)
    flag("bias_correction", bias_correction)
    out = torch.empty_like(x)
    v = torch.zeros_like(x[0])
    for t in range(1, x.shape[0] + 1):
        v = beta * v + (1 - beta) * x[t - 1]
        out[t - 1] = v / (1 - beta**t) if bias_correction else v
    return out
