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
