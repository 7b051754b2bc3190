"""The book (make book): it builds from what the batch committed without executing anything, and in a real
headless browser (Debian's chromium through Playwright) every page loads, every figure has a size, notebook 00's
math is rendered, the links between pages resolve and no request leaves the site."""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")
ARTIFACTS = REPO / "build" / "test-artifacts"  # screenshots (git-ignored)


def _require(ok: bool, what: str):
    if ok:
        return
    msg = f"{what} is missing: make book-deps (apt-get install -y libjs-mathjax chromium)"
    if os.environ.get("TVCLAB_CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require(MATHJAX.exists(), "MathJax (libjs-mathjax)")
    out = tmp_path_factory.mktemp("book") / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
                        str(REPO / "book"), str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def test_book_builds_every_notebook_and_paper_page(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for nb in sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py")):
        assert f"_stage/notebooks/{nb}.html" in pages and f"_stage/outputs/{nb}/index.html" in pages
    assert {"index.html", "papers/wartok.html", "papers/flow_prior.html", "papers/prologue.html",
            "papers/vapi.html"} <= pages
    # a notebook with committed outputs shows them and says where they came from
    nb00 = (site / "_stage/notebooks/00_tvc_derivations.html").read_text()
    if (REPO / "figures/00_tvc_derivations/00_tvc_derivations.executed.ipynb").exists():
        assert "Outputs of the <strong>cpu</strong> tier" in nb00 and "cell_output" in nb00
    assert not list(site.rglob("*.ipynb"))  # html_copy_source off: the notebooks are not in the site twice


def test_book_in_a_headless_browser(site):
    _require(Path(CHROMIUM).exists(), "chromium")
    from playwright.sync_api import sync_playwright

    root = site.as_uri()
    # the site's pages (the theme ships Jinja macro files as _static/*.html: templates, not pages)
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    outside, failed, broken, small = [], [], [], []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", lambda r: None if r.url.startswith(root) or r.url.startswith("data:") or
                r.url == "about:blank" else outside.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        for html in pages:
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            for src, width in page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.naturalWidth])"):
                if width <= 0:
                    small.append((html.name, src))
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                u = urlparse(href)
                if u.scheme == "file" and not Path(unquote(u.path)).exists():
                    broken.append((html.relative_to(site).as_posix(), href))
        # notebook 00's derivations: MathJax (the site's own copy) typesets every formula
        page.goto((site / "_stage/notebooks/00_tvc_derivations.html").as_uri(), wait_until="load")
        page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                               "&& MathJax.Hub.queue.running === 0", timeout=60_000)
        typeset = page.locator(".MathJax_SVG").count()
        text = page.inner_text("article")
        page.screenshot(path=str(ARTIFACTS / "book_00_tvc_derivations.png"), full_page=False)
        page.goto((site / "index.html").as_uri(), wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / "book_index.png"), full_page=False)
        browser.close()
    assert not outside, f"requests outside the site: {outside[:5]}"
    assert not failed, f"failed requests: {failed[:5]}"
    assert not broken, f"links to missing pages: {broken[:5]}"
    assert not small, f"images without a size: {small[:5]}"
    assert typeset > 20, f"only {typeset} formulas typeset on notebook 00's page"
    assert "\\(" not in text and "\\[" not in text and "$$" not in text, "raw TeX left on notebook 00's page"
