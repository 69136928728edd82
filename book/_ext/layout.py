"""The first three cells of every chapter notebook, and a tool that puts them in place.

The layout (CONTRIBUTING.md, "Notebook layout"):

1. the chapter title: a Markdown cell whose text starts with ``# `` (it may go on with the
   chapter's introduction);
2. the Colab install cell, exactly as CONTRIBUTING.md shows it, tagged ``remove-cell`` (the site
   drops it; Colab and JupyterLab still run it);
3. the set-up cell (``import dlnotes``, ``DEVICE = dlnotes.device()``,
   ``dlnotes.seed_everything(0)``, ``dlnotes.set_style()``, more imports below), tagged
   ``hide-input`` (the site collapses it).

``problems(nb)`` lists what a notebook gets wrong; ``apply(nb)`` fixes it in place: it moves the
three cells to the front (the rest keep their order), adds the two tags, and touches nothing
else -- not sources, not outputs, not execution counts. Run

    .venv/bin/python book/_ext/layout.py notebooks/*.ipynb          # fix, print what changed
    .venv/bin/python book/_ext/layout.py --check notebooks/*.ipynb  # exit 1 on any problem

The file is written back as Jupyter writes it (one-space indent, non-ASCII kept, final newline).
This module is not a Sphinx extension.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETUP_LINES = ["import dlnotes", "", "DEVICE = dlnotes.device()", "dlnotes.seed_everything(0)", "dlnotes.set_style()"]
COLAB_TAG, SETUP_TAG = "remove-cell", "hide-input"


def colab_cell(root: Path = ROOT) -> str:
    """The install cell, built from the one repository URL in _config.yml."""
    url = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    return (
        "# On Colab, install dlnotes first (this cell does nothing elsewhere).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "dlnotes @ git+{url}"'
    )


def _src(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _is_title(cell: dict) -> bool:
    return cell["cell_type"] == "markdown" and _src(cell).lstrip().startswith("# ")


def _is_colab(cell: dict, colab: str) -> bool:
    return cell["cell_type"] == "code" and _src(cell).strip() == colab


def _is_setup(cell: dict) -> bool:
    return cell["cell_type"] == "code" and _src(cell).splitlines()[: len(SETUP_LINES)] == SETUP_LINES


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def problems(nb: dict, colab: str | None = None) -> list[str]:
    """What the notebook's first three cells get wrong (empty when the layout is right)."""
    colab = colab_cell() if colab is None else colab
    cells = nb.get("cells", [])
    out = []
    if len(cells) < 3:
        return ["fewer than three cells"]
    if not _is_title(cells[0]):
        out.append("cell 1 must be the chapter title (a Markdown cell starting with '# ')")
    if not _is_colab(cells[1], colab):
        out.append("cell 2 must be the Colab install cell of CONTRIBUTING.md")
    elif COLAB_TAG not in _tags(cells[1]):
        out.append(f"the Colab install cell needs the tag {COLAB_TAG!r}")
    if not _is_setup(cells[2]):
        out.append("cell 3 must be the set-up cell (import dlnotes, DEVICE, seed_everything, set_style)")
    elif SETUP_TAG not in _tags(cells[2]):
        out.append(f"the set-up cell needs the tag {SETUP_TAG!r}")
    return out


def apply(nb: dict, colab: str | None = None) -> bool:
    """Move title, install and set-up cells to the front and tag them; True if ``nb`` changed.

    Raises ValueError when one of the three cells does not exist at all (that needs an author).
    """
    colab = colab_cell() if colab is None else colab
    cells = nb["cells"]
    found = {}
    for name, test in (("title", _is_title), ("colab", lambda c: _is_colab(c, colab)), ("setup", _is_setup)):
        idx = next((i for i, c in enumerate(cells) if test(c)), None)
        if idx is None:
            raise ValueError(f"the notebook has no {name} cell; write it first (CONTRIBUTING.md, 'Notebook layout')")
        found[name] = idx
    before = json.dumps(nb, sort_keys=True)
    first = [cells[found["title"]], cells[found["colab"]], cells[found["setup"]]]
    rest = [c for i, c in enumerate(cells) if i not in found.values()]
    nb["cells"] = first + rest
    for cell, tag in ((first[1], COLAB_TAG), (first[2], SETUP_TAG)):
        meta = cell.setdefault("metadata", {})
        tags = meta.setdefault("tags", [])
        if tag not in tags:
            tags.append(tag)
    return json.dumps(nb, sort_keys=True) != before


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"]
    if not paths or any(a.startswith("--") for a in argv if a != "--check"):
        raise SystemExit("usage: layout.py [--check] NOTEBOOK.ipynb ...")
    status = 0
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        found = problems(nb)
        if check:
            for p in found:
                print(f"{path}: {p}")
            status |= bool(found)
            continue
        if apply(nb):
            path.write_text(dumps(nb), encoding="utf-8")
            print(f"{path}: layout applied")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
