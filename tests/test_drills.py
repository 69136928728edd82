"""The drills grader: the library's own solutions pass, torch's and scikit-learn's own functions
pass, trivial functions never do, NumPy solutions are accepted, stubs are "not attempted",
reports render, bad input is refused, and the command line's exit codes."""
from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

from dlnotes import drills
from dlnotes.drills import solutions as S
from dlnotes.drills.__main__ import main
from dlnotes.drills.report import BOOK_URL

ROOT = Path(__file__).resolve().parent.parent
NAMES = list(drills.DRILLS)

ISSUE_SIGNATURES = {
    "softmax": "softmax(x, dim)",
    "cross_entropy": "cross_entropy(logits, target)",
    "dropout": "dropout(x, p, training)",
    "batch_norm_train": "batch_norm_train(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5)",
    "layer_norm": "layer_norm(x, normalized_shape, weight, bias, eps=1e-5)",
    "adam_step": "adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)",
    "sgd_momentum_step": "sgd_momentum_step(param, grad, buf, lr, momentum, nesterov=False)",
    "cosine_warmup_lr": "cosine_warmup_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0)",
    "roc_auc": "roc_auc(y_true, y_score)",
    "clip_grad_norm": "clip_grad_norm(grads, max_norm)",
    "bf16_round": "bf16_round(x)",
    "numerical_gradient": "numerical_gradient(f, x, eps=1e-6)",
}


def _normal(sig: str) -> str:
    return re.sub(r"\s|['\"]", "", sig).replace("0.001", "1e-3").replace("1e-05", "1e-5").replace("1e-08", "1e-8") \
        .replace("1e-06", "1e-6").replace("0.01", "1e-2").replace("1e-12", "1e-12")


# ----------------------------------------------------------------- the catalogue
def test_at_least_24_drills_from_all_ten_chapters():
    assert len(NAMES) >= 24
    assert {d.chapter for d in drills.DRILLS.values()} == set(range(1, 11))


@pytest.mark.parametrize("name", ISSUE_SIGNATURES)
def test_the_named_drills_have_exactly_the_signatures_asked_for(name):
    assert _normal(drills.get(name).signature) == _normal(ISSUE_SIGNATURES[name])


@pytest.mark.parametrize("name", NAMES)
def test_each_drill_states_its_signature_as_its_solution_has_it(name):
    d = drills.get(name)
    assert _normal(d.signature) == _normal(f"{name}{inspect.signature(d.solution)}")
    assert d.statement and d.hint and d.questions and d.shows and d.reference


