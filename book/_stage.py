"""Stage what the batch committed into ``book/_stage/`` for Sphinx (called from conf.py; nothing is executed).

- ``_stage/notebooks/<nb>.ipynb``: the executed notebook ``figures/<nb>/<nb>.executed.ipynb`` with a first markdown
  cell naming the tier, seeds and commit of its outputs (its results.json provenance); where the batch committed
  none, the jupytext source without outputs and a first cell that says so.
- ``_stage/outputs/<nb>/``: the notebook's PNG figures, its tables and claims (Markdown), and ``index.md`` showing
  them (figures by reference: each PNG is in the site once).
- ``_stage/docs/``: docs/*.md. ``index.md`` (book root): the README, its links to ``figures/<nb>`` and ``docs/``
  pointed at the staged pages, then the book's table of contents.
- ``_stage/static/mathjax``: MathJax 2 from Debian's ``libjs-mathjax`` (the parts the SVG output needs).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

MATHJAX = Path("/usr/share/javascript/mathjax")
PAPERS = [("W", "papers/wartok"), ("F", "papers/flow_prior"), ("P", "papers/prologue"), ("V", "papers/vapi")]


class BookInputError(RuntimeError):
    """Something the book needs is missing; the message says what to install or run."""


def provenance_line(results: Path) -> str:
    p = json.loads(results.read_text()).get("provenance", {})
    commit = str(p.get("git_commit", "unknown"))[:10]
    dirty = " (uncommitted changes)" if p.get("git_dirty") is True else ""
    wall = p.get("wall_time_s")
    seeds = ", ".join(str(s) for s in p.get("seeds", [])) or "?"
    return (f"Outputs of the **{p.get('tier', '?')}** tier, seed(s) {seeds}, commit `{commit}`{dirty}"
            + (f", {wall / 60:.1f} min" if isinstance(wall, (int, float)) else "") + " (from its `results.json`).")


def stage_notebook(repo: Path, stem: str, out: Path) -> bool:
    """Write ``out/<stem>.ipynb``; True when it carries the batch's outputs."""
    import nbformat

    executed = repo / "figures" / stem / f"{stem}.executed.ipynb"
    results = repo / "figures" / stem / "results.json"
    if executed.exists():
        nb = nbformat.read(executed, as_version=4)
        note = provenance_line(results) if results.exists() else "Outputs of the committed batch run."
        text = (f"```{{note}}\n{note} Figures and tables: [outputs of {stem}](../outputs/{stem}/index.md).\n```")
        has = True
    else:
        import jupytext

        nb = jupytext.read(repo / "notebooks" / f"{stem}.py")
        text = (f"```{{warning}}\nNo executed copy of this notebook is committed, so this page shows its source "
                f"without outputs. Produce them with `make figures ONLY={stem}`.\n```")
        has = False
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    cell = nbformat.v4.new_markdown_cell(text)
    nb.cells.insert(1 if nb.cells and _is_title(nb.cells[0]) else 0, cell)
    nbformat.validator.normalize(nb)
    for i, c in enumerate(nb.cells):  # ids the staged copy lacks (older nbformat minor versions)
        c.setdefault("id", f"cell-{i}")
    nbformat.write(nb, out / f"{stem}.ipynb")
    return has


def _is_title(cell) -> bool:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    return cell.get("cell_type") == "markdown" and src.lstrip().startswith("# ")


def stage_outputs(repo: Path, stem: str, out: Path) -> None:
    src = repo / "figures" / stem
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Outputs of {stem}", ""]
    if (src / "results.json").exists():
        lines += [provenance_line(src / "results.json"), ""]
    lines += [f"The notebook: [{stem}](../../notebooks/{stem}.ipynb).", ""]
    tables = sorted(p for p in src.glob("*.md"))
    claims = [p for p in tables if p.name == "claims.md"]
    for p in claims + [p for p in tables if p.name != "claims.md"]:
        shutil.copyfile(p, out / p.name)
        title = "Claims" if p.name == "claims.md" else p.stem
        lines += [f"## {title}", "", f"```{{include}} {p.name}", "```", ""]
    for p in sorted(src.glob("*.png")):
        shutil.copyfile(p, out / p.name)
        lines += [f"## {p.stem}", "", f"![{p.stem}]({p.name})", ""]
    (out / "index.md").write_text("\n".join(lines))


def stage_mathjax(static: Path) -> None:
    if not (MATHJAX / "MathJax.js").exists():
        raise BookInputError(f"MathJax is missing ({MATHJAX}/MathJax.js): the book bundles Debian's copy so that it "
                             "renders math offline. Fix: apt-get install -y libjs-mathjax (make book-deps)")
    dst = static / "mathjax"
    if (dst / "MathJax.js").exists():
        return
    keep = ["MathJax.js", "config/TeX-AMS_SVG-full.js", "extensions", "jax/input/TeX", "jax/element",
            "jax/output/SVG/jax.js", "jax/output/SVG/autoload", "jax/output/SVG/fonts/TeX", "localization/en"]
    for rel in keep:
        s, d = MATHJAX / rel, dst / rel
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.exists():
            shutil.copyfile(s, d)


def stage(repo: Path, out: Path) -> None:
    repo, out = Path(repo), Path(out)
    for sub in ("notebooks", "outputs", "docs"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True, exist_ok=True)
    stems = sorted(p.stem for p in (repo / "notebooks").glob("[0-9][0-9]_*.py"))
    for stem in stems:
        stage_notebook(repo, stem, out / "notebooks")
        stage_outputs(repo, stem, out / "outputs" / stem)
    for p in (repo / "docs").glob("*.md"):
        shutil.copyfile(p, out / "docs" / p.name)
    stage_mathjax(out / "static")
    readme = (repo / "README.md").read_text()
    readme = re.sub(r"\]\(figures/([0-9]{2}_[A-Za-z0-9_]+)/?\)", r"](_stage/outputs/\1/index.md)", readme)
    readme = re.sub(r"\]\(docs/([A-Za-z0-9_]+\.md)\)", r"](_stage/docs/\1)", readme)
    toc = ["", "```{toctree}", ":caption: Papers", ":maxdepth: 1", ""] + [p for _, p in PAPERS] + ["```", "",
           "```{toctree}", ":caption: Notebooks", ":maxdepth: 1", ""] + [f"_stage/notebooks/{s}" for s in stems] + [
           "```", "", "```{toctree}", ":caption: Outputs", ":maxdepth: 1", ""] + [
           f"_stage/outputs/{s}/index" for s in stems] + ["```", "", "```{toctree}", ":caption: Notes",
           ":maxdepth: 1", ""] + [f"_stage/docs/{p.stem}" for p in sorted((repo / "docs").glob("*.md"))] + ["```", ""]
    (out.parent / "index.md").write_text(readme + "\n".join(toc))
