r"""Dynamic loss scaling: keep small fp16 gradients above the underflow threshold.

Micikevicius et al. (2018), "Mixed Precision Training": gradients of many networks are
smaller than fp16's smallest subnormal :math:`2^{-24}` and flush to zero. Multiplying the loss
by :math:`S` multiplies every gradient by :math:`S` (the chain rule is linear), which shifts
them into range; dividing the fp32 gradients by :math:`S` before the update undoes it. A
*dynamic* scale starts large, halves whenever a gradient overflows (that step is skipped)
and doubles after ``growth_interval`` clean steps in a row.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Union

import torch

__all__ = ["GradScaler"]

Outputs = Union[torch.Tensor, Iterable[torch.Tensor]]


class GradScaler:
    r"""Dynamic loss scaler with the interface and update rule of ``torch.amp.GradScaler``.

    After each step, with :math:`k` the number of clean steps in a row:

    .. math::

        S \leftarrow \begin{cases}
            S \cdot \text{backoff\_factor}, \; k \leftarrow 0 & \text{if a gradient is inf/NaN (step skipped)} \\
            S \cdot \text{growth\_factor}, \; k \leftarrow 0 & \text{if } k + 1 = \text{growth\_interval} \\
            S, \; k \leftarrow k + 1 & \text{otherwise}
        \end{cases}

    Gradients are unscaled by multiplying with :math:`1/S` rounded to float32; the scale is
    kept in float32, each product computed in float64 and rounded once (a growth that would
    overflow float32 is not applied), as torch's kernel does.
    A static scale is ``GradScaler(init_scale=S, growth_interval=<more than the steps run>)``:
    it never grows and only changes if a gradient overflows.

    Matches: ``torch.amp.GradScaler(device, init_scale, growth_factor, backoff_factor,
    growth_interval, enabled)``: same scale sequence, same skipped steps, same parameters.

    Like torch, ``step()`` twice for the same optimizer before ``update()``, or ``unscale_()``
    after ``step()``, raises ``RuntimeError`` (a second step would apply the update twice).

    Dtypes: the scale is float32; gradients must be float32 or float64 (fp32 master weights)
    to be unscaled, since an fp16 gradient times :math:`1/S` underflows again.

    Differences: bad arguments raise ``ValueError`` (torch raises ``AssertionError`` for the
    factors); ``steps_skipped`` counts skipped steps (torch has no counter).
    """

    def __init__(
        self,
        device: str = "cpu",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if not isinstance(device, (str, torch.device)):
            raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
        for name, value in [("init_scale", init_scale), ("growth_factor", growth_factor),
                            ("backoff_factor", backoff_factor)]:  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not (math.isfinite(init_scale) and init_scale > 0):
            raise ValueError(f"init_scale must be positive and finite, got {init_scale}")
        if not growth_factor > 1.0:
            raise ValueError(f"growth_factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"backoff_factor must be in (0, 1), got {backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, numbers.Integral):
            raise TypeError(f"growth_interval must be an int, got {type(growth_interval).__name__}")
        if growth_interval < 1:
            raise ValueError(f"growth_interval must be a positive int, got {growth_interval}")
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
        self.device = torch.device(device)
        self._enabled = enabled
        self._scale = torch.tensor(float(init_scale), dtype=torch.float32)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._found_inf: dict[int, bool] = {}  # per optimizer, since its last unscale_
        self._stepped: set[int] = set()  # optimizers stepped since the last update()
        self.steps_skipped = 0

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return float(self._scale) if self._enabled else 1.0

    def get_growth_tracker(self) -> int:
        return self._growth_tracker

    def scale(self, outputs: Outputs) -> Outputs:
        """``outputs * S`` (a tensor, or a list/tuple of tensors); unchanged if disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, torch.Tensor):
            return outputs * self._scale.to(outputs.device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"outputs must be a Tensor or a list/tuple of Tensors, got {type(outputs).__name__}")

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        r"""Divide every gradient of ``optimizer`` by :math:`S` in place; note any inf/NaN."""
        if not self._enabled:
            return
        if id(optimizer) in self._stepped:
            raise RuntimeError("unscale_() is being called after step(); call update() first")
        if id(optimizer) in self._found_inf:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update()")
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = False
        with torch.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype == torch.float16:
                        raise ValueError(
                            "gradients must be fp32 to unscale (keep fp32 master weights), "
                            f"got dtype {p.grad.dtype}"
                        )
                    found_inf |= not bool(torch.isfinite(p.grad).all())
                    p.grad.mul_(inv_scale.to(p.grad.device))
        self._found_inf[id(optimizer)] = found_inf

    def step(self, optimizer: torch.optim.Optimizer, *args, **kwargs):
        """Unscale (if not done yet) and run ``optimizer.step()`` unless a gradient was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) in self._stepped:
            raise RuntimeError("step() has already been called since the last update()")
        if id(optimizer) not in self._found_inf:
            self.unscale_(optimizer)
        self._stepped.add(id(optimizer))
        if self._found_inf[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Apply the rule above (or set the scale to ``new_scale``) and start a new iteration."""
        if not self._enabled:
            return
        if new_scale is not None:
            if not (isinstance(new_scale, numbers.Real) and not isinstance(new_scale, bool)
                    and math.isfinite(new_scale) and new_scale > 0):
                raise ValueError(f"new_scale must be a positive finite number, got {new_scale!r}")
            self._scale = torch.tensor(float(new_scale), dtype=torch.float32)
        else:
            if not self._found_inf:
                raise RuntimeError("update() needs a step() or unscale_() since the last update()")
            if any(self._found_inf.values()):
                self._scale = _float32(float(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
                self.steps_skipped += 1
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = _float32(float(self._scale) * self._growth_factor)
                if torch.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._found_inf = {}
        self._stepped = set()


def _float32(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64).to(torch.float32)
