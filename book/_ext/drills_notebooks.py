"""Write the drills notebooks (``notebooks/drills_*.ipynb``) from the catalogue in ``dlnotes.drills``.

Run from the repository root as ``.venv/bin/python book/_ext/drills_notebooks.py``, then execute
each notebook (``make execute NB=...``) so that it is stored with its outputs: every check cell
grades the stub and says "not attempted". ``tests/test_drills_notebooks.py`` checks that the
stored notebooks hold every drill of the catalogue, in the layout written here.

This module is not a Sphinx extension (it has no ``setup``); it only lives beside them.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dlnotes.drills import DRILLS  # noqa: E402

PARTS = [
    ("drills_01_generalization_search", (1, 4), "generalization and hyperparameter search", "泛化与超参数搜索"),
    ("drills_02_normalization_gans", (2, 3), "normalization and GANs", "归一化与GAN"),
    ("drills_03_optimizers_schedules", (5, 6), "optimizers and learning-rate schedules", "优化器与学习率调度"),
    ("drills_04_gradients_activations", (7, 8), "gradients, activations and initialization", "梯度、激活函数与初始化"),
    ("drills_05_metrics_precision", (9, 10), "metrics and floating-point precision", "评价指标与数值精度"),
]
CHAPTER_TITLES = {1: "generalization", 2: "normalization", 3: "GAN training", 4: "hyperparameters", 5: "optimizers",
                  6: "learning-rate schedules", 7: "gradients", 8: "vanishing and exploding gradients", 9: "metrics",
                  10: "fp16 and bf16"}


def _repository_url() -> str:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    return re.search(r"^repository:\s*\n(?:\s+#.*\n)*\s+url:\s*(\S+)", text, re.M).group(1)


def colab_cell() -> str:
    return ("# On Colab, install dlnotes first (this cell does nothing elsewhere).\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n'
            f'    %pip install -q "dlnotes @ git+{_repository_url()}"')


SETUP = ("import dlnotes\n\nDEVICE = dlnotes.device()\ndlnotes.seed_everything(0)\ndlnotes.set_style()\n\n"
         "import numpy as np\nimport torch\n\nfrom dlnotes import drills")


def questions() -> dict[str, str]:
    """Question-bank id (``E31``) -> its English heading."""
    text = (ROOT / "book" / "questions.md").read_text(encoding="utf-8")
    return {m.group(1).upper(): m.group(2).strip()
            for m in re.finditer(r"^### ([A-E]\d+B?)\. (.+)$", text, re.M)}


def _cell(kind: str, source: str, key: str, tags=()) -> dict:
    cell = {"cell_type": kind, "id": hashlib.sha1(key.encode()).hexdigest()[:8], "metadata": {}, "source": source}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _intro(n: int, chapters, topic: str, chinese: str) -> str:
    covered = ", ".join(f"chapter {c} ({CHAPTER_TITLES[c]})" for c in chapters)
    return (f"# Drills, part {n}: {topic} (面试手写题：{chinese})\n\n"
            "Interviews ask you to explain a concept and to **write it from scratch**. Each drill below "
            f"is one such function from {covered}: read the statement, replace the stub's "
            "`raise NotImplementedError` with your code, and run the check cell under it. The grader runs "
            "your function on random shapes and dtypes and on the edge cases where solutions usually go "
            "wrong, and compares every result with PyTorch or scikit-learn at tight tolerances. A failed "
            "case shows its input, what was expected and what came back, and names the concept to revise, "
            "with a link to the section of the book that teaches it; it never shows the solution. After a "
            "real attempt, `drills.check(name, fn, reveal=True)` shows the library's own implementation.\n\n"
            "NumPy solutions are graded too (arrays in, arrays out). Below, the stored notebook grades the "
            "stubs, so every check says *not attempted*. [How to practise](#book-drills) explains the "
            "other ways to work: Colab, JupyterLab, or your editor and the command line.")


def notebook(n: int, stem: str, chapters, topic: str, chinese: str) -> dict:
    bank = questions()
    names = [d for d in DRILLS.values() if d.chapter in chapters]
    cells = [_cell("markdown", _intro(n, chapters, topic, chinese), f"{stem}-title"),
             _cell("code", colab_cell(), f"{stem}-colab", ["remove-cell"]),
             _cell("code", SETUP, f"{stem}-setup", ["hide-input"]),
             _cell("markdown", "The drills of this part: chapter, difficulty, the question-bank entries each one "
                   "answers, and the signature to implement.", f"{stem}-list-md"),
             _cell("code", f"drills.list(chapters={list(chapters)})", f"{stem}-list")]
    if n == 1:
        cells += [_cell("markdown", "(drill-report-demo)=\n## What a report looks like\n\nHere the grader is handed a "
                        "function that only returns its input, as a first try at dropout might. The report lists "
                        "every case, and for each failure the input, the measurement, a hint and the section to read.",
                        f"{stem}-demo-md"),
                  _cell("code", "drills.check(\"dropout\", lambda x, p, training: x)", f"{stem}-demo")]
    for d in names:
        qs = "; ".join(f"[{q}. {bank[q]}](#q-{q.lower()})" for q in d.questions)
        doc, target, title = d.section
        statement = (f"(drill-{d.name.replace('_', '-')})=\n## `{d.name}` ({d.difficulty})\n\n{d.statement}\n\n"
                     f"- **Signature:** `{d.signature}`\n"
                     f"- **Answers:** {qs}\n"
                     f"- **Taught in:** [{title}](#{target})\n"
                     f"- **Graded against:** `{d.reference}`")
        cells += [_cell("markdown", statement, f"{stem}-{d.name}-md"),
                  _cell("code", d.stub().rstrip("\n"), f"{stem}-{d.name}-stub"),
                  _cell("code", f"# after a real attempt, add reveal=True to see the library's solution\n"
                                f"drills.check(\"{d.name}\", {d.name})", f"{stem}-{d.name}-check")]
    answered = sorted({q for d in names for q in d.questions}, key=lambda q: (q[0], int(re.sub(r"\D", "", q)), q))
    lines = [f"- [{q}. {bank[q]}](#q-{q.lower()}): "
             + ", ".join(f"[`{d.name}`](#drill-{d.name.replace('_', '-')})" for d in names if q in d.questions)
             for q in answered]
    cells.append(_cell("markdown", "## Interview questions\n\nThe question-bank entries these drills practise, "
                       "with the drills that answer them in code:\n\n" + "\n".join(lines), f"{stem}-questions"))
    for c in cells:
        c["source"] = c["source"].splitlines(keepends=True)
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def main() -> int:
    for n, (stem, chapters, topic, chinese) in enumerate(PARTS, 1):
        path = ROOT / "notebooks" / f"{stem}.ipynb"
        path.write_text(json.dumps(notebook(n, stem, chapters, topic, chinese), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
