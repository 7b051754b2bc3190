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
    for nb in sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py")):
        figdir = REPO / "figures" / nb
        if (figdir / f"{nb}.executed.ipynb").exists() and list(figdir.glob("*.png")):
            assert "<img" in (site / f"_stage/notebooks/{nb}.html").read_text(), f"{nb}: no figure on its page"
        if (figdir / "README.md").exists():  # the result page is the outputs page
            title = (figdir / "README.md").read_text().split("\n")[0].lstrip("# ").split(" ")[0]
            assert title in (site / f"_stage/outputs/{nb}/index.html").read_text(), nb


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


# ------------------------------------------------------------------------- what staging does (no browser needed)

def _stage_module():
    sys.path.insert(0, str(REPO / "book"))
    try:
        import _stage
    finally:
        sys.path.pop(0)
    return _stage


def test_staged_outputs_name_no_path_of_the_machine_that_ran_them():
    st = _stage_module()
    text = ("run /work/main/runs/cpu/wartok__seed-1 saved /work/main/figures/02_wartok/fig1.png; "
            "tmp /tmp/tmpab12cd/x.pt home /root/.cache/tvclab/c.pt lib /x/y/site-packages/torch/nn.py")
    out = st.relativise(text, "/work/main", "02_wartok", out_dir="/tmp/tmpzz99/out")
    assert "runs/cpu/wartok__seed-1" in out and "figures/02_wartok/fig1.png" in out
    assert "$TMPDIR/x.pt" in out and "~/.cache/tvclab/c.pt" in out and "site-packages/torch/nn.py" in out
    assert "/work/main" not in out and "/root" not in out and "/tmp/" not in out
    assert st.relativise("/tmp/tmpzz99/out/results.json", None, "02_wartok", "/tmp/tmpzz99/out") == \
        "figures/02_wartok/results.json"  # an out_dir outside the repository becomes the notebook's folder


def test_figure_calls_read_the_names_a_cell_saves():
    st = _stage_module()
    src = ('%matplotlib inline\nsave_figure(fig, out_dir, "fig1_ar")\nfor k in ks:\n'
           '    save_figure(f, out_dir, f"fig2_{k}_grid")\nsave_figure(fig, out_dir, name)\n')
    kinds = st.figure_calls(src)
    assert kinds[0] == ("name", "fig1_ar") and kinds[1][0] == "pattern" and kinds[2][0] == "unresolved"
    import re
    assert re.fullmatch(kinds[1][1], "fig2_mog5_grid") and not re.fullmatch(kinds[1][1], "fig3_x")


def test_the_book_reads_each_notebook_then_its_outputs_in_number_order():
    st = _stage_module()
    assert st.toc_entries(["00_a", "01_b"]) == ["_stage/notebooks/00_a", "Outputs of 00_a <_stage/outputs/00_a/index>",
                                                "_stage/notebooks/01_b", "Outputs of 01_b <_stage/outputs/01_b/index>"]


def test_staging_puts_figures_under_their_cells_and_result_pages_on_outputs_pages(tmp_path):
    st = _stage_module()
    staged = st.stage(REPO, tmp_path / "_stage", mathjax=False)
    import nbformat

    for stem, s in staged.items():
        figdir = REPO / "figures" / stem
        if not s.has_outputs:
            continue
        nb = nbformat.read(tmp_path / "_stage" / "notebooks" / f"{stem}.ipynb", as_version=4)
        for name, i in s.inline.items():
            cell = nb.cells[i]
            assert cell.cell_type == "code" and "save_figure" in "".join(cell.source), (stem, name)
            assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
                       for o in cell.outputs), (stem, name)
        assert set(s.inline) | {p.stem for p in (tmp_path / "_stage" / "outputs" / stem).glob("*.png")} == \
            {p.stem for p in figdir.glob("*.png")}, stem  # every committed figure is shown somewhere, once
        text = (tmp_path / "_stage" / "notebooks" / f"{stem}.ipynb").read_text()
        assert str(REPO) not in text and "/tmp/" not in text, stem
        if (figdir / "README.md").exists():
            page = (tmp_path / "_stage" / "outputs" / stem / "index.md").read_text()
            assert page.startswith((REPO / "figures" / stem / "README.md").read_text().split("\n")[0]), stem


def test_paper_pages_cite_nothing_outside_the_repository():
    """Every link and every file named in backticks on a paper page is a file of the repository."""
    import re

    for p in (REPO / "book" / "papers").glob("*.md"):
        text = p.read_text()
        links = re.findall(r"\]\(([^)#\s]+)", text)
        files = re.findall(r"`([^`\s]+\.(?:txt|md|py|json|ipynb))`", text)
        for ref in [u for u in links if not re.match(r"^[a-z]+:", u)] + files:
            target = (p.parent / ref).resolve() if ref.startswith(".") else REPO / ref
            assert REPO in target.parents and target.exists(), f"{p.name} cites {ref}, not a file of the repository"
        assert not re.search(r"(?<![\w.])/(?:work|home|tmp)/", text), f"{p.name} names an absolute path"
