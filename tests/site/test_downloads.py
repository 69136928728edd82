"""The built site offers the question bank's flashcards: the question-bank page links the Anki deck
and the CSV, and the linked files are the ones `make book` wrote (book/flashcards/)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"


@pytest.mark.parametrize("name", ["dlnotes-questions.apkg", "dlnotes-questions.csv"])
def test_the_question_bank_page_links_the_flashcards(name):
    page = HTML / "book" / "questions.html"
    if not page.exists():
        pytest.fail(f"no built site at {HTML}: run `make book` first")
    links = re.findall(r'href="([^"]*_downloads/[^"]*/' + re.escape(name) + ')"', page.read_text(encoding="utf-8"))
    assert links, f"book/questions.html has no download link to {name}"
    served = (page.parent / links[0]).resolve()
    assert served.is_file(), f"the link {links[0]} points to no file"
    assert served.read_bytes() == (ROOT / "book" / "flashcards" / name).read_bytes()
    if name.endswith(".apkg"):
        with zipfile.ZipFile(served) as z:
            assert "collection.anki2" in z.namelist()
