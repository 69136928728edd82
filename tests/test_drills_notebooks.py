"""The drills notebooks: in step with the catalogue, laid out as the book's notebooks are, stored
with every check grading a stub ("not attempted"), and each drill's stub and check in place."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from dlnotes import drills

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("drills_notebooks", ROOT / "book" / "_ext" / "drills_notebooks.py")
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)

PARTS = [(n, *part) for n, part in enumerate(generator.PARTS, 1)]
PATHS = {stem: ROOT / "notebooks" / f"{stem}.ipynb" for _, stem, *_ in PARTS}


def load(stem):
    return json.loads(PATHS[stem].read_text(encoding="utf-8"))


def sources(nb):
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


@pytest.mark.parametrize("n, stem, chapters, topic, chinese", PARTS, ids=[p[1] for p in PARTS])
def test_the_stored_notebook_is_what_the_generator_writes(n, stem, chapters, topic, chinese):
    assert sources(load(stem)) == sources(generator.notebook(n, stem, chapters, topic, chinese)), (
        f"{stem} is out of step with the catalogue: run book/_ext/drills_notebooks.py and execute it")


def test_every_drill_is_in_exactly_one_notebook_with_a_stub_and_a_check():
    seen = []
    for stem in PATHS:
        cells = load(stem)["cells"]
        for i, cell in enumerate(cells):
            src = "".join(cell["source"])
            m = re.match(r"def (\w+)\(", src)
            if cell["cell_type"] == "code" and m:
                name = m.group(1)
                assert "raise NotImplementedError" in src
                check = cells[i + 1]
                assert f'drills.check("{name}", {name})' in "".join(check["source"])
                text = "".join("".join(o["data"]["text/plain"]) for o in check["outputs"] if "data" in o)
                assert text.startswith(f"{name}: not attempted"), f"{stem}: the stored check of {name} says {text[:60]!r}"
                assert "<div" in "".join("".join(o["data"].get("text/html", "")) for o in check["outputs"] if "data" in o)
                seen.append(name)
    assert sorted(seen) == sorted(drills.DRILLS)


@pytest.mark.parametrize("stem", PATHS)
def test_layout_title_colab_and_setup_cells_with_their_tags(stem):
    cells = load(stem)["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# Drills, part ")
    assert "面试手写题" in "".join(cells[0]["source"])
    assert cells[1]["metadata"]["tags"] == ["remove-cell"] and "google.colab" in "".join(cells[1]["source"])
    assert cells[2]["metadata"]["tags"] == ["hide-input"] and "".join(cells[2]["source"]).startswith("import dlnotes")


def test_the_demo_report_in_part_one_shows_failures_not_a_solution():
    cells = load(PARTS[0][1])["cells"]
    demo = next(c for c in cells if "".join(c["source"]).startswith('drills.check("dropout", lambda'))
    text = "".join(demo["outputs"][0]["data"]["text/plain"])
    assert "dropout: FAILED" in text and "hint:" in text and "Dropout(" not in text
