"""The book's structure: what every chapter notebook must have, checked without running it."""
import json
import re
from pathlib import Path

import pytest
import yaml

from book_ext import load as load_ext

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb"))
# The drills notebooks are exercises: they make no claims of their own, so no Claims checked table.
CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("drills_")]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))

VERDICTS = ("holds", "fails", "depends")
layout = load_ext("layout")  # the layout's one definition: its set-up lines and Colab cell
SETUP_LINES = layout.SETUP_LINES
colab_cell = layout.colab_cell


def toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root"):
                files.append(value)
            else:
                files.extend(toc_files(value))
    elif isinstance(node, list):
        for item in node:
            files.extend(toc_files(item))
    return files


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def markdown(nb) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


def test_toc_lists_exactly_the_pages_that_exist():
    listed = toc_files(TOC)
    for entry in listed:
        matches = [p for p in ROOT.glob(entry + ".*") if p.suffix in (".md", ".ipynb")]
        assert matches, f"_toc.yml lists {entry!r}, which does not exist"
    for nb in NOTEBOOKS:
        assert nb.relative_to(ROOT).with_suffix("").as_posix() in listed, f"{nb.name} is not in _toc.yml"


def test_launch_buttons_and_repository_url_are_configured():
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["launch_buttons"]["binderhub_url"]
    assert CONFIG["execute"]["allow_errors"] is False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cells_are_title_colab_install_and_set_up(path):
    """The layout of CONTRIBUTING.md: title (H1), Colab install cell tagged remove-cell, set-up
    cell tagged hide-input (book/_ext/layout.py applies it; tests/test_evidence.py checks it too)."""
    cells = load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).lstrip().startswith("# "), (
        f"{path.name}: the first cell must be the chapter title"
    )
    assert cells[1]["cell_type"] == "code" and "".join(cells[1]["source"]).strip() == colab_cell(), (
        f"{path.name}: the second cell must be the Colab install cell (see CONTRIBUTING.md)"
    )
    assert "remove-cell" in cells[1].get("metadata", {}).get("tags", []), f"{path.name}: the Colab cell needs the tag remove-cell"
    third = "".join(cells[2]["source"]).splitlines()
    assert cells[2]["cell_type"] == "code" and third[: len(SETUP_LINES)] == SETUP_LINES, f"{path.name}: the third cell must start with the set-up lines"
    assert "hide-input" in cells[2].get("metadata", {}).get("tags", []), f"{path.name}: the set-up cell needs the tag hide-input"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_with_outputs_and_without_errors(path):
    for i, cell in enumerate(code_cells(load(path))):
        if "".join(cell["source"]).strip():
            assert cell["execution_count"] is not None, f"{path.name}: code cell {i} was stored unexecuted"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: code cell {i} stores an error"
            text = json.dumps(out.get("data", {}).get("text/plain", "")) + json.dumps(out.get("text", ""))
            assert not re.search(r" at 0x[0-9a-f]{6,}", text), f"{path.name}: cell {i} prints an object address"
            assert "site-packages" not in text, f"{path.name}: cell {i} stores a path of this machine (a warning?)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_ends_with_interview_questions_and_claims(path):
    text = markdown(load(path))
    assert re.search(r"^#+\s*Interview questions", text, re.M), f"{path.name}: no 'Interview questions' section"
    if path in CHAPTERS:
        assert re.search(r"^#+\s*Claims checked", text, re.M), f"{path.name}: no 'Claims checked' section"


def claims_rows(text: str) -> list[list[str]]:
    """Rows of the 'Claims checked' table: [#, claim, experiment, verdict]."""
    section = re.split(r"^#+\s*Claims checked.*$", text, maxsplit=1, flags=re.M)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["#", "Claim (seed §)", "Experiment", "Verdict"], f"unexpected header {header}"
    return [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows[2:]]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_claims_table_has_a_verdict_on_every_row(path):
    rows = claims_rows(markdown(load(path)))
    assert rows, f"{path.name}: the Claims checked table is empty"
    for row in rows:
        assert len(row) == 4, f"{path.name}: claims row {row[0]} has {len(row)} cells, not 4"
        assert re.match(r"\*\*(holds|fails|depends)\*\*", row[3]), (
            f"{path.name}: claims row {row[0]}: the verdict must start with **holds**, **fails** or **depends**"
        )
