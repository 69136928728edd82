"""The book's prose pages: the question bank covers every seed question, the claims page is the
generator's current output, glossary and question links resolve, and the bibliography parses."""
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources"  # the five source notes, kept in the repository (sources/README.md)
BOOK = ROOT / "book"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_notebooks  # noqa: E402  (claims_rows, the reference parser)

_spec = importlib.util.spec_from_file_location("book_claims", BOOK / "_ext" / "claims.py")
claims = importlib.util.module_from_spec(_spec)
sys.modules["book_claims"] = claims  # dataclasses look the module up
_spec.loader.exec_module(claims)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NOTE_FILES = {"A": "A_interview_qa.md", "B": "B_optimization_interview.md", "C": "C_optimization_course.md", "D": "D_optimizers_metrics.md", "E": "E_49_questions.md"}


# --------------------------------------------------------------------------- claims page
def test_claims_parser_agrees_with_the_notebook_test():
    for path in NOTEBOOKS:
        text = test_notebooks.markdown(test_notebooks.load(path))
        if not re.search(r"^#+\s*Claims checked", text, re.M):
            continue
        assert claims.claims_rows(text) == test_notebooks.claims_rows(text), path.name


def test_claims_page_is_up_to_date():
    page = (BOOK / "claims.md").read_text(encoding="utf-8")
    assert page == claims.render(ROOT), "book/claims.md is stale: run .venv/bin/python book/_ext/claims.py"


def test_claims_page_counts_match_the_rows():
    chapters = claims.chapters(ROOT)
    rows = [r for ch in chapters for r in ch.rows]
    counts = Counter(claims.verdict(r) for r in rows)
    page = (BOOK / "claims.md").read_text(encoding="utf-8")
    assert f"| **All chapters** | **{len(rows)}** | **{counts['holds']}** | **{counts['fails']}** | **{counts['depends']}** |" in page
    assert sum(counts.values()) == len(rows) and rows
    every = page.split("(claims-all)=", 1)[1]
    assert sum(1 for line in every.splitlines() if line.startswith("| {doc}")) == len(rows)
    fails = page.split("(claims-fails)=", 1)[1].split("(claims-all)=", 1)[0]
    assert sum(1 for line in fails.splitlines() if line.startswith("| {doc}")) == counts["fails"]


def _fake_book(tmp_path, text):
    (tmp_path / "notebooks").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "source": [text]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / "99_fake.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return tmp_path


def test_render_counts_a_small_fake_book(tmp_path):
    table = (
        "# Chapter 99. Fake\n\n## Claims checked\n\n| # | Claim (seed §) | Experiment | Verdict |\n"
        "| --- | --- | --- | --- |\n| 1 | a | x | **holds**: yes |\n| 2 | b | y | **fails**: no |\n"
        "| 3 | c | z | **fails**: no |\n"
    )
    page = claims.render(_fake_book(tmp_path, table))
    assert "| **All chapters** | **3** | **1** | **2** | **0** |" in page
    assert "{doc}`Chapter 99. Fake </notebooks/99_fake>` | 3 | 1 | 2 | 0 |" in page


@pytest.mark.parametrize(
    "table, message",
    [
        ("## Claims checked\n\n| # | Claim | Experiment | Verdict |\n| - | - | - | - |\n", "header"),
        ("## Claims checked\n\nno table here\n", "no table"),
        ("## Claims checked\n\n| # | Claim (seed §) | Experiment | Verdict |\n| - | - | - | - |\n| 1 | a | b | holds |\n", "verdict must start"),
        ("## Claims checked\n\n| # | Claim (seed §) | Experiment | Verdict |\n| - | - | - | - |\n| 1 | a | **holds** |\n", "4 cells"),
    ],
)
def test_malformed_tables_stop_the_generator(tmp_path, table, message):
    with pytest.raises(ValueError, match=message):
        claims.render(_fake_book(tmp_path, "# Chapter 99. Fake\n\n" + table))


def test_claims_rows_rejects_bad_input():
    with pytest.raises(TypeError, match="text must be a str"):
        claims.claims_rows(None)
    with pytest.raises(ValueError, match="no 'Claims checked' heading"):
        claims.claims_rows("# Chapter\n")


