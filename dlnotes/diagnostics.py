r"""Look at gradients, and cap them: per-layer norms, clipping, and finding inf/NaN.

Vanishing and exploding gradients are visible in one number per layer,
:math:`\lVert\partial L/\partial W_\ell\rVert`, read after a backward pass
(:func:`layer_grad_norms`). The usual cure for explosions is clipping (Pascanu, Mikolov &
Bengio, 2013, *On the difficulty of training recurrent neural networks*): rescale the whole
gradient when its norm exceeds a threshold (:func:`clip_grad_norm`, direction kept) or clamp
each entry (:func:`clip_grad_value`, direction changed). When a run has already produced NaN,
:func:`find_nonfinite` says which parameters, gradients or buffers hold it, and
:func:`dead_relu_fraction` measures the other failure of rectifiers: units that never fire.

Dtypes: gradients and parameters of any floating-point or complex dtype, on any device; norms
are computed by ``torch.linalg.vector_norm`` in the gradients' dtype (torch accumulates half
precision in float32) and returned in it. :func:`find_nonfinite` counts inf and NaN in
floating-point and complex tensors (a complex entry is non-finite when either part is).
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

import torch
from torch import nn

__all__ = ["layer_grad_norms", "clip_grad_norm", "clip_grad_value", "find_nonfinite",
           "dead_relu_fraction"]


def _check_module(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _check_norm_type(norm_type) -> float:
    if isinstance(norm_type, str) and norm_type == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a positive number or 'inf', got {norm_type!r}")
    if math.isnan(norm_type) or norm_type <= 0:
        raise ValueError(f"norm_type must be positive (or inf), got {norm_type}")
    return float(norm_type)


def _grads(parameters) -> list[torch.Tensor]:
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(
            f"parameters must be a tensor or an iterable of tensors, got {type(parameters).__name__}"
        ) from None
    for i, p in enumerate(parameters):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"parameters[{i}] must be a torch.Tensor, got {type(p).__name__}")
    return [p.grad for p in parameters if p.grad is not None]


_INCLUDE = ("all", "weight", "bias")


def layer_grad_norms(model: nn.Module, norm_type: float = 2.0, include: str = "all") -> dict[str, float]:
    r"""Norm of the gradient of each module's own parameters, in the order of ``named_modules``.

    .. math:: \text{all: } \Bigl\lVert\bigl(\operatorname{vec}\nabla_{W_\ell}L,\;
              \operatorname{vec}\nabla_{b_\ell}L\bigr)\Bigr\rVert_p, \qquad
              \text{weight: } \lVert\nabla_{W_\ell}L\rVert_p, \qquad
              \text{bias: } \lVert\nabla_{b_\ell}L\rVert_p

    ``include`` picks the module's parameters: ``"all"`` of them, or only the one named
    ``weight`` (or ``bias``). Weight and bias gradients scale differently with depth (a bias
    gradient is the sum of the back-propagated signal, a weight gradient its product with the
    layer's input), so a vanishing-gradient measurement should not mix them. Only modules that
    own a matching parameter with a ``.grad`` appear (keys are module names, ``""`` for the
    root). Call it after ``loss.backward()``.

    Matches: ``{name: torch.nn.utils.get_total_norm([p.grad for p in m.parameters(recurse=False)], norm_type)}``
    (``include="all"``), and ``torch.linalg.vector_norm(m.weight.grad, norm_type)`` (``"weight"``).
    """
    model = _check_module(model)
    norm_type = _check_norm_type(norm_type)
    if include not in _INCLUDE:
        raise ValueError(f"include must be one of {_INCLUDE}, got {include!r}")
    norms: dict[str, float] = {}
    for name, module in model.named_modules():
        grads = [p.grad for pname, p in module.named_parameters(recurse=False)
                 if p.grad is not None and include in ("all", pname)]
        if grads:
            per_tensor = torch.stack([torch.linalg.vector_norm(g, norm_type) for g in grads])
            norms[name] = torch.linalg.vector_norm(per_tensor, norm_type).item()
    if not norms and any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no gradients yet: call loss.backward() before layer_grad_norms")
    return norms


def clip_grad_norm(parameters: torch.Tensor | Iterable[torch.Tensor], max_norm: float,
                   norm_type: float = 2.0, error_if_nonfinite: bool = False) -> torch.Tensor:
    r"""Rescale all gradients together so that their joint norm is at most ``max_norm``.

    .. math:: \lVert g\rVert_p = \Bigl\lVert\bigl(\lVert g_1\rVert_p, \dots, \lVert g_k\rVert_p\bigr)\Bigr\rVert_p,
              \qquad g \leftarrow g\cdot\min\Bigl(1,\ \frac{\tau}{\lVert g\rVert_p + 10^{-6}}\Bigr)

    The direction of the update is unchanged; only its length is capped at
    :math:`\tau` = ``max_norm``. Returns the total norm *before* clipping.

    Matches: ``torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)``.
    Differences: torch accepts ``max_norm <= 0`` (and zeroes or flips the gradient); here it is
    an error. The textbook form :math:`g/\max(1, \lVert g\rVert/\tau)` omits the :math:`10^{-6}`.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"max_norm must be a positive number, got {max_norm!r}")
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm_type = _check_norm_type(norm_type)
    grads = _grads(parameters)
    if not grads:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]
    total_norm = torch.linalg.vector_norm(torch.stack([n.to(grads[0].device) for n in norms]),
                                          norm_type)
    if error_if_nonfinite and not torch.isfinite(total_norm):
        raise RuntimeError(f"the total gradient norm is {total_norm.item()}, so it cannot be clipped")
    clip_coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    with torch.no_grad():
        for g in grads:
            g.mul_(clip_coef.to(g.device))
    return total_norm