def _targets(doc: str) -> set[str]:
    nb = json.loads((ROOT / f"{doc}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return set(re.findall(r"^\(([\w-]+)\)=\s*$", text, re.M))


@pytest.mark.parametrize("name", NAMES)
def test_every_hint_links_to_a_section_that_exists(name):
    d = drills.get(name)
    sections = {d.section} | {t.section for t in d.cases() if t.section}
    for doc, target, title in sections:
        assert target in _targets(doc), f"{name}: {doc} has no target ({target})="
        assert title.startswith(f"Chapter {int(Path(doc).name[:2])}")


def test_every_question_id_is_in_the_question_bank():
    bank = set(re.findall(r"^\(q-([a-e]\d+b?)\)=", (ROOT / "book" / "questions.md").read_text(encoding="utf-8"), re.M))
    for d in drills.DRILLS.values():
        for q in d.questions:
            assert q.lower() in bank, f"{d.name}: question {q} is not in book/questions.md"


def test_the_book_url_is_the_pages_site_of_the_configured_repository():
    url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    owner, repo = url.rstrip("/").split("/")[-2:]
    assert BOOK_URL == f"https://{owner}.github.io/{repo}"


def test_list_names_every_drill_with_chapter_difficulty_and_questions():
    table = drills.list()
    assert list(table.columns) == ["name", "chapter", "difficulty", "questions", "signature"]
    assert sorted(table["name"]) == sorted(NAMES)
    assert table["chapter"].is_monotonic_increasing
    assert set(table["difficulty"]) <= {"easy", "medium", "hard"}
    assert len(drills.list(chapters=[2])) == sum(d.chapter == 2 for d in drills.DRILLS.values())
    assert "batch_norm_train(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5)" in str(table)
    assert "<table" in table._repr_html_() and all(isinstance(row, dict) for row in table)
    with pytest.raises(ValueError, match="chapters must be chapter numbers"):
        drills.list(chapters=[11])


# ----------------------------------------------------------------- what must pass
@pytest.mark.parametrize("name", NAMES)
def test_the_library_solution_passes(name):
    report = drills.check(name, drills.get(name).solution)
    assert report.passed, str(report)
    assert len(report.cases) >= 3


def _one_class_is_an_error(y):
    """sklearn >= 1.6 warns and returns NaN for one class; the drill asks for ValueError (as sklearn < 1.6 did)."""
    if len(np.unique(np.asarray(y))) < 2:
        raise ValueError("only one class in y_true")


TORCH_OWN = {
    "softmax": torch.softmax,
    "cross_entropy": F.cross_entropy,
    "dropout": lambda x, p, training: F.dropout(x, p, training),
    "layer_norm": lambda x, ns, w, b, eps=1e-5: F.layer_norm(x, (ns,) if isinstance(ns, int) else ns, w, b, eps),
    "group_norm": F.group_norm,
    "xavier_uniform": lambda shape, gain=1.0: torch.nn.init.xavier_uniform_(torch.empty(shape), gain),
    "kaiming_normal": lambda shape, mode="fan_in": torch.nn.init.kaiming_normal_(torch.empty(shape), mode=mode, nonlinearity="relu"),
    "roc_auc": lambda y, s: _one_class_is_an_error(y) or float(roc_auc_score(y, s)),
    "bf16_round": lambda x: x.to(torch.bfloat16).float(),
    "kfold_splits": lambda n, k: list(KFold(k).split(np.arange(n))),
    "iterations_per_epoch": lambda n, b, drop_last=False: len(torch.utils.data.DataLoader(range(n), b, drop_last=drop_last)),
}


@pytest.mark.parametrize("name", TORCH_OWN)
def test_the_reference_libraries_own_functions_pass(name):
    report = drills.check(name, TORCH_OWN[name])
    assert report.passed, str(report)


def test_the_cosine_solution_equals_torchs_sequential_schedule():
    """Warm-up via LinearLR (from a tiny factor) then CosineAnnealingLR, as torch composes them."""
    base, W, T = 0.1, 10, 60
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt, [torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / W),
              torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T - W, eta_min=0.0)], milestones=[W])
    for step in range(T):
        assert S.cosine_warmup_lr(step, base, W, T) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-12)
        opt.step()
        sched.step()


# ----------------------------------------------------------------- what must never pass
def _trivial():
    return {"none": lambda *a, **k: None, "constant": lambda *a, **k: 0.5,
            "zeros": lambda *a, **k: torch.zeros(3), "echo": lambda *a, **k: a[0]}


@pytest.mark.parametrize("kind", ["none", "constant", "zeros", "echo"])
@pytest.mark.parametrize("name", NAMES)
def test_trivial_functions_never_pass(name, kind):
    report = drills.check(name, _trivial()[kind])
    assert report.attempted and not report.passed, str(report)


def test_an_echo_that_returns_copies_of_the_input_tuple_fails_too():
    for name in NAMES:
        assert not drills.check(name, lambda *a, **k: tuple(a[:3])).passed, name


# ----------------------------------------------------------------- stubs, exceptions, NumPy
def _stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("name", NAMES)
def test_a_stub_is_not_attempted(name):
    report = drills.check(name, _stub)
    assert not report.attempted and not report.passed
    assert "not attempted" in str(report) and "not attempted" in report._repr_html_()


def test_an_exception_is_a_failed_case_with_its_message():
    def boom(x, dim):
        raise ValueError("I forgot the axis")

    report = drills.check("softmax", boom)
    assert report.attempted and not report.passed
    assert all("raised ValueError: I forgot the axis" in c.detail for c in report.cases)


def test_a_partial_solution_fails_only_the_cases_it_skips():
    def partial(x, dim):
        if x.dim() != 2:
            raise NotImplementedError("only matrices")
        return S.softmax(x, dim)

    report = drills.check("softmax", partial)
    assert report.attempted and not report.passed
    failed = [c for c in report.cases if not c.passed]
    assert failed and all("NotImplementedError" in c.detail for c in failed)
    assert 0 < report.n_passed < len(report.cases)