def test_check_mode_reports_stale_page(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(claims, "PAGE", tmp_path / "claims.md")
    monkeypatch.setattr(claims, "ROOT", tmp_path)
    _fake_book(tmp_path, "# C\n\n## Claims checked\n\n| # | Claim (seed §) | Experiment | Verdict |\n| - | - | - | - |\n| 1 | a | b | **holds** |\n")
    monkeypatch.setattr(claims, "render", lambda: "new text")
    assert claims.main(["--check"]) == 1
    assert claims.main([]) == 0
    assert claims.main(["--check"]) == 0
    with pytest.raises(SystemExit):
        claims.main(["--bogus"])


# --------------------------------------------------------------------------- question bank
def _norm(text: str) -> str:
    """Compare wording, not Markdown: drop bold, backticks, and all whitespace."""
    return re.sub(r"\s+", "", text.replace("**", "").replace("`", ""))


def seed_questions() -> list[tuple[str, str]]:
    """(id, Chinese wording) of every question of the five seeds.

    A: the 13 numbered entries of its table of contents; B: its numbered top-level headings;
    C: the 19 numbered items of its Q&A; D: its numbered ### headings; E: Q1..Q49 (Q3 twice).
    """
    def read(note):
        return (SOURCES / NOTE_FILES[note]).read_text(encoding="utf-8")

    qs = []
    qs += [(f"A{n}", t) for n, t in re.findall(r"^  - \[(\d+)\.(.+?)\]\(", read("A"), re.M)]
    qs += [(f"B{n}", t) for n, t in re.findall(r"^# (\d+)[.、]\s*(.+?)\s*$", read("B"), re.M)]
    qs += [(f"C{n}", t) for n, t in re.findall(r"^- \*\*(\d+)、(.+?)\*\*\s*$", read("C"), re.M)]
    qs += [(f"D{n}", t) for n, t in re.findall(r"^### (\d+)\.\s*(.+?)\s*$", read("D"), re.M)]
    seen = Counter()
    for n, t in re.findall(r"^- Q(\d+) \*\*(.+?)\*\*", read("E"), re.M):
        seen[n] += 1
        qs.append((f"E{n}" + ("" if seen[n] == 1 else "b"), t))
    return qs


def test_the_source_notes_are_in_the_repository():
    found = sorted(p.name for p in SOURCES.glob("*.md") if p.name != "README.md")
    assert found == sorted(NOTE_FILES.values()), f"sources/ holds {found}"


def test_the_seed_question_list_is_complete():
    ids = [i for i, _ in seed_questions()]
    assert len(ids) == len(set(ids))
    assert sum(i.startswith("A") for i in ids) == 13
    assert sum(i.startswith("C") for i in ids) == 19
    assert sum(i.startswith("D") for i in ids) == 6
    assert sum(i.startswith("E") for i in ids) == 50  # Q1..Q49, Q3 used twice in the seed


QUESTIONS = BOOK / "questions.md"


@pytest.mark.parametrize("qid, wording", seed_questions(), ids=lambda x: x if re.match(r"^[A-E]\d+b?$", str(x)) else "")
def test_every_seed_question_has_an_entry(qid, wording):
    page = QUESTIONS.read_text(encoding="utf-8")
    target = f"(q-{qid.lower()})="
    assert target in page, f"book/questions.md has no entry {target} for seed question {qid}: {wording}"
    entry = page.split(target, 1)[1].split("\n(q-", 1)[0]
    assert _norm(wording) in _norm(entry), f"entry {qid} does not quote the seed's wording {wording!r}"
    assert re.search(r"^### .*[A-Za-z]{3}", entry, re.M), f"entry {qid} has no English heading"
    assert ":class: dropdown" in entry, f"entry {qid} has no collapsible answer"


def test_question_bank_has_no_entries_the_seeds_lack():
    page = QUESTIONS.read_text(encoding="utf-8")
    expected = {f"q-{i.lower()}" for i, _ in seed_questions()}
    found = set(re.findall(r"^\((q-[a-e]\d+b?)\)=", page, re.M))
    assert found == expected, f"extra {sorted(found - expected)}, missing {sorted(expected - found)}"


# --------------------------------------------------------------------------- links
def _targets() -> set[str]:
    found = set()
    for path in NOTEBOOKS:
        found.update(re.findall(r"^\(([\w-]+)\)=\s*$", test_notebooks.markdown(test_notebooks.load(path)), re.M))
    for path in BOOK.rglob("*.md"):  # book/sources/ too: the notes' section anchors
        found.update(re.findall(r"^\(([\w-]+)\)=\s*$", path.read_text(encoding="utf-8"), re.M))
    return found


def _docs() -> set[str]:
    return {p.relative_to(ROOT).with_suffix("").as_posix() for p in [*NOTEBOOKS, *BOOK.rglob("*.md")]}


@pytest.mark.parametrize("page", ["glossary.md", "questions.md", "references.md", "claims.md", "ledger.md"])
def test_every_link_resolves(page):
    text = (BOOK / page).read_text(encoding="utf-8")
    targets, docs = _targets(), _docs()
    anchors = re.findall(r"\]\(#([\w-]+)\)", text) + re.findall(r"\{ref\}`(?:[^`<]*<)?([\w-]+)>?`", text)
    assert anchors or page == "references.md", f"{page} links to no section"
    for anchor in anchors:
        assert anchor in targets, f"{page} links to #{anchor}, which no page defines"
    for doc in re.findall(r"\{doc\}`(?:[^`<]*<)?/?([\w/.-]+)>?`", text):
        assert doc in docs, f"{page} links to doc {doc}, which does not exist"
    for key in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", text):
        for k in key.split(","):
            assert k.strip() in bib_keys(), f"{page} cites {k.strip()!r}, not in references.bib"


def test_glossary_pairs_english_with_chinese_and_links_every_term():
    rows = [r for r in (BOOK / "glossary.md").read_text(encoding="utf-8").splitlines() if r.startswith("| ")][2:]
    assert len(rows) >= 60
    terms = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert len(cells) == 3, row
        english, chinese, where = cells
        assert re.search(r"[A-Za-z]", english), row
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"no Chinese term in {row}"
        assert re.search(r"\]\(#[\w-]+\)|\{doc\}|\{ref\}", where), f"no link in {row}"
        terms.append(english.lower())
    assert len(terms) == len(set(terms)), "a glossary term appears twice"
    assert terms == sorted(terms, key=lambda t: re.sub(r"[^a-z0-9 ]", "", t)), "glossary is not alphabetical"


# --------------------------------------------------------------------------- bibliography
def parse_bib(text: str) -> dict[str, dict[str, str]]:
    """A small BibTeX reader (entries, keys, brace-balanced fields), strict enough to catch typos."""
    entries = {}
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        kind, key = m.group(1).lower(), m.group(2)
        i, depth, start = m.end(), 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        assert depth == 0, f"unbalanced braces in entry {key}"
        body = text[start : i - 1]
        fields = dict((k.lower(), v.strip()) for k, v in re.findall(r"(\w+)\s*=\s*(\{(?:[^{}]|\{[^{}]*\})*\}|\d+)", body))
        assert key not in entries, f"duplicate key {key}"
        entries[key] = {"type": kind, **fields}
    return entries


def bib_keys() -> set[str]:
    return set(parse_bib((BOOK / "references.bib").read_text(encoding="utf-8")))


def test_bib_parses_and_has_required_fields():
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    entries = parse_bib(text)
    assert len(entries) == text.count("@"), "an entry did not parse"
    for key, e in entries.items():
        for field in ("author", "title", "year"):
            assert field in e, f"{key} has no {field}"
        assert re.fullmatch(r"\{?(19|20)\d\d\}?", e["year"]), f"{key}: year {e['year']}"
        assert e["type"] in {"article", "inproceedings", "incollection", "misc", "book", "techreport"}, key


def test_bib_with_pybtex_if_available():
    pybtex = pytest.importorskip("pybtex.database")
    data = pybtex.parse_file(str(BOOK / "references.bib"))
    assert set(data.entries) == bib_keys()


REQUIRED_PAPERS = [
    "kingma2015adam", "ioffe2015batch", "wu2018group", "ba2016layer", "ulyanov2016instance",
    "arjovsky2017wasserstein", "gulrajani2017improved", "miyato2018spectral", "heusel2017gans",
    "loshchilov2017sgdr", "micikevicius2018mixed", "bergstra2012random", "zhou2018deep",
]


def test_bib_has_the_papers_the_issue_names():
    missing = set(REQUIRED_PAPERS) - bib_keys()
    assert not missing, f"references.bib lacks {sorted(missing)}"


def test_references_page_lists_every_entry():
    page = (BOOK / "references.md").read_text(encoding="utf-8")
    assert "```{bibliography}" in page
    assert ":all:" in page or all(k in page for k in bib_keys())


# --------------------------------------------------------------------------- the question bank's own claims
# Answers to seed-E questions that no chapter covers make a few checkable statements; they are
# checked here, in float64 against torch / scikit-learn.
torch = pytest.importorskip("torch")


def test_e22_a_convolution_whose_kernel_covers_the_input_is_a_linear_layer():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    conv = torch.nn.Conv2d(3, 7, kernel_size=(4, 6)).double()
    lin = torch.nn.Linear(3 * 4 * 6, 7).double()
    with torch.no_grad():
        lin.weight.copy_(conv.weight.reshape(7, -1))
        lin.bias.copy_(conv.bias)
    out_c, out_l = conv(x).reshape(5, 7), lin(x.reshape(5, -1))
    torch.testing.assert_close(out_c, out_l, rtol=1e-12, atol=1e-12)
    (gc,) = torch.autograd.grad(out_c.sum(), x)
    (gl,) = torch.autograd.grad(out_l.sum(), x)
    torch.testing.assert_close(gc, gl, rtol=1e-12, atol=1e-12)


def test_e15_a_1x1_convolution_is_a_linear_map_over_channels_at_every_pixel():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 256, 5, 5, generator=g, dtype=torch.float64)
    conv = torch.nn.Conv2d(256, 64, kernel_size=1).double()
    lin = torch.nn.Linear(256, 64).double()
    with torch.no_grad():
        lin.weight.copy_(conv.weight[:, :, 0, 0])
        lin.bias.copy_(conv.bias)
    torch.testing.assert_close(conv(x), lin(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), rtol=1e-12, atol=1e-12)
    # the bottleneck's saving: 256 -> 64 channels before a 3x3 conv to 256 channels
    direct = 256 * 256 * 9
    bottleneck = 256 * 64 + 64 * 256 * 9
    assert bottleneck < 0.3 * direct


