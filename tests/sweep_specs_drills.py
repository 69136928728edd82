"""Sweep specs for dlnotes.drills: the catalogue, the grader, the report, and every solution.

A solution's spec is its drill graded by ``drills.check``: the drill's cases are random shapes
and dtypes (fp16 to float64) plus the edge cases (empty, one element, NaN, huge values), each
compared with the torch / scikit-learn call the drill names.
"""
from __future__ import annotations

import torch

from dlnotes import drills
from dlnotes.drills import grading, report, solutions
from sweep_kit import Spec

SPECS: dict[str, Spec] = {}
X = torch.randn(3, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)

for name, drill in drills.DRILLS.items():
    SPECS[f"drills.solutions.{drill.solution.__name__}"] = Spec(
        lambda _n=name: drills.check(_n, drills.get(_n).solution).passed, {}, reference=lambda: True)
assert {s.split(".")[-1] for s in SPECS} == set(solutions.__all__)

SPECS["drills.catalogue.check"] = Spec(lambda name, fn: (drills.check(name, fn).passed, drills.check(name, fn).attempted),
                                       dict(name="softmax", fn=torch.softmax), reference=lambda **_: (True, True))
SPECS["drills.catalogue.check(a wrong function)"] = Spec(
    lambda name, fn: drills.check(name, fn).passed, dict(name="softmax", fn=lambda x, dim: torch.exp(x)),
    reference=lambda **_: False)
SPECS["drills.catalogue.check(unknown drill)"] = Spec(lambda name: drills.check(name, torch.softmax), dict(name="sofmax"),
                                                      reference=lambda name: (_ for _ in ()).throw(ValueError(name)))
SPECS["drills.catalogue.get"] = Spec(lambda name: drills.get(name).name, dict(name="roc_auc"),
                                     reference=lambda name: name)
SPECS["drills.list"] = Spec(lambda chapters: list(drills.list(chapters)["name"]), dict(chapters=9),
                                             sizes={"chapters": 1}, reference=lambda chapters: [
                                                 n for n, d in drills.DRILLS.items() if d.chapter == chapters])


def stub_is_not_attempted(name):
    namespace: dict = {}
    exec(drills.get(name).stub(), namespace)  # noqa: S102 - the stub the reader starts from
    fn = namespace[drills.get(name).signature.split("(")[0]]
    return drills.check(name, fn).attempted


SPECS["drills.catalogue.Drill"] = Spec(stub_is_not_attempted, dict(name="adam_step"), reference=lambda name: False)
SPECS["drills.catalogue.DrillList"] = Spec(lambda chapters: drills.list(chapters).columns, dict(chapters=[5, 6]),
                                           reference=lambda chapters: ["name", "chapter", "difficulty", "questions",
                                                                       "signature"])
SPECS["drills.grading.compare"] = Spec(lambda got, expected: grading.compare(got, expected) is None,
                                       dict(got=X * (1 + 1e-10), expected=X),
                                       reference=lambda got, expected: torch.allclose(got, expected, rtol=1e-9, atol=1e-11))
SPECS["drills.grading.compare(off by 1e-6)"] = Spec(lambda got, expected: grading.compare(got, expected) is None,
                                                    dict(got=X + 1e-6, expected=X),
                                                    reference=lambda got, expected: torch.allclose(got, expected, 1e-9, 1e-11))
SPECS["drills.grading.describe"] = Spec(grading.describe, dict(value=torch.arange(6.0).reshape(2, 3)),
                                        reference=lambda value: "tensor of shape (2, 3), float32, [0, 1, 2, 3, …]")
SPECS["drills.grading.run_trial"] = Spec(
    lambda fn: grading.run_trial(fn, grading.Trial("a 3 x 4 input", args=(X, 1), expected=torch.softmax(X, 1)),
                                 "torch", ["x", "dim"], seed=0), dict(fn=torch.softmax), reference=lambda fn: None)
SPECS["drills.grading.run_trial(in-place)"] = Spec(
    lambda fn: "modified its input" in grading.run_trial(fn, grading.Trial("in place", args=(X.clone(), 1),
                                                                           expected=torch.softmax(X, 1)),
                                                       "torch", ["x", "dim"], seed=0),
    dict(fn=lambda x, dim: x.exp_().div_(x.sum(dim, keepdim=True))), reference=lambda fn: True)
SPECS["drills.report.section_url"] = Spec(report.section_url, dict(doc="notebooks/09_metrics", target="ch09-gauc"),
                                          reference=lambda doc, target: f"{report.BOOK_URL}/{doc}.html#{target}")
