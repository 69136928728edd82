"""The seed ledger: every statement of every source note, what kind it is, and where it is tested.

``sources/ledger/<A..E>.yaml`` holds one note each::

    note: D
    status: complete            # or draft: not every statement is classified / tested yet
    sections:
      d20:                      # a section id of book/_ext/sources.py (note D, 20th heading)
        heading: Sigmoid        # must equal that heading, so ids cannot silently drift
        entries:
          - quote: Sigmoid函数饱和使梯度消失      # verbatim (see plain() below)
            kind: claim         # claim | definition | question | opinion | pointer | todo (draft only)
            verdict: holds      # claims only: holds | fails | depends
            row: 08_vanishing_exploding#3     # claims only: notebook stem # row of its Claims checked table
          - quote: ...
            kind: claim
            chapter: 8          # a claim no row tests yet: the chapter it belongs to (0: the question bank), and
            expect: fails       # the verdict the text suggests (not evidence: no row measured it)
            why: the sum of ... # one line: what the experiment should show
          - quote: ...
            kind: question
            question: D3        # the question-bank entry (q-d3) of book/questions.md

Checks (``check()``, run by ``tests/test_ledger.py``):

* every quote occurs in its section, verbatim apart from Markdown and HTML markup: images are
  dropped (a Zhihu formula image counts as its TeX, ``$...$``), emphasis, code marks and block-quote
  marks are removed, and runs of white space count as one space (``plain()``);
* sections exist and carry their heading; in a complete note every section has entries, every
  entry a kind other than ``todo``, every claim a row, and the quotes cover every Chinese
  character of the note's text (``coverage()``) -- the test of "every statement";
* a claim's row exists in that notebook's Claims checked table and carries the same verdict;
* a question names an entry of the question bank.

Run ``.venv/bin/python book/_ext/ledger.py`` to write ``book/ledger.md`` and
``sources/ledger/UNTESTED.md`` (which ends with the hand-written ``sources/ledger/row_notes.md``:
claims rows whose verdict or scope does not fit the sentences that would link them); ``--check``
exits 1 when either is stale or the ledger has an error (``make book`` runs it);
``--sync-verdicts`` copies the current verdict of every linked claims row into the ledger files
(after a chapter changed one) and regenerates the pages;
``--skeleton D`` prints the statements of note D, one entry each, for a reviewer to classify.
This module is not a Sphinx extension.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "sources" / "ledger"
PAGE = ROOT / "book" / "ledger.md"
UNTESTED = LEDGER / "UNTESTED.md"
ROW_NOTES = LEDGER / "row_notes.md"  # hand-written: claims rows whose verdict or scope does not fit the sentences
QUESTIONS = ROOT / "book" / "questions.md"
KINDS = ("claim", "definition", "question", "opinion", "pointer")
VERDICTS = ("holds", "fails", "depends")
STATUSES = ("complete", "draft")


def _load_sibling(name: str):
    key = f"book_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


sources = _load_sibling("sources")
claims = _load_sibling("claims")


# --------------------------------------------------------------------------- text
ledger_text = _load_sibling("ledger_text")
plain, coverage, statements, _yaml_str = ledger_text.plain, ledger_text.coverage, ledger_text.statements, ledger_text._yaml_str


def skeleton(letter: str) -> str:
    """A draft ledger file for note ``letter``: every statement of every section, ``kind: todo``."""
    return ledger_text.skeleton(letter, sources.sections)


# --------------------------------------------------------------------------- model
@dataclass
class Entry:
    quote: str
    kind: str
    verdict: str | None = None
    row: str | None = None
    question: str | None = None
    chapter: int | None = None
    expect: str | None = None
    why: str | None = None

    @property
    def tested(self) -> bool:
        return self.kind == "claim" and bool(self.row)


@dataclass
class NoteLedger:
    note: str
    status: str
    sections: dict[str, tuple[str, list[Entry]]] = field(default_factory=dict)  # id -> (heading, entries)

    def entries(self) -> list[Entry]:
        return [e for _, es in self.sections.values() for e in es]


FIELDS = {"quote", "kind", "verdict", "row", "question", "chapter", "expect", "why"}


def load(letter: str, directory: Path | None = None) -> NoteLedger:
    """Read ``sources/ledger/<letter>.yaml``; raise ValueError on a malformed file."""
    path = (directory or LEDGER) / f"{letter}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("note") != letter:
        raise ValueError(f"{path.name}: must be a mapping with note: {letter}")
    if data.get("status") not in STATUSES:
        raise ValueError(f"{path.name}: status must be one of {STATUSES}, got {data.get('status')!r}")
    led = NoteLedger(letter, data["status"])
    for sid, sec in (data.get("sections") or {}).items():
        if not isinstance(sec, dict) or "heading" not in sec:
            raise ValueError(f"{path.name}: section {sid} needs a heading")
        entries = []
        for raw in sec.get("entries") or []:
            unknown = set(raw) - FIELDS
            if unknown:
                raise ValueError(f"{path.name}: section {sid}: unknown field(s) {sorted(unknown)} in {raw!r}")
            if "quote" not in raw or "kind" not in raw:
                raise ValueError(f"{path.name}: section {sid}: an entry needs quote and kind: {raw!r}")
            entries.append(Entry(**{k: raw[k] for k in raw}))
        led.sections[str(sid)] = (str(sec["heading"]), entries)
    return led


def load_all(directory: Path | None = None) -> dict[str, NoteLedger]:
    d = directory or LEDGER
    return {letter: load(letter, d) for letter in sources.NOTES if (d / f"{letter}.yaml").exists()}


def claim_rows(root: Path = ROOT) -> dict[str, tuple[str, str, str]]:
    """'05_optimizers#12' -> (doc, chapter title, verdict) for every Claims checked row."""
    found = {}
    for ch in claims.chapters(root):
        stem = ch.doc.rsplit("/", 1)[-1]
        for row in ch.rows:
            found[f"{stem}#{row[0]}"] = (ch.doc, ch.title, claims.verdict(row))
    return found


def bank_ids(path: Path = QUESTIONS) -> set[str]:
    """'D3' for every ``(q-d3)=`` target of the question bank."""
    return {m.upper() for m in re.findall(r"^\(q-([a-e]\d+b?)\)=", path.read_text(encoding="utf-8"), re.M)}


# --------------------------------------------------------------------------- checks
def check(ledgers: dict[str, NoteLedger] | None = None, rows=None, bank=None) -> list[str]:
    """Every problem of the ledger, as one line each (empty when it is sound)."""
    ledgers = load_all() if ledgers is None else ledgers
    rows = claim_rows() if rows is None else rows
    bank = bank_ids() if bank is None else bank
    problems = []
    for letter, led in ledgers.items():
        secs = {s.id: s for s in sources.sections(letter)}
        complete = led.status == "complete"
        for sid, (heading, entries) in led.sections.items():
            where = f"{letter} {sid}"
            if sid not in secs:
                problems.append(f"{where}: note {letter} has no section {sid}")
                continue
            if heading != secs[sid].title:
                problems.append(f"{where}: heading {heading!r} is not the section's {secs[sid].title!r}")
            text = plain(secs[sid].text)
            for e in entries:
                short = e.quote[:30]
                if not isinstance(e.quote, str) or not e.quote.strip():
                    problems.append(f"{where}: empty quote")
                    continue
                if e.quote not in text:
                    problems.append(f"{where}: quote not found verbatim in the section: {short!r}")
                if e.kind == "todo":
                    if complete:
                        problems.append(f"{where}: unclassified entry in a complete note: {short!r}")
                    continue
                if e.kind not in KINDS:
                    problems.append(f"{where}: kind must be one of {KINDS}, got {e.kind!r}")
                    continue
                if e.kind != "claim" and (e.verdict or e.row or e.expect or e.chapter):
                    problems.append(f"{where}: only a claim has a verdict, row, chapter or expect: {short!r}")
                if e.kind != "question" and e.question:
                    problems.append(f"{where}: only a question names a bank entry: {short!r}")
                if e.kind == "claim":
                    if e.row:
                        if e.row not in rows:
                            problems.append(f"{where}: row {e.row} does not exist (claim {short!r})")
                        elif e.verdict != rows[e.row][2]:
                            problems.append(f"{where}: verdict {e.verdict!r} but row {e.row} says {rows[e.row][2]!r} (claim {short!r})")
                        if e.expect or e.chapter:
                            problems.append(f"{where}: a tested claim needs no expect/chapter: {short!r}")
                    else:
                        if e.verdict:
                            problems.append(f"{where}: a verdict needs a row that measured it (use expect): {short!r}")
                        if complete:
                            problems.append(f"{where}: claim without a row in a complete note: {short!r}")
                        if e.expect is not None and e.expect not in VERDICTS:
                            problems.append(f"{where}: expect must be one of {VERDICTS}: {short!r}")
                        if not isinstance(e.chapter, int) or not 0 <= e.chapter <= 10:
                            problems.append(f"{where}: an untested claim names its chapter (1-10, 0 for the question bank): {short!r}")
                if e.kind == "question":
                    if not e.question:
                        problems.append(f"{where}: a question names its bank entry: {short!r}")
                    elif str(e.question).upper() not in bank:
                        problems.append(f"{where}: question-bank entry {e.question} does not exist")
        if complete:
            for sid, s in secs.items():
                entries = led.sections.get(sid, ("", []))[1]
                if not entries:
                    problems.append(f"{letter} {sid}: section {s.title!r} has no entries")
                    continue
                done, total = coverage(s.text, [e.quote for e in entries], heading=s.index > 0)
                if done < total:
                    problems.append(f"{letter} {sid}: quotes cover {done} of {total} Chinese characters of {s.title!r}")
    return problems


# --------------------------------------------------------------------------- page
def _esc(text: str) -> str:
    """Text for a Markdown table cell. Quotes holding TeX go in code format: the notes' formulas
    are often malformed, and typeset or left raw they would break the page's math check."""
    text = text.replace("\n", " ")
    if "$" in text or "\\" in text:
        return sources._code(text).replace("|", "\\|")
    return text.replace("|", "\\|").replace("`", "'").replace("*", "\\*").replace("<", "&lt;")


