"""The seed ledger (sources/ledger/*.yaml): every statement of every source note, its kind, and
for a claim the claims row that tests it. See book/_ext/ledger.py for the format."""
from pathlib import Path

import pytest
import yaml

from book_ext import load as load_ext

ROOT = Path(__file__).resolve().parent.parent


ledger = load_ext("ledger")
sources = ledger.sources
LETTERS = list(sources.NOTES)


# --------------------------------------------------------------------------- the real ledger
def test_every_note_has_a_ledger_file_with_a_status():
    ledgers = ledger.load_all()
    assert sorted(ledgers) == LETTERS
    for led in ledgers.values():
        assert led.status in ("complete", "draft")


def test_the_ledger_is_sound():
    """Quotes verbatim, sections real, rows existing with the same verdict, bank entries existing;
    for complete notes also: every section has entries, every statement classified and every
    Chinese character of the note covered by a quote."""
    problems = ledger.check()
    assert not problems, f"{len(problems)} problem(s), e.g.:\n" + "\n".join(problems[:25])


def test_generated_pages_are_up_to_date():
    assert (ROOT / "book" / "ledger.md").read_text(encoding="utf-8") == ledger.render(), "run .venv/bin/python book/_ext/ledger.py"
    assert ledger.UNTESTED.read_text(encoding="utf-8") == ledger.render_untested(), "run .venv/bin/python book/_ext/ledger.py"


def test_page_totals_match_the_ledger():
    page = (ROOT / "book" / "ledger.md").read_text(encoding="utf-8")
    entries = [e for led in ledger.load_all().values() for e in led.entries()]
    claims = [e for e in entries if e.kind == "claim"]
    tested = [e for e in claims if e.tested]
    assert f"| **All notes** | | | **{len(entries)}** | **{len(claims)}** | **{len(tested)}** |" in page


def test_claims_and_intro_link_the_ledger():
    assert "{doc}`" in (ROOT / "book" / "claims.md").read_text(encoding="utf-8").split("/book/ledger>`")[0][-200:]
    assert "/book/ledger>`" in (ROOT / "book" / "intro.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the tools
@pytest.mark.parametrize("letter", LETTERS)
def test_the_skeleton_covers_every_chinese_character(letter):
    """The statement splitter loses nothing: its statements, as quotes, cover the whole note."""
    data = yaml.safe_load(ledger.skeleton(letter))
    for s in sources.sections(letter):
        quotes = [e["quote"] for e in data["sections"][s.id]["entries"] or []]
        text = ledger.plain(s.text)
        assert all(q in text for q in quotes), s.id
        done, total = ledger.coverage(s.text, quotes)
        assert done == total, f"{s.id}: {done}/{total}"
        assert ledger.coverage(s.text, quotes, heading=s.index > 0)[0] == ledger.coverage(s.text, quotes, heading=s.index > 0)[1]


def test_plain_drops_markup_and_decodes_zhihu_formulas():
    assert ledger.plain("**梯度**  `消失`\n> 引用") == "梯度 消失 引用"
    assert ledger.plain("学习率 ![[公式]](https://www.zhihu.com/equation?tex=%5Calpha) 。") == "学习率 $\\alpha$ 。"
    assert ledger.plain("![在这里插入图片描述](/x.png)文字") == "文字"


def test_coverage_counts_only_unquoted_chinese():
    assert ledger.coverage("深度学习。优化。", ["深度学习。"]) == (4, 6)
    assert ledger.coverage("深度学习。优化。", ["深度学习。", "优化。"]) == (6, 6)
    assert ledger.coverage("## 标题\n深度学习。", ["深度学习。"], heading=True) == (4, 4)
    assert ledger.coverage("## 标题\n深度学习。", ["深度学习。"]) == (4, 6)


# --------------------------------------------------------------------------- the checker can fail
ROWS = {"05_optimizers#20": ("notebooks/05_optimizers", "Ch 5", "fails"), "09_metrics#4": ("notebooks/09_metrics", "Ch 9", "holds")}
BANK = {"D2", "A9"}


def _one(quote, sid="d20", letter="D", status="draft", **fields):
    heading = next(s.title for s in sources.sections(letter) if s.id == sid)
    led = ledger.NoteLedger(letter, status, {sid: (heading, [ledger.Entry(quote=quote, **fields)])})
    return ledger.check({letter: led}, ROWS, BANK)


def test_checker_accepts_a_sound_entry():
    assert _one("Sigmoid函数饱和使梯度消失。", kind="claim", verdict="fails", row="05_optimizers#20") == []
    assert _one("Sigmoid函数饱和使梯度消失。", kind="claim", chapter=8, expect="holds", why="x") == []


@pytest.mark.parametrize(
    "quote, fields, message",
    [
        ("Sigmoid函数从不饱和。", dict(kind="definition"), "not found verbatim"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="claim", verdict="holds", row="05_optimizers#20"), "row 05_optimizers#20 says 'fails'"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="claim", verdict="holds", row="05_optimizers#99"), "does not exist"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="claim", verdict="holds"), "needs a row"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="claim"), "names its chapter"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="question", question="D9"), "does not exist"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="question"), "names its bank entry"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="fact"), "kind must be one of"),
        ("Sigmoid函数饱和使梯度消失。", dict(kind="opinion", verdict="holds"), "only a claim"),
    ],
)
def test_checker_rejects(quote, fields, message):
    problems = _one(quote, **fields)
    assert any(message in p for p in problems), problems


