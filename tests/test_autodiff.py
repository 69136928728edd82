"""dlnotes.autodiff.Value against torch.autograd: the same expressions written twice, in float64."""
import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.autodiff import Value

UNARY = ["tanh", "sigmoid", "exp", "relu", "square", "neg"]
BINARY = ["add", "sub", "mul", "div"]


def build(rng: random.Random, leaves, depth: int, lib: str):
    """Build the same random expression over `leaves` with Value (lib='v') or torch (lib='t')."""
    if depth == 0:
        return leaves[rng.randrange(len(leaves))]
    if rng.random() < 0.4:
        op = rng.choice(UNARY)
        a = build(rng, leaves, depth - 1, lib)
        if op == "square":
            return a**2
        if op == "neg":
            return -a
        if op == "exp":  # keep values moderate
            return (a * 0.1).exp() if lib == "v" else torch.exp(a * 0.1)
        return getattr(a, op)() if lib == "v" else getattr(torch, op)(a)
    op = rng.choice(BINARY)
    a = build(rng, leaves, depth - 1, lib)
    b = build(rng, leaves, depth - 1, lib)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    return a / (b * b + 1.0)  # never divide by zero


@pytest.mark.parametrize("seed", range(40))
def test_random_expression_matches_torch(seed):
    values = [random.Random(seed).uniform(-2, 2) for _ in range(4)]
    vs = [Value(v) for v in values]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out_v = build(random.Random(seed), vs, 4, "v")
    out_t = build(random.Random(seed), ts, 4, "t")
    assert isinstance(out_v, Value) and out_v._op  # the root is always an operation
    out_v.backward()
    out_t.backward()
    assert out_v.data == pytest.approx(out_t.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(vs, ts):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_worked_example_by_hand():
    """f = (a*b + c) * tanh(a): each gradient derived by the chain rule."""
    a, b, c = Value(0.5), Value(-1.5), Value(2.0)
    f = (a * b + c) * a.tanh()
    f.backward()
    t = math.tanh(0.5)
    assert f.data == pytest.approx((0.5 * -1.5 + 2.0) * t)
    assert a.grad == pytest.approx(-1.5 * t + (0.5 * -1.5 + 2.0) * (1 - t**2))
    assert b.grad == pytest.approx(0.5 * t)
    assert c.grad == pytest.approx(t)


def test_shared_node_accumulates_gradient():
    x = Value(3.0)
    y = x * x + x  # x used three times
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_backward_twice_gives_the_same_gradients():
    x = Value(1.3)
    y = (x * 2).tanh() * x
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    order = d.topological_order()
    assert order.index(a) < order.index(c) < order.index(d)
    assert order.index(b) < order.index(c)
    assert len(order) == 4


@settings(max_examples=100, deadline=None)
@given(x=st.floats(-30, 30))
def test_sigmoid_is_stable_and_matches_torch(x):
    v = Value(x)
    s = v.sigmoid()
    s.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ts = torch.sigmoid(t)
    ts.backward()
    assert s.data == pytest.approx(ts.item(), rel=1e-12, abs=1e-300)
    assert v.grad == pytest.approx(t.grad.item(), rel=1e-9, abs=1e-300)


def test_log_and_rdiv_match_torch():
    v = Value(1.7)
    out = (3.0 / v).log() - 2.0 * v
    out.backward()
    t = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    ref = torch.log(3.0 / t) - 2.0 * t
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12)
    assert v.grad == pytest.approx(t.grad.item(), rel=1e-12)


def test_bad_input():
    with pytest.raises(TypeError, match="data must be a real number .*, got str"):
        Value("1.0")
    with pytest.raises(TypeError, match="exponent must be a constant"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="log needs a positive argument, got -1.0"):
        Value(-1.0).log()


def test_plot_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    import matplotlib

    matplotlib.use("Agg")
    from dlnotes.autodiff import plot_graph

    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    out = (a * b + a).tanh()
    out.backward()
    ax = plot_graph(out)
    nodes = out.topological_order()
    edges = sum(len(v._prev) for v in nodes)
    texts = [t for t in ax.texts if t.get_text()]
    assert len(texts) == len(nodes) == 5
    assert sum(1 for t in ax.texts if not t.get_text()) == edges == 5  # arrows are empty annotations
    assert any(t.get_text().startswith("tanh\n") for t in texts)
    with pytest.raises(TypeError, match="root must be a Value, got float"):
        plot_graph(1.0)
