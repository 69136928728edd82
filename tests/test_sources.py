"""The source notes in sources/ and their appendix pages book/sources/*.md."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_sources", ROOT / "book" / "_ext" / "sources.py")
sources = importlib.util.module_from_spec(_spec)
sys.modules["book_sources"] = sources
_spec.loader.exec_module(sources)

LETTERS = list(sources.NOTES)


def test_every_note_is_in_the_repository_and_utf8():
    for letter in LETTERS:
        text = sources.read(letter)
        assert re.search(r"[\u4e00-\u9fff]", text), f"note {letter} has no Chinese text"


def test_pages_are_up_to_date():
    for path, text in sources.pages().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(ROOT)} is stale: run .venv/bin/python book/_ext/sources.py"


@pytest.mark.parametrize("letter", LETTERS)
def test_every_heading_has_its_anchor_and_title_on_the_page(letter):
    page = (sources.PAGES / f"{letter}.md").read_text(encoding="utf-8")
    secs = [s for s in sources.sections(letter) if s.index]
    assert secs, letter
    if sources.sections(letter)[0].index == 0:
        assert f"(source-{letter.lower()}00)=" in page
    for s in secs:
        assert f"({s.anchor})=\n#" in page, f"{s.anchor} ({s.title}) missing from book/sources/{letter}.md"
    assert len(set(s.anchor for s in secs)) == len(secs)


def test_known_section_counts():
    """The structure the ledger and the question bank rely on (sources/README.md)."""
    assert sum(1 for s in sources.sections("E") if s.title.startswith("Q")) == 50  # Q1..Q49, Q3 twice
    assert [s.title for s in sources.sections("D") if s.level == 3][:2] == ["1. 深度学习优化器的区别，Adam和SGD", "2. 评价指标 相关知识"]
    a = [s.title for s in sources.sections("A") if re.match(r"^\d+\.", s.title) and s.level == 2]
    assert len(a) == 13, a


@pytest.mark.parametrize("letter", LETTERS)
def test_pages_load_nothing_from_outside_and_leave_no_raw_tex(letter):
    page = (sources.PAGES / f"{letter}.md").read_text(encoding="utf-8")
    body = re.sub(r"```.*?```", "", page, flags=re.S)
    body = re.sub(r"(`+).*?\1", "", body)
    assert not re.search(r"!\[[^\]]*\]\(", body), "a Markdown image survived"
    assert "<img" not in body.lower(), "an HTML image survived"
    assert not re.search(r"\$[^$\n]*\\[a-zA-Z]", body), "TeX outside code format (it would not typeset reliably)"
    assert "image not shown" in page or letter not in "ABCDE"


def test_placeholder_names_the_host_and_decodes_zhihu_formulas():
    assert sources._image("", "https://img-blog.csdnimg.cn/x.png") == "*[image: image not shown, it is hosted at img-blog.csdnimg.cn]*"
    assert sources._image("[公式]", "https://www.zhihu.com/equation?tex=w_%7Bt%2B1%7D") == "`w_{t+1}`"
    assert sources._image("Untitled", "DeepLearning/batch.png") == "*[Untitled: image not shown, the note refers to a file it does not include]*"


def test_multi_line_formulas_become_code_blocks():
    page = (sources.PAGES / "E.md").read_text(encoding="utf-8")
    assert "```latex\n        f(x) = \\frac{1}{1 + e^{-x}}\n        ```" in page
    assert not re.search(r"^\s*\\\[\s*$", page, re.M)


def test_links_to_files_the_notes_lack_become_text():
    assert sources._link("TOC", "深度学习面试笔试", {}) == "TOC"
    assert sources._link("x", "https://example.org", {}) == "[x](https://example.org)"


def test_bad_note_letter_is_rejected():
    with pytest.raises(ValueError, match="note must be one of"):
        sources.read("F")


def test_check_mode(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sources, "PAGES", tmp_path)
    assert sources.main(["--check"]) == 1
    assert sources.main([]) == 0
    assert sources.main(["--check"]) == 0
    with pytest.raises(SystemExit):
        sources.main(["--nope"])
