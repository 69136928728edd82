"""The question bank as flashcards: the .apkg is a zip holding an SQLite collection with one note
per bank entry, no empty field, and the same note ids (guids) on every build; the CSV has the
same cards; the committed deck and CSV are what the builder writes from today's bank."""
from __future__ import annotations

import csv
import importlib.util
import re
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("genanki")
ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_flashcards", ROOT / "book" / "_ext" / "flashcards.py")
flashcards = importlib.util.module_from_spec(_spec)
sys.modules["book_flashcards"] = flashcards  # dataclasses look the module up
_spec.loader.exec_module(flashcards)

BANK_IDS = re.findall(r"^\(q-([a-e]\d+b?)\)=", (ROOT / "book" / "questions.md").read_text(encoding="utf-8"), re.M)


def read_apkg(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as z:
        assert "collection.anki2" in z.namelist()
        data = z.read("collection.anki2")
    db = Path(tempfile.mkdtemp()) / "collection.anki2"  # never beside the deck: book/ is the repository
    db.write_bytes(data)
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("select id, guid, mid, tags, flds, sfld from notes order by sfld").fetchall()
        cards = conn.execute("select nid, did from cards").fetchall()
    finally:
        conn.close()
    assert len(cards) == len(rows), "one card per note"
    assert len({did for _, did in cards}) == 1 and cards[0][1] == flashcards.DECK_ID
    return [{"id": r[0], "guid": r[1], "mid": r[2], "tags": r[3].split(), "fields": r[4].split("\x1f"), "sort": r[5]}
            for r in rows]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = []
    for i in range(2):
        folder = tmp_path_factory.mktemp(f"build{i}")
        assert flashcards.main(["--out", str(folder)]) == 0
        out.append(folder)
    return out


def test_one_note_per_bank_entry(builds):
    notes = read_apkg(builds[0] / "dlnotes-questions.apkg")
    assert len(BANK_IDS) >= 90
    assert len(notes) == len(BANK_IDS)
    assert sorted(n["fields"][0].lower() for n in notes) == sorted(BANK_IDS)
    assert {n["mid"] for n in notes} == {flashcards.MODEL_ID}


def test_no_field_is_empty(builds):
    for note in read_apkg(builds[0] / "dlnotes-questions.apkg"):
        assert len(note["fields"]) == len(flashcards.FIELDS)
        for name, value in zip(flashcards.FIELDS, note["fields"]):
            assert re.sub(r"<[^>]+>", "", value).strip(), f"{note['fields'][0]}: field {name} is empty"


def test_front_has_english_and_chinese_back_has_the_answer_and_a_chapter_link(builds):
    for note in read_apkg(builds[0] / "dlnotes-questions.apkg"):
        label, question, chinese, answer, link = note["fields"]
        assert re.search(r"[A-Za-z]{3}", question) and re.search(r"[\u4e00-\u9fff]", chinese), label
        assert 'href="https://dlnotes.github.io/dlnotes/' in link, label
        assert "](#" not in answer and "{cite" not in answer, f"{label}: Markdown left in the answer"
        assert "$" not in answer.replace("\\$", ""), f"{label}: $-math not converted for Anki"
        seed = f"dlnotes::seed::{label[0]}"
        assert seed in note["tags"], label
        chapters = {int(n) for n in re.findall(r"notebooks/(\d\d)_", answer)}
        assert {f"dlnotes::chapter::{c:02d}" for c in chapters} <= set(note["tags"]), label


def test_note_ids_are_stable_across_builds(builds):
    first, second = (read_apkg(b / "dlnotes-questions.apkg") for b in builds)
    assert [(n["guid"], n["id"], n["fields"]) for n in first] == [(n["guid"], n["id"], n["fields"]) for n in second]
    assert len({n["guid"] for n in first}) == len(first), "two notes share a guid"
    # the guid depends on the entry id only: a reworded answer updates the same note on re-import
    entry = flashcards.entries()[0]
    changed = flashcards.Entry(entry.id, entry.label, entry.question, entry.chinese, entry.answer + " More.")
    assert flashcards.notes([changed])[0]["guid"] == flashcards.notes([entry])[0]["guid"]
    assert (builds[0] / "dlnotes-questions.apkg").read_bytes() == (builds[1] / "dlnotes-questions.apkg").read_bytes()


def test_csv_has_front_back_tags_for_every_card(builds):
    rows = list(csv.reader((builds[0] / "dlnotes-questions.csv").open(encoding="utf-8")))
    assert rows[0] == ["front", "back", "tags"]
    assert len(rows) - 1 == len(BANK_IDS)
    assert all(all(cell.strip() for cell in row) for row in rows[1:])


def test_the_committed_deck_and_csv_hold_every_entry_of_todays_bank(builds):
    """`make book` rewrites them; the committed copies (what a bare `jupyter-book build` links)
    must at least hold one card per current entry, under the ids the builder gives. Reworded
    answers or headings elsewhere in the book only need `book/_ext/flashcards.py` to be rerun."""
    committed = ROOT / "book" / "flashcards"
    fresh = read_apkg(builds[0] / "dlnotes-questions.apkg")
    stored = read_apkg(committed / "dlnotes-questions.apkg")
    assert [(n["guid"], n["sort"]) for n in stored] == [(n["guid"], n["sort"]) for n in fresh], \
        "the committed deck is stale: run book/_ext/flashcards.py"
    rows = list(csv.reader((committed / "dlnotes-questions.csv").open(encoding="utf-8")))
    assert len(rows) - 1 == len(BANK_IDS), "the committed CSV is stale: run book/_ext/flashcards.py"


def test_the_question_bank_links_both_downloads():
    page = (ROOT / "book" / "questions.md").read_text(encoding="utf-8")
    head = page.split("(q-seed-a)=", 1)[0]
    for name in ("dlnotes-questions.apkg", "dlnotes-questions.csv"):
        assert f"<flashcards/{name}>`" in head and "{download}`" in head


def test_a_bank_entry_without_an_answer_stops_the_builder():
    with pytest.raises(ValueError, match="q-a1 .* no answer block"):
        flashcards.entries("(q-a1)=\n### A1. A question?\n\n问题\n")
    with pytest.raises(ValueError, match="no \\(q-xx\\)= entries"):
        flashcards.entries("# nothing here\n")
