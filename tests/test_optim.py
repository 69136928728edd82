"""dlnotes.optim against torch.optim: same iterates in float64, same state, same validation."""
from __future__ import annotations

import copy

import pytest
import torch

from dlnotes import optim

# One table: (our class, torch class, learning rate, options). Every case runs on an MLP and on a
# random quadratic, with two parameter groups (the second with half the lr and weight decay
# toggled), for 100 steps, and must match torch to 1e-10 relative.
CASES = [
    (optim.SGD, torch.optim.SGD, 0.05, {}),
    (optim.SGD, torch.optim.SGD, 0.05, {"momentum": 0.9}),
    (optim.SGD, torch.optim.SGD, 0.05, {"momentum": 0.9, "dampening": 0.5}),
    (optim.SGD, torch.optim.SGD, 0.05, {"momentum": 0.9, "nesterov": True}),
    (optim.SGD, torch.optim.SGD, 0.05, {"momentum": 0.5, "weight_decay": 0.1}),
    (optim.SGD, torch.optim.SGD, 0.01, {"momentum": 0.9, "maximize": True}),
    (optim.Adagrad, torch.optim.Adagrad, 0.1, {}),
    (optim.Adagrad, torch.optim.Adagrad, 0.1, {"lr_decay": 0.01, "weight_decay": 0.1}),
    (optim.Adagrad, torch.optim.Adagrad, 0.1, {"initial_accumulator_value": 0.5, "eps": 1e-3}),
    (optim.RMSprop, torch.optim.RMSprop, 0.01, {}),
    (optim.RMSprop, torch.optim.RMSprop, 0.01, {"alpha": 0.9, "weight_decay": 0.1}),
    (optim.RMSprop, torch.optim.RMSprop, 0.01, {"centered": True}),
    (optim.RMSprop, torch.optim.RMSprop, 0.005, {"momentum": 0.9}),
    (optim.RMSprop, torch.optim.RMSprop, 0.005, {"momentum": 0.9, "centered": True, "eps": 1e-4}),
    (optim.Adadelta, torch.optim.Adadelta, 1.0, {}),
    (optim.Adadelta, torch.optim.Adadelta, 0.5, {"rho": 0.95, "weight_decay": 0.1}),
    (optim.Adadelta, torch.optim.Adadelta, 2.0, {"eps": 1e-4, "maximize": True}),
    (optim.Adam, torch.optim.Adam, 0.01, {}),
    (optim.Adam, torch.optim.Adam, 0.01, {"amsgrad": True}),
    (optim.Adam, torch.optim.Adam, 0.01, {"betas": (0.5, 0.9), "eps": 1e-3}),
    (optim.Adam, torch.optim.Adam, 0.01, {"weight_decay": 0.1}),
    (optim.Adam, torch.optim.Adam, 0.01, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    (optim.AdamW, torch.optim.AdamW, 0.01, {}),
    (optim.AdamW, torch.optim.AdamW, 0.01, {"weight_decay": 0.1, "amsgrad": True}),
    (optim.NAdam, torch.optim.NAdam, 0.01, {}),
    (optim.NAdam, torch.optim.NAdam, 0.01, {"weight_decay": 0.1, "momentum_decay": 0.01}),
    (optim.NAdam, torch.optim.NAdam, 0.01, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
]


def case_id(case) -> str:
    ours, _, lr, options = case
    return f"{ours.__name__}-lr{lr}-" + ("-".join(f"{k}={v}" for k, v in options.items()) or "default")


def mlp_problem(seed: int):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    x = torch.randn(32, 5, generator=g, dtype=torch.float64)
    y = torch.randn(32, 3, generator=g, dtype=torch.float64)
    params = [list(model[0].parameters()), list(model[2].parameters())]
    return params, lambda: torch.nn.functional.mse_loss(model(x), y)


def quadratic_problem(seed: int):
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))[0]
    A = q @ torch.diag(torch.logspace(-1, 1, 6, dtype=torch.float64)) @ q.T
    b = torch.randn(6, generator=g, dtype=torch.float64)
    x1 = torch.randn(3, generator=g, dtype=torch.float64).requires_grad_()
    x2 = torch.randn(3, generator=g, dtype=torch.float64).requires_grad_()

    def loss():
        x = torch.cat([x1, x2])
        return 0.5 * x @ A @ x - b @ x

    return [[x1], [x2]], loss


