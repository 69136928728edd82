"""The seed ledger's view of a note's text: markup-free quotes, coverage, and the statement splitter.

Used by ``book/_ext/ledger.py`` (which re-exports ``plain``, ``coverage``, ``statements`` and
``skeleton``). A quote is compared with ``plain(section text)``: images dropped (a Zhihu formula
image counts as its TeX, ``$...$``), links kept as their text, HTML tags, emphasis, code and
block-quote marks removed, runs of white space collapsed to one space. This module is not a
Sphinx extension.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import yaml


_IMG = re.compile(r"!\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]*)[^)]*\)")


def _img(m: re.Match) -> str:
    url = m.group(2)
    if "zhihu.com/equation" in url:
        tex = parse_qs(urlparse(url).query).get("tex", [""])[0].strip()
        return f"${tex}$" if tex else " "
    return " "


def plain(text: str) -> str:
    """A note's text as the ledger quotes it: markup removed, white space collapsed."""
    text = _IMG.sub(_img, text)
    text = re.sub(r"<img\b[^>]*>", " ", text, flags=re.I)
    text = re.sub(r"(?<!!)\[([^\]]*)\]\([^)\s]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"^\s*>\s?", "", text, flags=re.M)
    text = text.replace("\\*", "*")
    text = re.sub(r"\*{2,3}|`+", "", text)
    return re.sub(r"\s+", " ", text).strip()


_CJK = re.compile(r"[\u4e00-\u9fff]")


def coverage(section_text: str, quotes: list[str], heading: bool = False) -> tuple[int, int]:
    """(Chinese characters covered by the quotes, Chinese characters in the section).

    Each quote, longest first, is located in the section's plain text (first occurrence not
    already covered) and
    its span marked; the Chinese characters outside every span are the statements not yet in the
    ledger. Alt texts of images ("在这里插入图片描述") are not text and are not counted, nor is
    code in fenced blocks (its comments belong to the example a prose entry stands for), nor,
    with ``heading=True``, the section's first line: a heading that only names its topic needs
    no entry (one that asks a question or makes a claim gets one like any sentence).
    """
    body = section_text.split("\n", 1)[1] if heading and "\n" in section_text else ("" if heading else section_text)
    text = plain(re.sub(r"^\s*```.*?^\s*```", " ", body, flags=re.S | re.M))
    covered = [False] * len(text)
    for q in sorted(quotes, key=len, reverse=True):  # long quotes first: a short one ("公式:") must not take their place
        start = 0
        while True:
            i = text.find(q, start)
            if i < 0:
                break
            if not all(covered[i : i + len(q)]):
                for k in range(i, i + len(q)):
                    covered[k] = True
                break
            start = i + 1
    total = sum(1 for ch in text if _CJK.match(ch))
    done = sum(1 for ch, c in zip(text, covered) if c and _CJK.match(ch))
    return done, total


_SPLIT = re.compile(r"(?<=[。！？；!?;])\s*")


def statements(section_text: str) -> list[str]:
    """The section's statements for a reviewer to classify: one per line or bullet, long lines
    split after Chinese sentence ends. Every statement is a substring of ``plain(section_text)``."""
    out = []
    lines = section_text.split("\n")
    fence = False
    for line in lines:
        if re.match(r"^\s*(```|~~~)", line):
            fence = not fence
            continue
        if fence:
            continue
        text = plain(line)
        text = re.sub(r"^(?:[-*+]|\d+[.、)）]|#+)\s+", "", text).strip()
        if not text or not _CJK.search(text):
            continue
        for part in _SPLIT.split(text):
            part = part.strip()
            if part and _CJK.search(part):
                out.append(part)
    return out


def skeleton(letter: str, sections) -> str:
    """A draft ledger file for a note: every statement of every section, ``kind: todo``."""
    out = [f"note: {letter}", "status: draft", "sections:"]
    for s in sections(letter):
        out += [f"  {s.id}:", f"    heading: {_yaml_str(s.title)}", "    entries:"]
        for q in statements(s.text):
            out += [f"      - quote: {_yaml_str(q)}", "        kind: todo"]
    return "\n".join(out) + "\n"


def _yaml_str(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, width=10**6, default_style=None).strip().removesuffix("\n...").strip()
