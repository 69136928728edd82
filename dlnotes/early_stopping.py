r"""Early stopping: end training when the validation metric stops improving, keep the best weights.

Training error keeps falling with more epochs; validation error falls, bottoms out and rises
once the model starts fitting noise. Early stopping (Prechelt, 1998; Goodfellow et al., 2016,
§7.8) watches the validation metric and stops after ``patience`` epochs without an improvement
larger than ``min_delta``, then restores the weights of the best epoch. For a linear model
trained by gradient descent, stopping after :math:`t` steps of size :math:`\eta` acts like an
L2 penalty with :math:`\lambda \approx 1/(t\eta)`: fewer steps, smaller weights.

Dtypes: the monitored value may be a Python or NumPy real or a one-element tensor (read with
``.item()``); the best value is kept as a Python float (float64).
"""
from __future__ import annotations

import copy
import math
import numbers

import torch
from torch import nn

__all__ = ["EarlyStopping"]


class EarlyStopping:
    r"""Stop when the monitored value has not improved for ``patience`` consecutive epochs.

    An epoch *improves* when

    .. math:: v_t < v_{\text{best}} - \text{min\_delta} \ (\text{mode}=\text{"min"}), \qquad
              v_t > v_{\text{best}} + \text{min\_delta} \ (\text{mode}=\text{"max"}).

    ``step(value, model)`` records one epoch and returns ``True`` once ``num_bad_epochs``
    reaches ``patience``; a NaN never improves. With ``restore_best`` the model's
    ``state_dict`` at the best epoch is kept and :meth:`restore` loads it back.

    Matches: Keras ``EarlyStopping(patience, min_delta, mode, restore_best_weights)`` and
    Lightning's ``EarlyStopping`` (stop when ``wait >= patience``); the improvement test is
    ``torch.optim.lr_scheduler.ReduceLROnPlateau``'s with ``threshold_mode="abs"``, whose first
    reduction with ``patience - 1`` comes at the epoch this class stops.
    Differences: ``ReduceLROnPlateau`` acts when ``num_bad_epochs > patience``, one epoch later.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min", restore_best: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral):
            raise TypeError(f"patience must be an int, got {type(patience).__name__}")
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if not isinstance(min_delta, numbers.Real) or isinstance(min_delta, bool):
            raise TypeError(f"min_delta must be a float, got {type(min_delta).__name__}")
        if not (min_delta >= 0 and math.isfinite(min_delta)):
            raise ValueError(f"min_delta must be finite and non-negative, got {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode, self.restore_best = patience, float(min_delta), mode, restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.epoch = -1
        self.num_bad_epochs = 0
        self.should_stop = False
        self.best_state: dict[str, torch.Tensor] | None = None

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value, model: nn.Module | None = None) -> bool:
        """Record the metric of one epoch (and snapshot ``model`` if it is the best so far)."""
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise ValueError(f"value must be a scalar, got a tensor of shape {tuple(value.shape)}")
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"value must be a number, got {type(value).__name__}")
        if model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got {type(model).__name__}")
        if self.should_stop:
            raise RuntimeError(f"step() called after stopping at epoch {self.epoch}; create a new EarlyStopping")
        self.epoch += 1
        if self.is_better(value):
            self.best, self.best_epoch, self.num_bad_epochs = float(value), self.epoch, 0
            if self.restore_best and model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.num_bad_epochs += 1
        self.should_stop = self.num_bad_epochs >= self.patience
        return self.should_stop

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights into ``model`` (no-op unless ``restore_best``)."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)
