"""The grader's verdict on one drill: a table in a notebook (HTML), plain text in a terminal."""
from __future__ import annotations

import html
from typing import NamedTuple

__all__ = ["Case", "Report", "section_url"]

BOOK_URL = "https://dlnotes.github.io/dlnotes"
"""Where the book is published (GitHub Pages of the repository in ``_config.yml``)."""


class Case(NamedTuple):
    """One graded case: what was tried, whether it passed, and what went wrong."""

    description: str
    passed: bool
    detail: str


def section_url(doc: str, target: str) -> str:
    """The published address of a MyST target ``(target)=`` in ``doc`` (e.g. ``notebooks/09_metrics``)."""
    return f"{BOOK_URL}/{doc}.html#{target}"


class Report:
    """What :func:`dlnotes.drills.check` found.

    ``passed`` is True only when every case passed; ``cases`` lists
    ``(description, passed, detail)`` for each case; ``attempted`` is False when the
    function only raised ``NotImplementedError`` (a stub). A failed case carries the concept
    to revise (``hints``: ``(case, hint, section title, link)``), never the solution.
    """

    def __init__(self, drill, cases: list[Case], hints: dict[str, tuple[str, str, str]],
                 attempted: bool = True, mode: str = "torch", solution=None):
        self.drill = drill
        self.name = drill.name
        self.cases = cases
        self.attempted = attempted
        self.mode = mode
        self.hints = hints  # case description -> (hint, section title, url)
        self.solution = solution  # list of dlnotes.show() sources, shown only on reveal
        self.passed = attempted and bool(cases) and all(c.passed for c in cases)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.cases)

    def summary(self) -> str:
        if not self.attempted:
            return (f"{self.name}: not attempted (the function raises NotImplementedError). "
                    "Write your solution, then run the check again.")
        verdict = "passed" if self.passed else "FAILED"
        via = " (NumPy in and out)" if self.mode == "numpy" else ""
        return f"{self.name}: {verdict}, {self.n_passed} of {len(self.cases)} cases{via}"

    # ------------------------------------------------------------------ plain text
    def __str__(self) -> str:
        lines = [self.summary()]
        if self.attempted:
            for c in self.cases:
                lines.append(f"  [{'ok' if c.passed else 'FAIL'}] {c.description}")
                if not c.passed:
                    lines.extend("         " + line for line in c.detail.splitlines())
                    hint, title, url = self.hints[c.description]
                    lines.append(f"         hint: {hint}")
                    lines.append(f"         read: {title} <{url}>")
        for source in self.solution or []:
            lines += ["", f"# {source.name} (from {source.path})", source.code]
        return "\n".join(lines)

    __repr__ = __str__

    # ------------------------------------------------------------------ notebook
    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else ("#9a6700" if not self.attempted else "#cf222e")
        out = [f'<div class="dlnotes-drill"><p style="color:{colour}"><b>{html.escape(self.summary())}</b></p>']
        if self.attempted:
            out.append('<table><thead><tr><th></th><th style="text-align:left">case</th>'
                       '<th style="text-align:left">what went wrong</th></tr></thead><tbody>')
            for c in self.cases:
                mark = "&#10003;" if c.passed else "&#10007;"
                detail = ""
                if not c.passed:
                    hint, title, url = self.hints[c.description]
                    detail = (f"<pre style='white-space:pre-wrap;margin:0'>{html.escape(c.detail)}</pre>"
                              f"<i>hint:</i> {html.escape(hint)} "
                              f"(<a href=\"{html.escape(url)}\">{html.escape(title)}</a>)")
                out.append(f"<tr><td>{mark}</td><td style='text-align:left'>{html.escape(c.description)}</td>"
                           f"<td style='text-align:left'>{detail}</td></tr>")
            out.append("</tbody></table>")
        for source in self.solution or []:
            out.append(f"<p><code>{html.escape(source.name)}</code> (from <code>{html.escape(source.path)}</code>)</p>"
                       f"{_highlight(source.code)}")
        out.append("</div>")
        return "\n".join(out)


def _highlight(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - pygments is a dependency
        return f"<pre>{html.escape(code)}</pre>"
    return highlight(code, PythonLexer(), HtmlFormatter(noclasses=True))