def test_e9_an_embedding_is_a_one_hot_vector_times_a_matrix():
    g = torch.Generator().manual_seed(2)
    emb = torch.nn.Embedding(50, 8).double()
    idx = torch.randint(0, 50, (30,), generator=g)
    one_hot = torch.nn.functional.one_hot(idx, 50).double()
    torch.testing.assert_close(emb(idx), one_hot @ emb.weight, rtol=1e-12, atol=1e-12)
    (ge,) = torch.autograd.grad(emb(idx).sum(), emb.weight)
    (gm,) = torch.autograd.grad((one_hot @ emb.weight).sum(), emb.weight)
    torch.testing.assert_close(ge, gm)
    assert int((ge.abs().sum(1) > 0).sum()) == len(set(idx.tolist()))  # only looked-up rows get gradient


def test_c6_momentum_with_coefficient_one_is_the_ema_form_with_a_rescaled_learning_rate():
    g = torch.Generator().manual_seed(3)
    grads = torch.randn(25, 4, generator=g, dtype=torch.float64)
    beta, lr = 0.9, 0.05
    # torch's SGD(momentum=beta): v = beta v + g, w -= lr v
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=beta)
    # the EMA form from zero: m = beta m + (1 - beta) g, w -= lr / (1 - beta) * m
    w_ema, m = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    for gt in grads:
        w.grad = gt.clone()
        opt.step()
        m = beta * m + (1 - beta) * gt
        w_ema = w_ema - lr / (1 - beta) * m
        torch.testing.assert_close(w.detach(), w_ema, rtol=1e-12, atol=1e-12)