def np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def np_roc_auc(y_true, y_score):
    y, s = np.asarray(y_true), np.asarray(y_score, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError("one class")
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def np_bn(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    m = x.size // x.shape[1]
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape) + bias.reshape(shape)
    return (y, (1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var * m / (m - 1))


def np_ce(logits: np.ndarray, target: np.ndarray):
    z = logits - logits.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -log_p[np.arange(len(target)), target].mean()


@pytest.mark.parametrize("name, fn, mode", [("softmax", np_softmax, "numpy"), ("roc_auc", np_roc_auc, "torch"),
                                            ("batch_norm_train", np_bn, "numpy"), ("cross_entropy", np_ce, "numpy")])
def test_numpy_solutions_are_graded_as_well(name, fn, mode):
    """softmax and BN fail on tensors and are retried with arrays; cross_entropy says so in its
    annotations; the AUC works on tensors through np.asarray as it is."""
    report = drills.check(name, fn)
    assert report.passed and report.mode == mode, str(report)
    assert drills.check(name, fn, numpy=True).passed


def test_numpy_is_refused_where_autograd_is_needed():
    with pytest.raises(ValueError, match="gan_losses.*needs torch tensors"):
        drills.check("gan_losses", S.gan_losses, numpy=True)


# ----------------------------------------------------------------- the report
def test_a_failure_report_names_the_case_the_input_expected_got_and_the_section():
    def naive(x, dim):
        e = torch.exp(x)
        return e / e.sum(dim, keepdim=True)

    report = drills.check("softmax", naive)
    text, page = str(report), report._repr_html_()
    assert "FAILED" in text and "logits of 1000" in text
    assert "input: x=tensor of shape (2, 3), float32" in text and "expected" in text and "got" in text
    assert f"{BOOK_URL}/notebooks/08_vanishing_exploding.html#ch08-softmax" in text
    assert "<table>" in page and "&#10007;" in page and 'href="https://' in page
    assert "amax" not in text and "amax" not in page  # the solution is never shown on failure


def test_reveal_shows_the_library_solution_after_an_attempt_only():
    shown = drills.check("softmax", S.softmax, reveal=True)
    assert "x.amax(dim=dim, keepdim=True)" in str(shown) and "dlnotes/activations.py" in shown._repr_html_()
    assert "amax" not in str(drills.check("softmax", _stub, reveal=True))
    assert "amax" not in str(drills.check("softmax", S.softmax))


def test_check_leaves_the_random_state_and_default_dtype_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    torch.set_default_dtype(torch.float64)
    try:
        drills.check("dropout", S.dropout)
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    torch.testing.assert_close(torch.rand(3), expected)


def test_grading_is_deterministic():
    a, b = drills.check("xavier_uniform", lambda s, g=1.0: torch.randn(s)), drills.check("xavier_uniform", lambda s, g=1.0: torch.randn(s))
    assert str(a) == str(b)


@pytest.mark.parametrize("args, error, message", [
    (("no_such_drill", S.softmax), ValueError, "no drill named 'no_such_drill'"),
    ((3, S.softmax), TypeError, "name must be a str"),
    (("softmax", 3), TypeError, "fn must be a function"),
    (("softmax", S.softmax, "yes"), TypeError, "reveal must be a bool"),
])
def test_bad_arguments_are_refused(args, error, message):
    with pytest.raises(error, match=message):
        drills.check(*args)
    with pytest.raises(TypeError, match="numpy must be True, False or None"):
        drills.check("softmax", S.softmax, numpy="yes")


# ----------------------------------------------------------------- the command line
GOOD = '''
import torch

def softmax(x, dim):
    e = torch.exp(x - x.amax(dim, keepdim=True))
    return e / e.sum(dim, keepdim=True)

def step_decay_lr(step, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** (step // step_size)
'''
BAD = GOOD + '''
def roc_auc(y_true, y_score):
    raise NotImplementedError
'''


def _file(tmp_path, text, name="mine.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_cli_exits_0_when_every_drill_in_the_file_passes(tmp_path, capsys):
    assert main(["check", _file(tmp_path, GOOD)]) == 0
    out = capsys.readouterr().out
    assert "softmax: passed" in out and "step_decay_lr: passed" in out and "2 of 2 drills passed" in out


def test_cli_exits_1_when_a_drill_fails_or_is_not_attempted(tmp_path, capsys):
    path = _file(tmp_path, BAD)
    assert main(["check", path]) == 1
    assert "roc_auc: not attempted" in capsys.readouterr().out
    assert main(["check", path, "softmax"]) == 0  # only the named drills are graded


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    path = _file(tmp_path, GOOD)
    assert main(["check", path, "gauc"]) == 2  # the file does not define it
    assert main(["check", path, "not_a_drill"]) == 2
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    assert main(["check", _file(tmp_path, "x = 1\n", "empty.py")]) == 2
    assert main(["check", _file(tmp_path, "raise RuntimeError('oops')\n", "broken.py")]) == 1
    assert "oops" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_cli_list_and_stubs(tmp_path, capsys):
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in NAMES)
    assert main(["stubs"]) == 0
    stubs = capsys.readouterr().out
    path = _file(tmp_path, stubs, "stubs.py")
    assert main(["check", path]) == 1  # every stub is "not attempted"
    assert f"0 of {len(NAMES)} drills passed" in capsys.readouterr().out
    assert main(["stubs", "nope"]) == 2


def test_cli_runs_as_a_module(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dlnotes.drills", "check", _file(tmp_path, BAD), "softmax", "roc_auc"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "softmax: passed" in run.stdout and "roc_auc: not attempted" in run.stdout


# ----------------------------------------------------------------- the comparison itself
from dlnotes.drills.grading import compare, describe  # noqa: E402


@pytest.mark.parametrize("got, expected, says", [
    (None, torch.zeros(2), "returned None"),
    (torch.zeros(3), torch.zeros(2), "shape (3,), expected (2,)"),
    (torch.zeros(2), torch.zeros(2, dtype=torch.float64), "dtype float32, expected float64"),
    (torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]), "differs from the reference at 1 of 2 entries"),
    (torch.tensor([1.0, 2.0]), torch.tensor([1.0, float("inf")]), "worst at index (1,)"),
    (torch.tensor([1.0 + 1e-4]), torch.tensor([1.0]), "differs"),
    (0.5, 0.6, "expected 0.6, got 0.5"),
    (1e300, float("inf"), "expected inf"),
    (float("nan"), 1.0, "got nan"),
    ("0.5", 0.5, "expected a number"),
    (2.5, 2, "expected the integer 2"),
    ([torch.zeros(2)], (torch.zeros(2), torch.zeros(2)), "expected a tuple of 2"),
    (torch.tensor([0, 2]), torch.tensor([0, 1]), "differs at index (1,)"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), "expected integers"),
])
def test_compare_says_what_differs(got, expected, says):
    problem = compare(got, expected)
    assert problem is not None and says in problem, problem


@pytest.mark.parametrize("got, expected", [
    (torch.tensor([1.0, float("nan"), float("-inf")]), torch.tensor([1.0, float("nan"), float("-inf")])),
    (torch.tensor([1.0 + 1e-7]), torch.tensor([1.0])),            # float32: rtol 1e-5
    (0.3, torch.tensor(0.3, dtype=torch.float64)),                # a scalar loss may come back as a float
    (np.float64(0.25), 0.25), (torch.tensor(3), 3), (np.int64(3), 3),
    ((torch.ones(1), 2), (torch.ones(1), 2)),
])
def test_compare_accepts_equal_values(got, expected):
    assert compare(got, expected) is None


def test_describe_shows_shape_dtype_and_a_few_values():
    assert describe(torch.arange(10.0)) == "tensor of shape (10,), float32, [0, 1, 2, 3, …]"
    assert describe(np.ones((2, 2))) == "array of shape (2, 2), float64, [1, 1, 1, 1]"
    assert describe([torch.zeros(1), torch.zeros(2)]).startswith("list of 2: [tensor of shape (1,)")
    assert describe(0.123456789) == "0.123457"
