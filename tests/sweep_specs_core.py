"""Sweep specs for activations, autodiff, gradients, init, regularization, diagnostics, runtime."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402

import dlnotes  # noqa: E402
from dlnotes import activations as A  # noqa: E402
from dlnotes import autodiff, diagnostics, gradients, init, regularization  # noqa: E402

from sweep_kit import Spec  # noqa: E402

g = torch.Generator().manual_seed(0)
X34 = torch.randn(3, 4, generator=g, dtype=torch.float64) * 3


def autograd_of(fn, **kw):
    def derivative(input):
        x = input.detach().clone().requires_grad_(True)
        (d,) = torch.autograd.grad(fn(x, **kw).sum(), x)
        return d
    return derivative


# the derivative at NaN is undefined (torch's autograd passes one branch's constant through);
# at +-inf the tanh form of GELU has derivative 1 / 0 here (the limit), NaN in torch.
_NO_NAN = (("input", "nan"),)
_NO_INF = (("input", "nan"), ("input", "inf"))

ACT = {
    "sigmoid": (A.sigmoid, torch.sigmoid, {}, ()),
    "tanh": (A.tanh, torch.tanh, {}, ()),
    "relu": (A.relu, F.relu, {}, ()),
    "leaky_relu": (A.leaky_relu, F.leaky_relu, {"negative_slope": 0.1}, ("negative_slope",)),
    "elu": (A.elu, F.elu, {"alpha": 1.5}, ("alpha",)),
    "silu": (A.silu, F.silu, {}, ()),
    "gelu": (A.gelu, F.gelu, {}, ()),
    "gelu_tanh": (lambda input: A.gelu(input, "tanh"), lambda input: F.gelu(input, approximate="tanh"), {}, ()),
}
SPECS: dict[str, Spec] = {}
for name, (ours, ref, kw, nums) in ACT.items():
    SPECS[f"activations.{name}"] = Spec(ours, dict(input=X34, **kw), tensors=("input",), numbers=nums,
                                        reference=ref, rtol=1e-12)
    d_ours = getattr(A, f"{name}_derivative") if name != "gelu_tanh" else (
        lambda input: A.gelu_derivative(input, "tanh"))
    SPECS[f"activations.{name}_derivative"] = Spec(
        d_ours, dict(input=X34, **kw), tensors=("input",), numbers=nums,
        reference=lambda input, _r=ref, **k: autograd_of(_r, **k)(input), rtol=1e-12,
        skip=_NO_INF if name.startswith("gelu") or name == "silu" else _NO_NAN)
SPECS["activations.swish"] = Spec(A.swish, dict(input=X34, beta=1.0), tensors=("input",), numbers=("beta",),
                                  reference=lambda input, beta: F.silu(input), rtol=1e-12)
SPECS["activations.swish_derivative"] = Spec(
    A.swish_derivative, dict(input=X34, beta=1.0), tensors=("input",), numbers=("beta",),
    reference=lambda input, beta: autograd_of(F.silu)(input), rtol=1e-12, skip=_NO_INF)
for name, ref in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
    SPECS[f"activations.{name}"] = Spec(getattr(A, name), dict(input=X34, dim=1), tensors=("input",),
                                        reference=ref, rtol=1e-12)


# ---------------------------------------------------------------- autodiff
def value_chain(data, k):
    x = autodiff.Value(data)
    out = (x * 2.0 + 1.0) ** k
    out.backward()
    return out.data, x.grad


def torch_chain(data, k):
    x = torch.tensor(float(data), dtype=torch.float64, requires_grad=True)
    out = (x * 2.0 + 1.0) ** float(k)
    out.backward()
    return out.item(), x.grad.item()


SPECS["autodiff.Value"] = Spec(value_chain, dict(data=1.5, k=3), numbers=("data", "k"), reference=torch_chain,
                               names={"k": ("exponent",)},
                               skip=(("data", "nan"), ("k", "nan")))  # NaN is a value like any other
SPECS["autodiff.plot_graph"] = Spec(lambda root: type(autodiff.plot_graph(root)).__name__,
                                    dict(root=autodiff.Value(2.0) * 3.0))


# ---------------------------------------------------------------- gradients
def f_smooth(t):
    return (torch.sin(t) * t).sum()


def jac(f, x, eps=None):
    return torch.autograd.functional.jacobian(f, x.detach())


SPECS["gradients.numerical_gradient"] = Spec(gradients.numerical_gradient, dict(f=f_smooth, x=X34[0], eps=1e-6),
                                             numbers=("eps",), nonneg=("eps",), reference=jac, rtol=1e-7)
SPECS["gradients.numerical_gradient(default eps)"] = Spec(
                                             gradients.numerical_gradient, dict(f=f_smooth, x=X34[0]),
                                             tensors=("x",), reference=jac, rtol=1e-7,
                                             kinds=("float32", "float16", "bfloat16", "int64", "bool",
                                                    "noncontiguous", "numpy", "list", "empty", "single"))
SPECS["gradients.gradient"] = Spec(gradients.gradient, dict(f=f_smooth, x=X34[0]), tensors=("x",),
                                   reference=lambda f, x: jac(f, x), rtol=1e-12)
SPECS["gradients.directional_derivative"] = Spec(
    gradients.directional_derivative, dict(f=f_smooth, x=X34[0], direction=X34[1]), tensors=("x", "direction"),
    reference=lambda f, x, direction: jac(f, x.double()) @ (direction.double() / direction.double().norm()),
    kinds=("float64", "noncontiguous", "numpy", "list", "empty", "nan", "extra_dim"), rtol=1e-12)
SPECS["gradients.check_gradient"] = Spec(lambda f, x, eps=None: gradients.check_gradient(f, x, eps) < 1e-6,
                                         dict(f=f_smooth, x=X34[0], eps=1e-6), tensors=("x",), numbers=("eps",),
                                         nonneg=("eps",),
                                         kinds=("float16", "bfloat16", "int64", "noncontiguous", "numpy", "list",
                                                "empty"))
SPECS["gradients.default_eps"] = Spec(lambda dtype: gradients.default_eps(dtype) > 0, dict(dtype=torch.float32))

# ---------------------------------------------------------------- init
W = torch.empty(5, 3, dtype=torch.float64)


def filled(ours, ref, **kw):
    def run(tensor, **k):
        return ours(tensor.clone() if isinstance(tensor, torch.Tensor) else tensor,
                    generator=torch.Generator().manual_seed(1), **k)

    def reference(tensor, **k):
        return ref(tensor.clone(), generator=torch.Generator().manual_seed(1), **k)

    return run, reference


for name in ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"):
    ours, ref = filled(getattr(init, name), getattr(torch.nn.init, name))
    kw = {"gain": 1.5} if name.startswith("xavier") else {"a": 0.1}
    SPECS[f"init.{name}"] = Spec(ours, dict(tensor=W, **kw), tensors=("tensor",), numbers=tuple(kw), reference=ref,
                                 kinds=("float16", "bfloat16", "float32", "noncontiguous", "numpy", "empty",
                                        "single", "scalar_0d"), rtol=1e-12,
                                 names={"a": ("param", "negative slope")})
SPECS["init.calculate_gain"] = Spec(init.calculate_gain, dict(nonlinearity="leaky_relu", param=0.2),
                                    numbers=("param",), reference=torch.nn.init.calculate_gain, rtol=1e-15,
                                    names={"param": ("negative slope",)})
SPECS["init.fan_in_and_fan_out"] = Spec(init.fan_in_and_fan_out, dict(tensor=torch.empty(4, 3, 2)),
                                        tensors=("tensor",),
                                        reference=torch.nn.init._calculate_fan_in_and_fan_out,
                                        kinds=("float16", "int64", "noncontiguous", "numpy", "empty", "single",
                                               "extra_dim", "scalar_0d"))
SPECS["init.init_std"] = Spec(init.init_std, dict(tensor=torch.empty(4, 3), scheme="kaiming", gain=2.0),
                              tensors=("tensor",), numbers=("gain",), nonneg=("gain",),
                              reference=lambda tensor, scheme, gain:
                              gain / torch.nn.init._calculate_fan_in_and_fan_out(tensor)[0] ** 0.5,
                              kinds=("float16", "noncontiguous", "empty", "single", "extra_dim", "scalar_0d"))

# ---------------------------------------------------------------- regularization
Xr = torch.randn(8, 3, generator=g, dtype=torch.float64)
yr = torch.randn(8, generator=g, dtype=torch.float64)


def sk_ridge(X, y, alpha=1.0):
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    if X.dtype in (torch.float16, torch.bfloat16):
        X = X.float()
    if y.dtype in (torch.float16, torch.bfloat16):
        y = y.float()
    coef = Ridge(alpha, fit_intercept=False, solver="cholesky").fit(X.numpy(), y.numpy()).coef_
    dtype = torch.promote_types(X.dtype, y.dtype)
    return torch.as_tensor(coef).to(dtype if dtype.is_floating_point else torch.float64)


SPECS["regularization.ridge"] = Spec(regularization.ridge, dict(X=Xr, y=yr, alpha=0.5), tensors=("X", "y"),
                                     numbers=("alpha",), nonneg=("alpha",), reference=sk_ridge, rtol=1e-8,
                                     skip=(("X", "float16"), ("y", "float16"), ("X", "bfloat16"),
                                           ("y", "bfloat16")))  # fp16 vs fp32: compared in fixes
SPECS["regularization.l2_penalty"] = Spec(lambda params, weight_decay: regularization.l2_penalty([params], weight_decay),
                                          dict(params=Xr, weight_decay=0.1), tensors=("params",),
                                          numbers=("weight_decay",), nonneg=("weight_decay",),
                                          reference=lambda params, weight_decay: 0.05 * (params * params).sum(),
                                          names={"params": ("parameter",)},
                                          kinds=("float16", "bfloat16", "float32", "noncontiguous", "nan", "empty"))
SPECS["regularization.Dropout"] = Spec(lambda p, x: regularization.Dropout(p).eval()(x), dict(p=0.3, x=Xr),
                                       tensors=("x",), numbers=("p",), nonneg=("p",),
                                       reference=lambda p, x: torch.nn.Dropout(p).eval()(x),
                                       names={"x": ("input",), "p": ("probability",)},
                                       kinds=("float16", "bfloat16", "noncontiguous", "empty", "nan"))


# ---------------------------------------------------------------- diagnostics
def net_with_grads(dtype=torch.float64):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.BatchNorm1d(4),
                              torch.nn.Linear(4, 1)).to(dtype)
    net(torch.randn(6, 3, dtype=dtype)).sum().backward()
    return net


NET = net_with_grads()


def clip_norm(ours, grads, max_norm=0.5, norm_type=2.0):
    p = torch.nn.Parameter(torch.zeros(grads.shape, dtype=grads.dtype))
    p.grad = grads.clone()
    total = ours(p, max_norm, norm_type)
    return total, p.grad


def clip_value_grads(ours, grads, clip_value=0.5):
    p = torch.nn.Parameter(torch.zeros(grads.shape, dtype=grads.dtype))
    p.grad = grads.clone()
    ours(p, clip_value)
    return p.grad


_GRAD_KINDS = ("float16", "bfloat16", "float32", "noncontiguous", "nan", "inf", "empty", "single", "scalar_0d")
SPECS["diagnostics.clip_grad_norm"] = Spec(
    lambda grads, max_norm, norm_type: clip_norm(diagnostics.clip_grad_norm, grads, max_norm, norm_type),
    dict(grads=Xr, max_norm=0.5, norm_type=2.0), tensors=("grads",), numbers=("max_norm", "norm_type"),
    nonneg=("max_norm", "norm_type"), kinds=_GRAD_KINDS, rtol=1e-12,
    reference=lambda grads, max_norm, norm_type: clip_norm(torch.nn.utils.clip_grad_norm_, grads, max_norm, norm_type))
SPECS["diagnostics.clip_grad_value"] = Spec(
    lambda grads, clip_value: clip_value_grads(diagnostics.clip_grad_value, grads, clip_value),
    dict(grads=Xr, clip_value=0.5), tensors=("grads",), numbers=("clip_value",), nonneg=("clip_value",),
    kinds=_GRAD_KINDS, rtol=0,
    reference=lambda grads, clip_value: clip_value_grads(torch.nn.utils.clip_grad_value_, grads, clip_value))
SPECS["diagnostics.layer_grad_norms"] = Spec(
    diagnostics.layer_grad_norms, dict(model=NET, norm_type=2.0), numbers=("norm_type",), nonneg=("norm_type",),
    reference=lambda model, norm_type: {n: torch.nn.utils.get_total_norm(
        [p.grad for p in m.parameters(recurse=False)], norm_type).item()
        for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))}, rtol=1e-12)
SPECS["diagnostics.find_nonfinite"] = Spec(diagnostics.find_nonfinite, dict(model=NET), reference=lambda model: {})
SPECS["diagnostics.dead_relu_fraction"] = Spec(
    diagnostics.dead_relu_fraction, dict(model=NET, inputs=torch.randn(5, 3, generator=g, dtype=torch.float64)),
    tensors=("inputs",), kinds=("float32", "noncontiguous", "empty", "single", "scalar_0d", "numpy"),
    skip=(("inputs", "float32"),))  # a float64 model refuses float32 input (torch's own error)

# ---------------------------------------------------------------- runtime
SPECS["runtime.seed_everything"] = Spec(lambda seed: (dlnotes.seed_everything(seed), torch.rand(2))[1],
                                        dict(seed=3), sizes={"seed": 0},
                                        skip=(("seed", "below_min"),))  # 0 is the smallest seed; -1 is 'negative'
SPECS["runtime.device"] = Spec(lambda: dlnotes.device().type in ("cpu", "cuda", "mps"), {})
EXEMPT = {
    "show": "prints source; tested in test_runtime.py",
    "set_style": "matplotlib style; no inputs",
    "Source": "the return type of show",
    "tqdm": "re-export of tqdm.auto.tqdm",
    "ACTIVATIONS": "a dict of the functions swept above",
}
