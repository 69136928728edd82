"""Build the question bank's flashcards: an Anki deck (``.apkg``, written with genanki) and a CSV.

Run from anywhere as ``.venv/bin/python book/_ext/flashcards.py`` (``make book`` does it before
building the site); it writes ``book/flashcards/dlnotes-questions.apkg`` and ``.csv``, which
``book/questions.md`` links for download. ``--out DIR`` writes elsewhere.

One note per entry of ``book/questions.md``. Front: the question in English and in Chinese.
Back: the answer, then a link to the chapter section that demonstrates it (the entry itself
when no chapter does). Tags: ``dlnotes::seed::A`` .. ``E`` and ``dlnotes::chapter::NN`` for every
chapter the answer links to. Each note's guid comes from its entry id (``q-e31``) alone, so a
rebuilt deck re-imported into Anki updates its cards instead of adding copies; the deck and
model ids are constants for the same reason, and the package's timestamps are fixed so that an
unchanged bank gives the same notes.

This module is not a Sphinx extension (it has no ``setup``); it only lives beside them.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sqlite3
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import genanki
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
BANK = ROOT / "book" / "questions.md"
OUT = ROOT / "book" / "flashcards"
STEM = "dlnotes-questions"
DECK_ID = 1_733_042_016  # constants: a rebuilt deck must be the same deck to Anki
MODEL_ID = 1_733_042_017
TIMESTAMP = 1_767_225_600.0  # 2026-01-01: fixed, so rebuilding an unchanged bank changes nothing
FIELDS = ["Id", "Question", "Chinese", "Answer", "Link"]

MODEL = genanki.Model(
    MODEL_ID, "dlnotes question",
    fields=[{"name": f} for f in FIELDS],
    templates=[{
        "name": "Question → answer",
        "qfmt": '<div class="id">{{Id}}</div><div class="q">{{Question}}</div><div class="zh">{{Chinese}}</div>',
        "afmt": '{{FrontSide}}<hr id="answer"><div class="a">{{Answer}}</div><p class="link">{{Link}}</p>',
    }],
    css=(".card{font-family:sans-serif;font-size:18px;text-align:left;max-width:42em;margin:auto}"
         ".id{color:#888;font-size:14px}.q{font-weight:bold}.zh{margin-top:.4em}.link{font-size:15px}"),
    sort_field_index=0,
)


@dataclass(frozen=True)
class Entry:
    """One question of the bank."""

    id: str  # "e31"
    label: str  # "E31"
    question: str  # English heading
    chinese: str  # the seed's wording (and keywords), Markdown
    answer: str  # Markdown


def entries(text: str | None = None) -> list[Entry]:
    """Every ``(q-xx)=`` entry of the question bank, in page order."""
    text = BANK.read_text(encoding="utf-8") if text is None else text
    parts = re.split(r"^\(q-([a-e]\d+b?)\)=\s*$", text, flags=re.M)
    found = []
    for qid, body in zip(parts[1::2], parts[2::2]):
        body = re.split(r"^\(q-|^## ", body, maxsplit=1, flags=re.M)[0]
        head = re.search(r"^### ([A-E]\d+B?)\. (.+)$", body, re.M)
        answer = re.search(r"^:::\{admonition\}[^\n]*\n(?::class:[^\n]*\n)?(.*?)^:::\s*$", body, re.M | re.S)
        if head is None or answer is None:
            raise ValueError(f"entry q-{qid} of the question bank has no ### heading or no answer block")
        chinese = body[head.end():answer.start()].strip()
        found.append(Entry(qid, head.group(1), head.group(2).strip(), chinese, answer.group(1).strip()))
    if not found:
        raise ValueError("the question bank has no (q-xx)= entries")
    return found


def book_url() -> str:
    """The published site: GitHub Pages of the repository named in ``_config.yml``."""
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url = re.search(r"^repository:\s*\n(?:\s+#.*\n)*\s+url:\s*(\S+)", config, re.M).group(1)
    owner, repo = url.rstrip("/").split("/")[-2:]
    return f"https://{owner}.github.io/{repo}"


def targets() -> dict[str, tuple[str, str]]:
    """MyST target -> (the page that defines it, e.g. ``notebooks/07_gradients``; the heading below it)."""
    where = {}
    pages = [*sorted((ROOT / "notebooks").glob("*.ipynb")), *sorted((ROOT / "book").glob("*.md"))]
    for path in pages:
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        else:
            text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^\(([\w-]+)\)=\s*\n+(.*)$", text, re.M):
            heading = m.group(2).lstrip("#").strip() if m.group(2).startswith("#") else m.group(1)
            where.setdefault(m.group(1), (path.relative_to(ROOT).with_suffix("").as_posix(), heading))
    return where


def _citations() -> dict[str, str]:
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    cites = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", bib, re.S):
        author = re.search(r"author\s*=\s*\{(.+?)\}\s*,?\s*\n", m.group(2), re.S)
        year = re.search(r"year\s*=\s*\{?(\d{4})", m.group(2))
        names = [a.split(",")[0].strip(" {}") for a in author.group(1).split(" and ")] if author else ["?"]
        who = names[0] if len(names) == 1 else f"{names[0]} & {names[1]}" if len(names) == 2 else f"{names[0]} et al."
        cites[m.group(1)] = f"{who}, {year.group(1) if year else 'n.d.'}"
    return cites


class Renderer:
    """Markdown of the bank -> HTML for a card: absolute links, MathJax delimiters Anki knows."""

    def __init__(self):
        self.base, self.where, self.cites = book_url(), targets(), _citations()
        self.md = MarkdownIt("commonmark")

    def url(self, target: str) -> str:
        if target not in self.where:
            raise ValueError(f"the question bank links to #{target}, which no page defines")
        return f"{self.base}/{self.where[target][0]}.html#{target}"

    def html(self, text: str, inline: bool = False) -> str:
        maths: list[str] = []

        def keep(m):
            maths.append(m.group(0))
            return f"MATH{len(maths) - 1}X"

        text = re.sub(r"\$\$.+?\$\$|\$[^$\n]+\$", keep, text, flags=re.S)
        text = re.sub(r"\{cite:[pt]\}`([^`]+)`",
                      lambda m: "(" + "; ".join(self.cites.get(k.strip(), k.strip()) for k in m.group(1).split(",")) + ")", text)
        text = re.sub(r"\]\(#([\w-]+)\)", lambda m: f"]({self.url(m.group(1))})", text)
        out = (self.md.renderInline(text) if inline else self.md.render(text)).strip()
        for i, m in enumerate(maths):
            inner = m[2:-2] if m.startswith("$$") else m[1:-1]
            tex = (r"\[" + inner + r"\]") if m.startswith("$$") else (r"\(" + inner + r"\)")
            out = out.replace(f"MATH{i}X", tex.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        return out

    def link(self, entry: Entry) -> tuple[str, list[int]]:
        """The first chapter section the answer links to (else the entry), and every chapter it links to."""
        linked = re.findall(r"\]\(#(ch(\d\d)[\w-]*)\)", entry.answer)
        chapters = sorted({int(n) for _, n in linked})
        if linked:
            target = linked[0][0]
            title = f"Chapter {int(linked[0][1])}, {self.where[target][1]}" if target in self.where else target
        else:
            target, title = f"q-{entry.id}", f"Question bank, {entry.label}"
        return f'Demonstrated in <a href="{self.url(target)}">{title}</a>', chapters


def _drills() -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Drill name -> (name, the question ids it answers, the stem of the notebook that holds it)."""
    found = {}
    for path in sorted((ROOT / "notebooks").glob("drills_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            m = re.match(r"\(drill-([\w-]+)\)=", src)
            if m and "- **Answers:**" in src:
                ids = tuple(re.findall(r"\(#q-([a-e]\d+b?)\)", src.split("- **Answers:**", 1)[1].split("\n", 1)[0]))
                name = m.group(1).replace("-", "_")
                found[name] = (name, tuple(i.upper() for i in ids), path.stem)
    return found


def notes(bank: list[Entry] | None = None) -> list[dict]:
    """Front, back, tags and the fields of every card."""
    render = Renderer()
    drills = _drills()
    cards = []
    for e in bank if bank is not None else entries():
        link, chapters = render.link(e)
        practise = [d for d in drills.values() if e.label in d[1]]
        if practise:
            link += "<br>Practise it in code: " + ", ".join(
                f'<a href="{render.base}/notebooks/{stem}.html#drill-{name.replace("_", "-")}">{name}</a>'
                for name, _, stem in practise)
        fields = {"Id": e.label, "Question": render.html(e.question, inline=True), "Chinese": render.html(e.chinese),
                  "Answer": render.html(e.answer), "Link": link}
        tags = ["dlnotes", f"dlnotes::seed::{e.label[0]}", *(f"dlnotes::chapter::{c:02d}" for c in chapters)]
        cards.append({"id": e.id, "guid": genanki.guid_for("dlnotes-question-bank", e.id), "fields": fields, "tags": tags,
                      "front": f"{e.label}. {fields['Question']}<br>{fields['Chinese']}",
                      "back": f"{fields['Answer']}<p>{link}</p>"})
    return cards


def write_apkg(cards: list[dict], path: Path) -> None:
    deck = genanki.Deck(DECK_ID, "dlnotes: deep-learning interview questions (深度学习面试题)")
    for card in cards:
        deck.add_note(genanki.Note(model=MODEL, fields=[card["fields"][f] for f in FIELDS], tags=card["tags"],
                                   guid=card["guid"], sort_field=card["fields"]["Id"]))
    package = genanki.Package(deck)
    fd, db = tempfile.mkstemp(suffix=".anki2")
    os.close(fd)
    try:  # genanki's write_to_file, with fixed timestamps inside and in the zip, so builds agree
        conn = sqlite3.connect(db)
        package.write_to_db(conn.cursor(), TIMESTAMP, iter(range(int(TIMESTAMP * 1000), 2**62)))
        conn.commit()
        conn.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in (("collection.anki2", Path(db).read_bytes()), ("media", b"{}")):
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    finally:
        os.unlink(db)


def write_csv(cards: list[dict], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["front", "back", "tags"])
    for card in cards:
        writer.writerow([card["front"], card["back"], " ".join(card["tags"])])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write {STEM}.apkg and .csv into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cards = notes()
    write_apkg(cards, args.out / f"{STEM}.apkg")
    write_csv(cards, args.out / f"{STEM}.csv")
    print(f"wrote {len(cards)} cards to {args.out / STEM}.apkg and .csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