def _verdict_cell(e: Entry, rows) -> str:
    if e.tested:
        doc, _, v = rows.get(e.row, ("", "", e.verdict))
        stem, num = e.row.split("#")
        return f"**{e.verdict}**, {{doc}}`{claims._short('notebooks/' + stem)} </{doc}>` row {num}"
    guess = f" (text suggests *{e.expect}*)" if e.expect else ""
    return f"untested: {_where(e.chapter)}{guess}"


def _where(chapter) -> str:
    return "question bank" if chapter == 0 else f"ch. {chapter}"


def render(ledgers: dict[str, NoteLedger] | None = None, rows=None) -> str:
    ledgers = load_all() if ledgers is None else ledgers
    rows = claim_rows() if rows is None else rows
    out = [
        "<!-- Generated by book/_ext/ledger.py from sources/ledger/*.yaml. Do not edit:",
        "     run `.venv/bin/python book/_ext/ledger.py` after changing the ledger or a claims table. -->",
        "",
        "(book-ledger)=",
        "# The seed ledger (原始笔记逐句核查)",
        "",
        "Every statement of every {doc}`source note </book/sources/index>`, sentence by sentence and",
        "bullet by bullet, sorted into five kinds: a **claim** (testable), a **definition**, a",
        "**question**, an **opinion** or a **pointer** (a link or reference). A claim carries the",
        "verdict of the {doc}`claims row </book/claims>` that tests it; a question, the entry of the",
        "{doc}`question bank </book/questions>` that answers it. A note marked *draft* is not fully",
        "audited yet: some statements are unclassified, or some claims have no experiment yet",
        "(listed as *untested*, with the chapter they belong to).",
        "",
        "(ledger-summary)=",
        "## Totals by note",
        "",
        "| Note | Status | Sections | Statements | Claims | tested | holds | fails | depends | untested | unclassified |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    grand = Counter()
    for letter, led in ledgers.items():
        c = _counts(led.entries())
        grand.update(c)
        nsec = len(sources.sections(letter))
        out.append(f"| {{doc}}`{letter} </book/sources/{letter}>` | {led.status} | {nsec} | {c['statements']} | {c['claim']} | {c['tested']} | "
                   f"{c['holds']} | {c['fails']} | {c['depends']} | {c['untested']} | {c['todo']} |")
    out += [f"| **All notes** | | | **{grand['statements']}** | **{grand['claim']}** | **{grand['tested']}** | **{grand['holds']}** | "
            f"**{grand['fails']}** | **{grand['depends']}** | **{grand['untested']}** | **{grand['todo']}** |", ""]
    for letter, led in ledgers.items():
        note = sources.NOTES[letter]
        out += [f"(ledger-{letter.lower()})=", f"## Note {letter}: {note.title} ({note.title_zh})", "",
                f"Status: **{led.status}**.", "",
                "| Section | Statements | claims | holds | fails | depends | untested | other kinds |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for s in sources.sections(letter):
            entries = led.sections.get(s.id, ("", []))[1]
            c = _counts(entries)
            title = _esc(s.title if len(s.title) <= 40 else s.title[:39] + "…")
            other = ", ".join(f"{c[k]} {k}{'s' if c[k] > 1 else ''}" for k in ("definition", "question", "opinion", "pointer") if c[k])
            out.append(f"| [{s.id} {title}](#{s.anchor}) | {c['statements']} | {c['claim']} | {c['holds']} | {c['fails']} | "
                       f"{c['depends']} | {c['untested']} | {other} |")
        out.append("")
        claim_entries = [(s, e) for s in sources.sections(letter) for e in led.sections.get(s.id, ("", []))[1] if e.kind == "claim"]
        if claim_entries:
            out += [f"Claims of note {letter}:", "", "| Section | Claim (原文) | Verdict |", "| --- | --- | --- |"]
            for s, e in claim_entries:
                out.append(f"| [{s.id}](#{s.anchor}) | {_esc(e.quote)} | {_verdict_cell(e, rows)} |")
            out.append("")
    return "\n".join(out)


def _counts(entries: list[Entry]) -> Counter:
    c = Counter(statements=len(entries))
    for e in entries:
        c[e.kind] += 1
        if e.kind == "claim":
            if e.tested:
                c["tested"] += 1
                c[e.verdict] += 1
            else:
                c["untested"] += 1
    return c


def render_untested(ledgers: dict[str, NoteLedger] | None = None) -> str:
    ledgers = load_all() if ledgers is None else ledgers
    out = [
        "<!-- Generated by book/_ext/ledger.py from sources/ledger/*.yaml. Do not edit. -->",
        "",
        "# Testable claims of the notes that no claims row tests yet",
        "",
        "Each needs a row (with an experiment and an assert) in the chapter named; then set its",
        "`row:` and `verdict:` in `sources/ledger/<note>.yaml` and drop `chapter`, `expect` and `why`.",
        "`expect` is what a reading of the text suggests, not a measurement.",
        "",
    ]
    for letter, led in ledgers.items():
        items = [(sid, e) for sid, (_, es) in led.sections.items() for e in es if e.kind == "claim" and not e.tested]
        out += [f"## Note {letter} ({led.status}): {len(items)} untested", ""]
        if items:
            out += ["| Section | Chapter | Claim | Expect | What to show |", "| --- | ---: | --- | --- | --- |"]
            for sid, e in sorted(items, key=lambda t: (t[1].chapter or 99, t[0])):
                out.append(f"| {sid} | {_where(e.chapter)} | {_esc(e.quote)} | {e.expect or ''} | {_esc(e.why or '')} |")
            out.append("")
        unclassified = sum(1 for e in led.entries() if e.kind == "todo")
        missing = [s.id for s in sources.sections(letter) if not led.sections.get(s.id, ("", []))[1]]
        if unclassified or missing:
            out += [f"Not yet audited in note {letter}: {unclassified} unclassified statements"
                    + (f"; sections without entries: {', '.join(missing)}" if missing else "") + ".", ""]
    notes = ROW_NOTES.read_text(encoding="utf-8").strip() if ROW_NOTES.exists() else ""
    if notes:
        out += ["## Notes for the chapters: rows whose verdict or scope does not fit the notes' sentences", "",
                f"Copied from `sources/ledger/{ROW_NOTES.name}` (edit it there). The rows themselves are left as",
                "they are; each note says what the chapter should add or split.", "", notes, ""]
    return "\n".join(out)


_VERDICT_ROW = re.compile(r"^(\s+verdict: )(holds|fails|depends)\n(\s+row: )(\S+)$", re.M)


def sync_verdicts(directory: Path | None = None, rows=None) -> list[str]:
    """Copy each linked row's current verdict into the ledger files (after a chapter changed one).

    Only the ``verdict:`` line right above a ``row:`` line is rewritten; everything else in the
    files stays as it is. Returns one line per change."""
    rows = claim_rows() if rows is None else rows
    changes = []
    for path in sorted((directory or LEDGER).glob("[A-E].yaml")):
        text = path.read_text(encoding="utf-8")

        def fix(m: re.Match) -> str:
            row = m.group(4)
            if row in rows and rows[row][2] != m.group(2):
                changes.append(f"{path.name}: {row} {m.group(2)} -> {rows[row][2]}")
                return f"{m.group(1)}{rows[row][2]}\n{m.group(3)}{row}"
            return m.group(0)

        new = _VERDICT_ROW.sub(fix, text)
        if new != text:
            path.write_text(new, encoding="utf-8")
    return changes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--skeleton"] and len(argv) == 2:
        print(skeleton(argv[1]), end="")
        return 0
    if argv == ["--sync-verdicts"]:
        for line in sync_verdicts():
            print(line)
        argv = []
    unknown = [a for a in argv if a != "--check"]
    if unknown:
        raise SystemExit(f"usage: ledger.py [--check] | --sync-verdicts | --skeleton NOTE; unknown argument(s) {unknown}")
    problems = check()
    for p in problems:
        print("ledger:", p)
    outputs = {PAGE: render(), UNTESTED: render_untested()}
    stale = [p for p, text in outputs.items() if (p.read_text(encoding="utf-8") if p.exists() else None) != text]
    if "--check" in argv:
        for p in stale:
            print(f"{sources._rel(p)} is out of date: run .venv/bin/python book/_ext/ledger.py")
        if not stale and not problems:
            print("the ledger is sound and its pages are up to date")
        return 1 if stale or problems else 0
    for p in stale:
        p.write_text(outputs[p], encoding="utf-8")
        print(f"wrote {sources._rel(p)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