def test_complete_note_needs_every_section_every_row_and_full_coverage():
    problems = _one("Sigmoid函数饱和使梯度消失。", status="complete", kind="claim", chapter=8)
    assert any("claim without a row in a complete note" in p for p in problems)
    assert any("d01: section" in p and "has no entries" in p for p in problems)
    assert any("d20: quotes cover" in p for p in problems)
    assert any("unclassified" in p for p in _one("Sigmoid函数饱和使梯度消失。", status="complete", kind="todo"))


def test_heading_must_match_and_section_must_exist():
    led = ledger.NoteLedger("D", "draft", {"d20": ("Tanh", []), "d99": ("x", [])})
    problems = ledger.check({"D": led}, ROWS, BANK)
    assert any("is not the section's 'Sigmoid'" in p for p in problems)
    assert any("has no section d99" in p for p in problems)


def test_load_rejects_malformed_files(tmp_path):
    (tmp_path / "D.yaml").write_text("note: D\nstatus: done\n", encoding="utf-8")
    with pytest.raises(ValueError, match="status must be one of"):
        ledger.load("D", tmp_path)
    (tmp_path / "D.yaml").write_text("note: D\nstatus: draft\nsections:\n  d20:\n    heading: Sigmoid\n    entries:\n      - quote: x\n        kind: claim\n        color: red\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field"):
        ledger.load("D", tmp_path)
    (tmp_path / "D.yaml").write_text("note: E\nstatus: draft\n", encoding="utf-8")
    with pytest.raises(ValueError, match="note: D"):
        ledger.load("D", tmp_path)


def test_check_mode_fails_on_a_stale_page(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ledger, "PAGE", tmp_path / "ledger.md")
    monkeypatch.setattr(ledger, "UNTESTED", tmp_path / "UNTESTED.md")
    monkeypatch.setattr(ledger, "check", lambda: [])
    assert ledger.main(["--check"]) == 1
    assert ledger.main([]) == 0
    assert ledger.main(["--check"]) == 0
    with pytest.raises(SystemExit):
        ledger.main(["--bogus"])


def test_sync_verdicts_copies_the_rows_verdict(tmp_path):
    (tmp_path / "D.yaml").write_text(
        "note: D\nstatus: draft\nsections:\n  d20:\n    heading: Sigmoid\n    entries:\n"
        "      - quote: Sigmoid函数饱和使梯度消失。\n        kind: claim\n        verdict: holds\n        row: 05_optimizers#20\n"
        "      - quote: 存在问题：\n        kind: pointer\n", encoding="utf-8")
    assert ledger.sync_verdicts(tmp_path, ROWS) == ["D.yaml: 05_optimizers#20 holds -> fails"]
    led = ledger.load("D", tmp_path)
    assert led.sections["d20"][1][0].verdict == "fails" and led.sections["d20"][1][1].kind == "pointer"
    assert ledger.sync_verdicts(tmp_path, ROWS) == []


def test_every_note_is_fully_classified():
    """Stronger than the status requires: every note, draft or not, has every section in the
    ledger, every statement classified and every Chinese character quoted; what keeps a note a
    draft is only its claims that no row tests yet (sources/ledger/UNTESTED.md)."""
    ledgers = ledger.load_all()
    for led in ledgers.values():
        led.status = "complete"
    problems = [p for p in ledger.check(ledgers) if "claim without a row in a complete note" not in p]
    assert not problems, "\n".join(problems[:20])


def test_row_notes_are_appended_to_the_untested_page(monkeypatch, tmp_path):
    """sources/ledger/row_notes.md (hand-written) ends UNTESTED.md; without it the section is left out."""
    notes = tmp_path / "row_notes.md"
    monkeypatch.setattr(ledger, "ROW_NOTES", notes)
    assert "Notes for the chapters" not in ledger.render_untested()
    notes.write_text("- **Ch. 8 row 18** mixes a cause and a symptom.\n", encoding="utf-8")
    page = ledger.render_untested()
    assert page.rstrip().endswith("- **Ch. 8 row 18** mixes a cause and a symptom.")
    assert "## Notes for the chapters" in page