def test_e12_the_perceptron_separates_linear_data_but_not_xor():
    import numpy as np
    from sklearn.linear_model import Perceptron

    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 2))
    y = (X @ np.array([1.0, -2.0]) + 0.3 > 0).astype(int)
    assert Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y).score(X, y) == 1.0
    xor_X, xor_y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 1, 1, 0])
    assert Perceptron(max_iter=1000, tol=None, random_state=0).fit(xor_X, xor_y).score(xor_X, xor_y) <= 0.75


def test_e35_a_linear_svm_does_well_with_more_features_than_samples():
    """Seed E Q35 says SVMs do badly when features outnumber samples: with 2,000 features and 100
    training samples a linear SVM is far above chance and beats a one-hidden-layer MLP."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import LinearSVC

    svm, mlp = [], []
    for seed in range(3):
        X, y = make_classification(n_samples=400, n_features=2000, n_informative=10, n_redundant=0, class_sep=1.5, random_state=seed)
        svm.append(LinearSVC(C=1.0, max_iter=20000).fit(X[:100], y[:100]).score(X[100:], y[100:]))
        mlp.append(MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0).fit(X[:100], y[:100]).score(X[100:], y[100:]))
    assert np.mean(svm) > 0.7, svm
    assert np.mean(svm) > np.mean(mlp) + 0.1, (svm, mlp)


def test_e37_fft_convolution_equals_direct_convolution():
    import numpy as np

    rng = np.random.default_rng(5)
    x, k = rng.normal(size=300), rng.normal(size=31)
    n = len(x) + len(k) - 1
    fft = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(k, n), n)
    np.testing.assert_allclose(fft, np.convolve(x, k), rtol=0, atol=1e-10)