def clip_grad_value(parameters: torch.Tensor | Iterable[torch.Tensor], clip_value: float) -> None:
    r"""Clamp every gradient entry to :math:`[-c, c]`, in place.

    .. math:: g_i \leftarrow \min(\max(g_i, -c), c)

    Unlike norm clipping this changes the gradient's direction whenever some entries are
    clamped and others are not.

    Matches: ``torch.nn.utils.clip_grad_value_(parameters, clip_value)``.
    Differences: torch accepts ``clip_value <= 0``; here it is an error.
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_value must be a positive number, got {clip_value!r}")
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    with torch.no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)


def find_nonfinite(model: nn.Module) -> dict[str, int]:
    r"""Where a model holds inf or NaN: ``{name: number of non-finite entries}``.

    Names are parameter names (``"net.0.weight"``), their gradients (``"net.0.weight.grad"``)
    and buffers such as batch-norm running statistics (``"bn.running_var"``). An empty dict
    means everything is finite.
    """
    model = _check_module(model)
    found: dict[str, int] = {}

    def record(name: str, t: torch.Tensor | None) -> None:
        if t is not None and (t.is_floating_point() or t.is_complex()):
            count = int((~torch.isfinite(t)).sum().item())
            if count:
                found[name] = count

    for name, p in model.named_parameters():
        record(name, p.detach())
        record(f"{name}.grad", p.grad)
    for name, b in model.named_buffers():
        record(name, b)
    return found


def dead_relu_fraction(model: nn.Module, inputs: torch.Tensor) -> dict[str, float]:
    r"""For each ``nn.ReLU`` module, the fraction of its units that output 0 on *every* input.

    .. math:: \text{dead}_\ell = \frac{1}{d_\ell}\sum_{j=1}^{d_\ell}
              \mathbb 1\bigl[\max_{n} a^{(n)}_{\ell j} \le 0\bigr]

    A dead unit gets zero gradient for every example of ``inputs`` (ReLU'(x) = 0 for
    :math:`x\le 0`), so gradient descent cannot revive it. ``inputs`` is one batch, shape
    ``(N, ...)``; units are the non-batch entries of each ReLU's output. A ReLU module called
    more than once in a forward pass (one ``nn.ReLU`` shared by several layers) gets one entry
    per call, ``"name[0]"``, ``"name[1]"``, ...: each call's units are different units. A
    ReLU that the forward pass never calls is left out.

    The model runs in the mode it is in, and its buffers (batch-norm running statistics) are
    restored afterwards, so measuring changes nothing in the model.
    """
    model = _check_module(model)
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.dim() < 2 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must be a non-empty batch of shape (N, ...), got {tuple(inputs.shape)}")
    relus = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model has no nn.ReLU modules to inspect")
    calls: dict[str, list[float]] = {name: [] for name, _ in relus}

    def hook(name):
        def record(module, args, output):
            alive = (output.detach().reshape(output.shape[0], -1) > 0).any(dim=0)
            calls[name].append(1.0 - alive.double().mean().item())
        return record

    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    handles = [m.register_forward_hook(hook(name)) for name, m in relus]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    fractions: dict[str, float] = {}
    for name, values in calls.items():
        if len(values) == 1:
            fractions[name] = values[0]
        else:
            fractions.update({f"{name}[{i}]": v for i, v in enumerate(values)})
    return fractions