EXEMPT = {
    "DRILLS": "the registry dict; every entry is graded in the drills.solutions specs",
    "Report": "the return type of check (its fields are swept through check)",
    "Case": "a NamedTuple row of a Report",
    "Trial": "the record of one drill case; swept through run_trial",
}


# ---------------------------------------------------------------- gan.dirac, gan.unrolled (merged after the sweep)
import math  # noqa: E402

from dlnotes.gan import dirac, unrolled  # noqa: E402
from dlnotes.gan.losses import generator_loss  # noqa: E402


def dirac_by_hand(theta, psi, steps, lr, gamma=0.0):
    """Simultaneous gradient steps with the closed-form gradients of the Dirac GAN's minimax losses."""
    path = [(theta, psi)]
    for _ in range(steps):
        s = 1 / (1 + math.exp(-psi * theta))
        theta, psi = theta + lr * psi * s, psi - lr * (theta * s + gamma * psi)
        path.append((theta, psi))
    return torch.tensor(path, dtype=torch.float64)


SPECS["gan.dirac.dirac_gan"] = Spec(lambda theta, psi, steps, lr, gamma: dirac.dirac_gan(theta, psi, steps, lr, gamma=gamma),
                                    dict(theta=1.0, psi=0.5, steps=20, lr=0.1, gamma=0.3), numbers=("theta", "psi", "lr"),
                                    nonneg=("lr",), sizes={"steps": 0}, rtol=1e-12, reference=dirac_by_hand,
                                    skip=(("steps", "below_min"),))  # 0 steps is valid; -1 is 'negative'
SPECS["gan.dirac.MODES"] = Spec(lambda: dirac.MODES, {}, reference=lambda: ("simultaneous", "alternating"))
_D = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
_FAKE = torch.randn(5, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
SPECS["gan.unrolled.unrolled_generator_loss"] = Spec(
    lambda discriminator, fake, k, lr: unrolled.unrolled_generator_loss(discriminator, [fake] * 3, fake, k, lr).detach(),
    dict(discriminator=_D, fake=_FAKE, k=0, lr=0.1), numbers=("lr",), nonneg=("lr",), sizes={"k": 0},
    skip=(("k", "below_min"),), rtol=1e-12,
    reference=lambda discriminator, fake, k, lr: generator_loss(discriminator(fake), "nonsaturating").detach())
EXEMPT.update({  # these spawn worker processes or open study storage: tested in test_distributed.py,
    # test_sync_batchnorm.py and test_hparams_workers.py, far beyond the sweep's one-minute budget
    name: "starts worker processes or a process group; tested in its own test module"
    for name in ("allreduce_gradients", "data_parallel_sgd", "linear_scaling_run", "sgd_variants", "syncbn_study",
                 "launch", "run_processes", "SyncBatchNorm", "SyncBatchNormFunction", "convert_sync_batchnorm",
                 "create_study", "open_storage", "work", "branin_objective", "slow_branin_objective")})
EXEMPT.update({"WorkerError": "the exception a failed worker raises", "BACKENDS": "a tuple of names",
               "BRANIN_MINIMUM": "a constant, checked against branin in its spec"})

# ---------------------------------------------------------------- distributed helpers that run in one process
from dlnotes import data_parallel, distributed  # noqa: E402
from dlnotes.hparams import objectives  # noqa: E402


def torch_warmup(step, base_lr, k, warmup_steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr * k)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / k, total_iters=warmup_steps)
    for _ in range(step):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


SPECS["data_parallel.warmup_linear_lr"] = Spec(data_parallel.warmup_linear_lr, dict(step=3, base_lr=0.1, k=4.0, warmup_steps=5),
                                               numbers=("base_lr", "k"), nonneg=("base_lr", "k"),
                                               sizes={"step": 0, "warmup_steps": 0}, reference=torch_warmup, rtol=1e-12,
                                               skip=(("warmup_steps", "below_min"), ("step", "below_min")))
SPECS["data_parallel.digits_cnn"] = Spec(lambda norm, width: tuple(data_parallel.digits_cnn(norm, width)(
    torch.zeros(2, 64)).shape), dict(norm="batch", width=4), reference=lambda **_: (2, 10))
SPECS["distributed.check_backend"] = Spec(distributed.check_backend, dict(backend="gloo", world_size=2),
                                          sizes={"world_size": 1}, reference=lambda backend, world_size: backend)
SPECS["hparams.objectives.branin"] = Spec(objectives.branin, dict(x1=math.pi, x2=2.275), numbers=("x1", "x2"),
                                          reference=lambda x1, x2: objectives.BRANIN_MINIMUM, rtol=1e-6,
                                          skip=(("x1", "nan"), ("x2", "nan")))  # NaN in, NaN out
