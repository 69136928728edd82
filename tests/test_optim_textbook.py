"""The notes' textbook forms of momentum and Nesterov against torch's SGD, and Adam's invariances."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes import optim


def quadratic(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))[0]
    A = q @ torch.diag(torch.logspace(-1, 0.5, 5, dtype=torch.float64)) @ q.T
    b = torch.randn(5, generator=g, dtype=torch.float64)
    x0 = torch.randn(5, generator=g, dtype=torch.float64)
    return (lambda x: 0.5 * x @ A @ x - b @ x), x0


def trajectory(make_opt, steps=100, lr_change=None, seed=0, lookahead_of=None):
    """Iterates of an optimizer on a random quadratic; lr_change = (step, new_lr)."""
    f, x0 = quadratic(seed)
    x = x0.clone().requires_grad_()
    opt = make_opt([x])
    points = []
    for t in range(steps):
        if lr_change and t == lr_change[0]:
            for group in opt.param_groups:
                group["lr"] = lr_change[1]

        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss
        opt.step(closure)
        point = x.detach().clone()
        if lookahead_of is not None:          # theta + gamma v: NesterovLookahead's look-ahead point
            point = point + lookahead_of * opt.state[x]["velocity"]
        points.append(point)
    return torch.stack(points)


def rel(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


LR, GAMMA = 0.1, 0.9


def test_notes_momentum_equals_torch_momentum_at_constant_lr():
    ours = trajectory(lambda p: optim.MomentumTextbook(p, lr=LR, gamma=GAMMA))
    torch_sgd = trajectory(lambda p: torch.optim.SGD(p, lr=LR, momentum=GAMMA))
    assert rel(ours, torch_sgd) < 1e-12


def test_notes_momentum_departs_from_torch_when_lr_changes():
    change = (30, LR / 10)
    ours = trajectory(lambda p: optim.MomentumTextbook(p, lr=LR, gamma=GAMMA), lr_change=change)
    torch_sgd = trajectory(lambda p: torch.optim.SGD(p, lr=LR, momentum=GAMMA), lr_change=change)
    assert rel(ours[:30], torch_sgd[:30]) < 1e-12
    assert rel(ours[30:], torch_sgd[30:]) > 1e-2


def test_ema_momentum_is_torch_momentum_with_lr_times_one_minus_gamma():
    ours = trajectory(lambda p: optim.MomentumTextbook(p, lr=LR, gamma=GAMMA, ema=True))
    torch_sgd = trajectory(lambda p: torch.optim.SGD(p, lr=LR * (1 - GAMMA), momentum=GAMMA))
    assert rel(ours, torch_sgd) < 1e-12


def test_ema_momentum_is_not_torch_dampening_because_of_the_first_step():
    ours = trajectory(lambda p: optim.MomentumTextbook(p, lr=LR, gamma=GAMMA, ema=True))
    damped = trajectory(lambda p: torch.optim.SGD(p, lr=LR, momentum=GAMMA, dampening=GAMMA))
    f, x0 = quadratic(0)
    x = x0.clone().requires_grad_()
    f(x).backward()
    g1 = x.grad
    # torch's first step uses b_1 = g_1, ours (1 - gamma) g_1: the steps differ by a factor 10.
    torch_step, our_step = damped[0] - x0, ours[0] - x0
    assert torch.allclose(torch_step, -LR * g1, rtol=1e-12)
    assert torch.allclose(our_step, -LR * (1 - GAMMA) * g1, rtol=1e-12)
    assert rel(ours[-1], damped[-1]) > 1e-3


def test_lookahead_nesterov_points_are_torch_nesterov_iterates():
    lookahead = trajectory(lambda p: optim.NesterovLookahead(p, lr=LR, gamma=GAMMA), lookahead_of=GAMMA)
    torch_nag = trajectory(lambda p: torch.optim.SGD(p, lr=LR, momentum=GAMMA, nesterov=True))
    assert rel(lookahead, torch_nag) < 1e-12


def test_lookahead_nesterov_departs_from_torch_when_lr_changes():
    change = (30, LR / 10)
    lookahead = trajectory(lambda p: optim.NesterovLookahead(p, lr=LR, gamma=GAMMA),
                           lookahead_of=GAMMA, lr_change=change)
    torch_nag = trajectory(lambda p: torch.optim.SGD(p, lr=LR, momentum=GAMMA, nesterov=True),
                           lr_change=change)
    assert rel(lookahead[:30], torch_nag[:30]) < 1e-12
    assert rel(lookahead[30:], torch_nag[30:]) > 1e-2


def test_lookahead_nesterov_needs_a_closure():
    with pytest.raises(ValueError, match="closure is required"):
        optim.NesterovLookahead([torch.zeros(2, requires_grad=True)], lr=0.1).step()


def test_lookahead_nesterov_returns_the_loss_at_the_lookahead_point():
    f, x0 = quadratic(1)
    x = x0.clone().requires_grad_()
    opt = optim.NesterovLookahead([x], lr=LR, gamma=GAMMA)
    for _ in range(3):
        before = x.detach().clone()
        v = opt.state[x]["velocity"].clone() if opt.state[x] else torch.zeros_like(before)

        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss
        loss = opt.step(closure)
        assert loss.item() == pytest.approx(f(before + GAMMA * v).item(), rel=1e-12)


def test_notes_rmsprop_is_torch_rmsprop_with_alpha_0_9_up_to_eps_placement():
    """Seed B/E: s = 0.9 s + 0.1 g^2, theta -= lr g / sqrt(s + eps). Torch: sqrt(s) + eps."""
    f, x0 = quadratic(2)
    x = x0.clone().requires_grad_()
    opt = torch.optim.RMSprop([x], lr=0.01, alpha=0.9, eps=0.0)
    theta, s = x0.clone(), torch.zeros_like(x0)
    for _ in range(100):
        opt.zero_grad()
        f(x).backward()
        opt.step()
        g = torch.func.grad(f)(theta)
        s = 0.9 * s + 0.1 * g**2
        theta = theta - 0.01 * g / torch.sqrt(s + 0.0)
    assert rel(theta, x.detach()) < 1e-10
    assert torch.optim.RMSprop([x]).defaults["alpha"] == 0.99


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**16))
def test_adam_steps_are_invariant_to_rescaling_the_gradient(scale, seed):
    """Seed A's "updates are unaffected by rescaling the gradient": exact when eps = 0."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(4, generator=g, dtype=torch.float64)
    points = []
    for c in (1.0, scale):
        x = torch.zeros(4, dtype=torch.float64, requires_grad=True)
        opt = optim.Adam([x], lr=0.1, eps=0.0)
        for t in range(20):
            opt.zero_grad()
            (c * (w @ x + 0.5 * (t % 3) * x @ x)).backward()
            opt.step()
        points.append(x.detach().clone())
    assert torch.allclose(points[0], points[1], rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(grad=st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=1, max_size=6),
       lr=st.floats(1e-4, 1.0))
def test_adam_first_step_is_bounded_by_lr(grad, lr):
    """Seed A's "step sizes are bounded by the learning rate": |step 1| = lr |g| / (|g| + eps) <= lr."""
    x = torch.zeros(len(grad), dtype=torch.float64, requires_grad=True)
    x.grad = torch.tensor(grad, dtype=torch.float64)
    optim.Adam([x], lr=lr).step()
    assert (x.detach().abs() <= lr * (1 + 1e-12)).all()


def test_adam_steps_can_exceed_lr_later():
    """Not a guarantee after step 1: a large gradient after a long run of small ones makes
    |m_hat| / sqrt(v_hat) > 1, so the step exceeds lr (here by about a third)."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([x], lr=1.0, betas=(0.9, 0.999))
    steps = []
    for t in range(200):
        before = x.detach().clone()
        x.grad = torch.tensor([1e-3 if t < 199 else 1.0], dtype=torch.float64)
        opt.step()
        steps.append((x.detach() - before).abs().item())
    assert max(steps) > 1.0