PROBLEMS = {"mlp": mlp_problem, "quadratic": quadratic_problem}


def make(cls, lr, options, params):
    """Two parameter groups; the second has half the lr and the other weight-decay setting."""
    wd = options.get("weight_decay", 0)
    second = {"params": params[1], "lr": lr / 2}
    if cls not in (optim.AdamW, torch.optim.AdamW) or wd:
        second["weight_decay"] = 0.0 if wd else 0.05
    extra = {"foreach": False} if cls.__module__.startswith("torch") else {}
    return cls([{"params": params[0]}, second], lr=lr, **options, **extra)


def run(cls, lr, options, problem, seed, steps=100, closure=False):
    params, loss_fn = PROBLEMS[problem](seed)
    opt = make(cls, lr, options, params)
    for _ in range(steps):
        def step_closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss
        if closure:
            opt.step(step_closure)
        else:
            step_closure()
            opt.step()
    return [p.detach().clone() for group in params for p in group], opt


def rel_err(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(((x - y).abs().max() / y.abs().max().clamp_min(1e-300)).item() for x, y in zip(a, b))


@pytest.mark.parametrize("problem", ["mlp", "quadratic"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_for_100_steps(case, problem):
    ours_cls, torch_cls, lr, options = case
    ours, _ = run(ours_cls, lr, options, problem, seed=1)
    theirs, _ = run(torch_cls, lr, options, problem, seed=1)
    start, _ = run(torch_cls, lr, options, problem, seed=1, steps=0)
    assert all(torch.isfinite(p).all() for p in theirs)
    assert rel_err(theirs, start) > 1e-3, "the run must actually move the parameters"
    assert rel_err(ours, theirs) < 1e-10


@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_closure_is_evaluated_and_its_loss_returned(case):
    ours_cls, torch_cls, lr, options = case
    ours, _ = run(ours_cls, lr, options, "mlp", seed=2, steps=20, closure=True)
    theirs, _ = run(torch_cls, lr, options, "mlp", seed=2, steps=20, closure=True)
    assert rel_err(ours, theirs) < 1e-10
    params, loss_fn = mlp_problem(3)
    opt = make(ours_cls, lr, options, params)
    opt.zero_grad()
    expected = loss_fn()
    assert opt.step(lambda: loss_fn()).item() == pytest.approx(expected.item(), rel=1e-12)


def _state_handoff(first_cls, second_cls, lr, options, seed=4):
    """Run 50 steps with first_cls, move its state_dict into a fresh second_cls, run 50 more."""
    params, loss_fn = mlp_problem(seed)
    opt = make(first_cls, lr, options, params)
    for step in range(100):
        if step == 50:
            saved = copy.deepcopy(opt.state_dict())
            opt = make(second_cls, lr, options, params)
            opt.load_state_dict(saved)
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return [p.detach().clone() for group in params for p in group]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trips_and_interoperates_with_torch(case):
    ours_cls, torch_cls, lr, options = case
    reference = _state_handoff(torch_cls, torch_cls, lr, options)
    assert rel_err(_state_handoff(ours_cls, ours_cls, lr, options), reference) < 1e-10
    assert rel_err(_state_handoff(torch_cls, ours_cls, lr, options), reference) < 1e-10
    assert rel_err(_state_handoff(ours_cls, torch_cls, lr, options), reference) < 1e-10


@pytest.mark.parametrize("case", CASES[::4], ids=case_id)
def test_a_parameter_without_gradient_is_left_alone(case):
    ours_cls, _, lr, options = case
    frozen = torch.randn(4, dtype=torch.float64, requires_grad=True)
    before = frozen.detach().clone()
    params, loss_fn = mlp_problem(5)
    opt = make(ours_cls, lr, options, [params[0] + [frozen], params[1]])
    for _ in range(3):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    assert torch.equal(frozen.detach(), before)
    assert frozen not in opt.state


@pytest.mark.parametrize(
    "ours_cls, torch_cls",
    [(optim.SGD, torch.optim.SGD), (optim.Adagrad, torch.optim.Adagrad),
     (optim.RMSprop, torch.optim.RMSprop), (optim.Adadelta, torch.optim.Adadelta),
     (optim.Adam, torch.optim.Adam), (optim.AdamW, torch.optim.AdamW),
     (optim.NAdam, torch.optim.NAdam)],
)
def test_defaults_mirror_torch(ours_cls, torch_cls):
    p = [torch.zeros(1, requires_grad=True)]
    ours, theirs = ours_cls(p), torch_cls(p)
    for key, value in ours.defaults.items():
        assert theirs.defaults[key] == value, key
    assert "lr" in ours.defaults


def test_nesterov_without_momentum_is_rejected():
    p = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="dampening"):
        optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)


BAD = [
    (optim.SGD, {"lr": -0.1}, ValueError, "lr must be non-negative, got -0.1"),
    (optim.SGD, {"momentum": -0.5}, ValueError, "momentum must be non-negative, got -0.5"),
    (optim.SGD, {"weight_decay": -1}, ValueError, "weight_decay must be non-negative"),
    (optim.SGD, {"lr": "0.1"}, TypeError, "lr must be a real number, got str"),
    (optim.SGD, {"lr": float("nan")}, ValueError, "lr must be a number, got nan"),
    (optim.SGD, {"nesterov": 1}, TypeError, "nesterov must be a bool"),
    (optim.Adagrad, {"lr_decay": -1}, ValueError, "lr_decay must be non-negative"),
    (optim.Adagrad, {"initial_accumulator_value": -1}, ValueError, "initial_accumulator_value"),
    (optim.Adagrad, {"eps": -1e-10}, ValueError, "eps must be non-negative"),
    (optim.RMSprop, {"alpha": 1.5}, ValueError, r"alpha must be in \[0, 1\], got 1.5"),
    (optim.RMSprop, {"alpha": -0.1}, ValueError, "alpha must be in"),
    (optim.RMSprop, {"eps": -1}, ValueError, "eps must be non-negative"),
    (optim.RMSprop, {"centered": "yes"}, TypeError, "centered must be a bool"),
    (optim.Adadelta, {"rho": 1.1}, ValueError, r"rho must be in \[0, 1\], got 1.1"),
    (optim.Adadelta, {"lr": -1}, ValueError, "lr must be non-negative"),
    (optim.Adam, {"betas": (1.0, 0.999)}, ValueError, r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (optim.Adam, {"betas": (0.9, -0.1)}, ValueError, r"betas\[1\] must be in \[0, 1\), got -0.1"),
    (optim.Adam, {"betas": 0.9}, TypeError, "betas must be a pair"),
    (optim.Adam, {"eps": -1e-8}, ValueError, "eps must be non-negative, got -1e-08"),
    (optim.Adam, {"amsgrad": None}, TypeError, "amsgrad must be a bool"),
    (optim.AdamW, {"weight_decay": -0.01}, ValueError, "weight_decay must be non-negative"),
    (optim.AdamW, {"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (optim.NAdam, {"momentum_decay": -1}, ValueError, "momentum_decay must be non-negative"),
    (optim.NAdam, {"betas": (-0.1, 0.9)}, ValueError, r"betas\[0\]"),
    (optim.MomentumTextbook, {"gamma": 1.0}, ValueError, r"gamma must be in \[0, 1\)"),
    (optim.NesterovLookahead, {"lr": -1}, ValueError, "lr must be non-negative"),
]


@pytest.mark.parametrize("cls, kwargs, exc, message", BAD,
                         ids=[f"{c.__name__}-{next(iter(k))}" for c, k, _, _ in BAD])
def test_invalid_hyperparameters_are_rejected(cls, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        cls([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("torch_cls, kwargs", [
    (torch.optim.SGD, {"lr": -0.1}), (torch.optim.Adam, {"betas": (1.0, 0.999)}),
    (torch.optim.Adam, {"eps": -1e-8}), (torch.optim.RMSprop, {"alpha": -0.1}),
    (torch.optim.Adadelta, {"rho": 1.1}), (torch.optim.Adagrad, {"lr_decay": -1}),
])
def test_torch_rejects_the_same_values(torch_cls, kwargs):
    """The rules above are torch's rules: it raises ValueError on the same inputs."""
    with pytest.raises(ValueError):
        torch_cls([torch.zeros(2, requires_grad=True)], **kwargs)


def test_sparse_gradients_are_rejected():
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.zeros(3).to_sparse()
    with pytest.raises(RuntimeError, match="sparse"):
        optim.Adam([p]).step()
