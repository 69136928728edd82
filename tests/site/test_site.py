"""The built site (_build/html) in a real headless browser: every page of _toc.yml loads, runs
no failing JavaScript, shows its images, and has its math typeset.

Needs Debian's chromium (or CHROMIUM=/path/to/chrome) and the Python package playwright; where
the browser is missing the tests are skipped with the reason, unless DLNOTES_REQUIRE_BROWSER=1
(set by CI), which turns the skip into a failure. MathJax comes from a CDN on the published site;
the test serves the same MathJax 3 from `.cache/mathjax` (installed by `make site`) when that
copy exists, so it also runs without network.
"""
from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from _browser import missing
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
MATHJAX = ROOT / ".cache" / "mathjax" / "node_modules" / "mathjax" / "es5"
MATHJAX_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/mathjax@3/es5/(.*)")


def toc_pages() -> list[str]:
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from ([value] if key in ("file", "root") else walk(value))
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))))




@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built site at {HTML}: run `make book` first")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass




def route(r):
    """Serve our own pages; MathJax from the local copy when there is one; let nothing else out."""
    url = r.request.url
    host = urlparse(url).hostname
    if host == "127.0.0.1":
        return r.continue_()
    m = MATHJAX_CDN.match(url)
    if m and (MATHJAX / m.group(1)).is_file():
        path = MATHJAX / m.group(1)
        ctype = "application/javascript" if path.suffix == ".js" else "font/woff" if path.suffix == ".woff" else None
        return r.fulfill(path=str(path), content_type=ctype)
    if m or not MATHJAX.is_dir():
        return r.continue_()  # no local MathJax: the CDN (needs network)
    return r.abort()


def visit(browser, url: str) -> dict:
    """Load a page and report what went wrong on it."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console error: {msg.text}")
            if msg.type == "error" and "net::ERR_FAILED" not in msg.text else None)

    def on_response(resp):
        if urlparse(resp.url).hostname == "127.0.0.1" and resp.status >= 400:
            problems.append(f"HTTP {resp.status} for {resp.url}")

    page.on("response", on_response)
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}")
            if urlparse(req.url).hostname == "127.0.0.1" else None)
    page.route("**/*", route)
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        problems.append(f"page did not load: {None if response is None else response.status}")
    has_math = page.evaluate("document.querySelectorAll('.math').length") > 0
    if has_math:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        page.evaluate("MathJax.startup.promise")
    report = page.evaluate(
        r"""() => {
        const imgs = [...document.querySelectorAll('main img, article img')];
        const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80));
        const maths = [...document.querySelectorAll('.math')];
        const untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60));
        const mathErrors = [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 60));
        const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
        clone.querySelectorAll('pre, code, .highlight, mjx-container, script, style').forEach(n => n.remove());
        return {images: imgs.length, broken, maths: maths.length, untypeset, mathErrors, text: clone.innerText,
                title: document.title};
    }"""
    )
    page.close()
    report["problems"] = problems
    return report


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_cleanly(browser, server, page):
    report = visit(browser, f"{server}/{page}.html")
    assert not report["problems"], f"{page}: " + "; ".join(report["problems"][:5])
    assert not report["broken"], f"{page}: images that did not load: {report['broken']}"
    assert not report["untypeset"], f"{page}: math not typeset: {report['untypeset'][:3]}"
    assert not report["mathErrors"], f"{page}: TeX errors: {report['mathErrors'][:3]}"
    leftover = re.findall(r"\$\$?[^$\n]*\\[a-zA-Z]+[^$\n]*\$", report["text"])
    assert not leftover, f"{page}: raw TeX left in the text: {leftover[:3]}"


def test_gradients_chapter_shows_its_figures_and_math(browser, server):
    report = visit(browser, f"{server}/notebooks/07_gradients.html")
    assert report["images"] >= 5, f"expected the chapter's figures, found {report['images']} images"
    assert report["maths"] >= 20 and not report["untypeset"]
    assert "Claims checked" in report["text"] and "Interview questions" in report["text"]


def test_execution_report_lists_every_notebook(browser, server):
    report = visit(browser, f"{server}/book/execution.html")
    for page in toc_pages():
        if page.startswith("notebooks/"):
            assert Path(page).name in report["text"], f"{page} missing from the execution report"


@pytest.mark.parametrize("query", ["momentum", "dropout", "梯度消失", "激活函数", "超参数"])
def test_search_finds_the_question_bank_in_english_and_chinese(browser, server, query):
    page = browser.new_page()
    page.route("**/*", route)
    page.goto(f"{server}/search.html?q={query}", wait_until="load")
    # Sphinx shows results one at a time; its summary line appears when the search has finished
    page.wait_for_function(
        "(() => { const s = document.querySelector('#search-results .search-summary');"
        " return s && /finished|did not match/.test(s.textContent); })()",
        timeout=30_000,
    )
    hits = page.evaluate("[...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
    page.close()
    assert any("book/questions.html" in h for h in hits), f"searching {query!r} did not find the question bank: {hits[:5]}"
