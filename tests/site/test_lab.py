"""A drills notebook in JupyterLab, in a real headless browser: JupyterLab starts (on localhost,
with a token), the notebook loads and renders, its kernel starts and runs cells, and the grader
answers in the page: "not attempted" for the stub, "passed" once the stub holds a solution.

Needs JupyterLab, the Python package playwright and Debian's chromium (or CHROMIUM=/path); where
one is missing the test is skipped with the reason, unless DLNOTES_REQUIRE_BROWSER=1 (set by CI),
which makes that a failure. The notebook is copied to a temporary folder first, so nothing the
browser does (autosave) can touch the stored notebook.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from _browser import missing

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "drills_01_generalization_search.ipynb"



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if importlib.util.find_spec("jupyterlab") is None:
        missing("JupyterLab is not installed (it is in requirements.txt)")
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        env[var] = str(work / f".{sub}")
    log = (work / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"base": base, "token": token, "work": work}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()




RUN = r"""async ({index, source}) => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.sessionContext.ready;
    const nb = panel.content;
    const cell = nb.widgets[index];
    const before = cell.model.executionCount;
    if (source !== null) cell.model.sharedModel.setSource(source);
    nb.activeCellIndex = index;
    await app.commands.execute('notebook:run-cell');
    const start = Date.now();
    while (Date.now() - start < 120000) {   // wait for the output to arrive
        const count = cell.model.executionCount;
        const text = cell.node.querySelector('.jp-OutputArea') ? cell.node.querySelector('.jp-OutputArea').innerText : '';
        if (count !== null && count !== before && panel.sessionContext.session.kernel.status === 'idle') return {count, text};
        await new Promise(r => setTimeout(r, 200));
    }
    return {count: null, text: 'timed out'};
}"""


def test_a_drills_notebook_loads_and_its_kernel_runs_cells(lab, browser):
    page = browser.new_page()
    page.set_default_timeout(120_000)
    page.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname == "127.0.0.1" else r.abort())
    page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK.name}?token={lab['token']}", wait_until="load")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.content "
                           "&& window.jupyterapp.shell.currentWidget.content.widgets.length > 10")
    page.wait_for_selector(".jp-RenderedMarkdown h1")
    assert "Drills, part 1" in page.inner_text(".jp-RenderedMarkdown h1")
    sources = page.evaluate("window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.sharedModel.getSource())")
    setup = next(i for i, s in enumerate(sources) if s.startswith("import dlnotes"))
    stub = next(i for i, s in enumerate(sources) if s.startswith("def dropout("))
    check = stub + 1
    assert sources[check].rstrip().endswith('drills.check("dropout", dropout)')

    ran = page.evaluate(RUN, {"index": setup, "source": None})
    assert ran["count"] is not None, ran
    ran = page.evaluate(RUN, {"index": stub, "source": None})
    assert ran["count"] is not None
    graded = page.evaluate(RUN, {"index": check, "source": None})
    assert "dropout: not attempted" in graded["text"], graded
    page.evaluate(RUN, {"index": stub, "source": "from dlnotes.drills.solutions import dropout"})
    graded = page.evaluate(RUN, {"index": check, "source": None})
    assert "dropout: passed, 5 of 5 cases" in graded["text"], graded
    page.close()
