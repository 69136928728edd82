"""The five source notes: their sections, and the appendix pages ``book/sources/*.md``.

``sources/`` holds the notes byte for byte as they were given (Markdown with raw HTML, written
in Chinese). This module is the one reader of their structure, shared by the appendix pages
and the seed ledger (``book/_ext/ledger.py``):

* :func:`sections` splits a note into its headings: Markdown ``#`` headings outside code fences
  and block quotes, the raw ``<h1>``..``<h3>`` headings of note A, and the ``- Q12 **...**``
  questions of note E. Each section gets a stable id (``d07``: note D, 7th heading; ``d00`` is
  the text before the first heading) and an anchor ``source-d07`` on its page, so that a claim
  can link to the exact passage (``[D §6](#source-d30)``).
* :func:`render` writes a note as a MyST page: headings kept (levels made consecutive under
  the page title), images replaced by a short placeholder (they point to outside hosts, which
  the site never loads), formulas shown as the TeX the note wrote, in code format (several
  are malformed and would not typeset), internal links of the notes' own tables of contents
  pointed at the new anchors, links to files the notes do not ship turned into plain text.

Run ``.venv/bin/python book/_ext/sources.py`` to regenerate the pages, ``--check`` to exit 1
when one is stale (``make book`` does). This module is not a Sphinx extension.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "sources"
PAGES = ROOT / "book" / "sources"


@dataclass(frozen=True)
class Note:
    letter: str
    file: str
    title: str  # English
    title_zh: str


NOTES = {
    n.letter: n
    for n in (
        Note("A", "A_interview_qa.md", "Interview Q&A: generalization, normalization, GAN tricks, hyperparameters, optimizers, gradients", "面试问答"),
        Note("B", "B_optimization_interview.md", "Optimization methods for interviews", "深度学习的优化方法"),
        Note("C", "C_optimization_course.md", "Course notes on optimization algorithms", "优化算法课程笔记"),
        Note("D", "D_optimizers_metrics.md", "Optimizers, metrics, activations, overfitting, gradient problems", "优化器、评价指标、激活函数、过拟合、梯度问题"),
        Note("E", "E_49_questions.md", "Deep-learning fundamentals in 49 questions", "深度学习基础49问"),
    )
}


@dataclass(frozen=True)
class Section:
    """One heading of a note and the lines under it (up to the next heading of any level)."""

    note: str  # "A".."E"
    index: int  # 0 = text before the first heading
    title: str  # the heading as written, Markdown and HTML stripped
    level: int  # 1.. (E's questions count as level 2)
    start: int  # 0-based line of the heading (of the first line for index 0)
    end: int  # one past the last line
    text: str  # heading line and body, verbatim

    @property
    def id(self) -> str:
        return f"{self.note.lower()}{self.index:02d}"

    @property
    def anchor(self) -> str:
        return f"source-{self.id}"

    @property
    def doc(self) -> str:
        return f"book/sources/{self.note}"


def note_path(letter: str) -> Path:
    if letter not in NOTES:
        raise ValueError(f"note must be one of {sorted(NOTES)}, got {letter!r}")
    return SOURCES / NOTES[letter].file


def read(letter: str) -> str:
    return note_path(letter).read_text(encoding="utf-8")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_HEADING = re.compile(r"^\s*<h([1-6])[^>]*>(.*?)</h\1>\s*$")
_E_QUESTION = re.compile(r"^- (Q\d+) \*\*(.+?)\*\*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def clean_title(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("**", "").replace("__", "")
    return re.sub(r"\s+", " ", text).strip()


def _heading(line: str, letter: str) -> tuple[int, str] | None:
    if letter == "E":
        m = _E_QUESTION.match(line)
        if m:
            return 2, f"{m.group(1)} {clean_title(m.group(2))}"
    m = _HTML_HEADING.match(line) or _MD_HEADING.match(line)
    if m is None:
        return None
    level = int(m.group(1)) if m.group(1).isdigit() else len(m.group(1))
    if letter == "A":
        level = max(level, 2)  # A writes its questions 9-13 (and its contents) as <h1>, 1-8 as <h2>
    return level, clean_title(m.group(2))


def headings(letter: str) -> list[tuple[int, int, str]]:
    """(line, level, title) of every heading of a note, skipping code fences and block quotes."""
    found, fence = [], None
    for i, line in enumerate(read(letter).split("\n")):
        m = _FENCE.match(line)
        if m:
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence:
            continue
        h = _heading(line, letter)
        if h:
            found.append((i, *h))
    return found


def sections(letter: str) -> list[Section]:
    """Every section of a note, in order; section 0 (the preamble) only when it has text."""
    lines = read(letter).split("\n")
    heads = headings(letter)
    out = []
    first = heads[0][0] if heads else len(lines)
    if "\n".join(lines[:first]).strip():
        out.append(Section(letter, 0, "(before the first heading)", 0, 0, first, "\n".join(lines[:first])))
    for k, (line, level, title) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        out.append(Section(letter, k + 1, title, level, line, end, "\n".join(lines[line:end])))
    return out


# --------------------------------------------------------------------------- rendering
def _code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds."""
    text = text.replace("\n", " ").strip()
    if not text:
        return ""
    ticks = "`" * (max((len(t) for t in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"




def _image(alt: str, url: str) -> str:
    if "zhihu.com/equation" in url:
        tex = parse_qs(urlparse(url).query).get("tex", [""])[0]
        if tex.strip():
            return _code(tex)
    alt = clean_title(alt).strip("[]") or "image"
    host = urlparse(url).hostname
    if host is None:
        return f"*[{alt}: image not shown, the note refers to a file it does not include]*"
    return f"*[{alt}: image not shown, it is hosted at {host}]*"


_IMG_MD = re.compile(r"!\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]*)[^)]*\)")
_IMG_HTML = re.compile(r"<img\b[^>]*>", re.I)
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]")


def _inline(line: str, toc: dict[str, str]) -> str:
    """One line of note text, made safe for MyST (see the module docstring)."""
    # code spans the note wrote itself stay as they are: split them out first
    parts = re.split(r"(`+[^`]*`+)", line)
    out = []
    for j, part in enumerate(parts):
        if j % 2:
            out.append(part)
            continue
        part = _IMG_HTML.sub(lambda m: _image(_attr(m.group(0), "alt") or "image", _attr(m.group(0), "src")), part)
        part = _IMG_MD.sub(lambda m: _image(m.group(1), m.group(2)), part)
        part = re.sub(r"</?font[^>]*>", "", part)
        # bold as HTML: CommonMark does not close "**...。**" before a Chinese character
        part = re.sub(r"\*\*\*(?=\S)([^*$]+?)(?<=\S)\*\*\*", r"<strong><em>\1</em></strong>", part)
        part = re.sub(r"\*\*(?=\S)([^*$]+?)(?<=\S)\*\*", r"<strong>\1</strong>", part)
        part = _MATH.sub(lambda m: _code(m.group(0)), part)
        part = re.sub(r"@\[TOC\]\(([^)]*)\)", r"Contents: \1", part)  # a CSDN table-of-contents marker
        part = _LINK.sub(lambda m: _link(m.group(1), m.group(2), toc), part)
        out.append(part)
    text = "".join(out)
    # "{role}`x`" would be read as a MyST role: keep a space between "}" and a code span
    return re.sub(r"\}(?=`)", "} ", text)


def _attr(tag: str, name: str) -> str:
    m = re.search(name + r'\s*=\s*"([^"]*)"', tag)
    return m.group(1) if m else ""


def _link(text: str, target: str, toc: dict[str, str]) -> str:
    if target.startswith(("http://", "https://")):
        return f"[{text}]({target})"
    if target.startswith("#"):
        key = _key(text)
        if key in toc:
            return f"[{text}](#{toc[key]})"
    return text  # a link to a file or anchor the note does not have


def _key(title: str) -> str:
    return re.sub(r"[\s$*`?？。.、:：]", "", clean_title(title)).lower()


def render(letter: str) -> str:
    """The MyST text of ``book/sources/<letter>.md``."""
    note = NOTES[letter]
    secs = sections(letter)
    heads = {s.start: s for s in secs if s.index}
    toc = {}
    for s in secs[::-1]:
        if s.index:
            toc[_key(re.sub(r"^\d+[.、]\s*", "", s.title))] = s.anchor
            toc[_key(s.title)] = s.anchor
    levels = sorted({s.level for s in secs if s.index})
    lines = read(letter).split("\n")
    out = [
        f"<!-- Generated by book/_ext/sources.py from sources/{note.file}. Do not edit:",
        "     run `.venv/bin/python book/_ext/sources.py`. -->",
        "",
        f"(source-{letter.lower()})=",
        f"# Note {letter}: {note.title} ({note.title_zh})",
        "",
        "```{admonition} A source note, not the book's text",
        ":class: warning",
        f"This is note {letter} as the book received it, in Chinese (`sources/{note.file}`). It contains",
        "mistakes; the chapters test its claims and correct them, and {doc}`the seed ledger </book/ledger>`",
        "lists every statement with its verdict. Images are not shown (they are hosted elsewhere); formulas",
        "appear as the TeX the note wrote, in code format.",
        "```",
        "",
    ]
    if secs and secs[0].index == 0:
        out += [f"({secs[0].anchor})=", ""]  # the text before the first heading
    fence = None
    prev = 1
    dedent = 0
    math = None  # the indentation of an open multi-line \\[ ... \\] formula
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m or fence:
            if m:
                fence = None if fence == m.group(1) else (fence or m.group(1))
            out.append(line[dedent:] if line.startswith(" " * dedent) else line)
            continue
        if i in heads:
            s = heads[i]
            level = min(levels.index(s.level) + 2, prev + 1)
            prev = level
            title = _inline(s.title, {})
            out += ["", f"({s.anchor})=", "#" * level + " " + title, ""]
            dedent = 4 if letter == "E" and s.level == 2 else 0
            continue
        if dedent and line.startswith(" " * dedent):
            line = line[dedent:]
        if math is not None:  # inside a display formula written over several lines
            if line.strip() in ("\\]", "$$"):
                out.append(math + "```")
                math = None
            else:
                out.append(math + line.strip())
            continue
        if line.strip() in ("\\[", "$$"):
            math = line[: len(line) - len(line.lstrip())]
            out.append(math + "```latex")
            continue
        quoted = re.match(r"^(\s*>\s*)(#{1,6})\s+(.*)$", line)
        if quoted:  # a heading inside a block quote: a bold line, not a section
            line = f"{quoted.group(1)}**{quoted.group(3).strip()}**"
        out.append(_inline(line, toc))
    return "\n".join(out).rstrip() + "\n"


def index_page() -> str:
    out = [
        "<!-- Generated by book/_ext/sources.py. Do not edit: run `.venv/bin/python book/_ext/sources.py`. -->",
        "",
        "(book-sources)=",
        "# The source notes (原始笔记)",
        "",
        "The book was written from five study notes in Chinese. They are reproduced here as given,",
        "headings kept, so that every claim the chapters test can be read in its original wording.",
        "**They contain mistakes**: read them beside the chapters that correct them. The",
        "{doc}`seed ledger </book/ledger>` lists every statement of every note, its kind and, for a",
        "testable claim, the verdict and the claims row that tests it.",
        "",
        "| Note | What it is | Sections |",
        "| --- | --- | ---: |",
    ]
    for letter, note in NOTES.items():
        out.append(f"| {{doc}}`{letter} </book/sources/{letter}>` | {note.title} ({note.title_zh}) | {sum(1 for s in sections(letter) if s.index)} |")
    out.append("")
    return "\n".join(out)


def pages() -> dict[Path, str]:
    found = {PAGES / "index.md": index_page()}
    for letter in NOTES:
        found[PAGES / f"{letter}.md"] = render(letter)
    return found


def _rel(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    unknown = [a for a in argv if a != "--check"]
    if unknown:
        raise SystemExit(f"usage: sources.py [--check]; unknown argument(s) {unknown}")
    stale = []
    for path, text in pages().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if "--check" not in argv:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {_rel(path)}")
    if "--check" in argv:
        for path in stale:
            print(f"{_rel(path)} is out of date: run .venv/bin/python book/_ext/sources.py")
        if not stale:
            print("book/sources/ is up to date")
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
