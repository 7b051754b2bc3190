"""Stage what the batch committed into ``book/_stage/`` for Sphinx (called from conf.py; nothing is executed).

- ``_stage/notebooks/<nb>.ipynb``: the executed notebook ``figures/<nb>/<nb>.executed.ipynb`` with a first markdown
  cell naming the tier, seeds and commit of its outputs (its results.json provenance); where the batch committed
  none, the jupytext source without outputs and a first cell that says so. Two changes to the executed copy:

  * **figures inline**: the notebooks run with the Agg backend and ``save_figure(fig, out_dir, "<name>")`` writes
    ``<name>.png``, so an executed cell has no image. Each code cell whose source calls ``save_figure`` with a
    literal name (or an f-string that matches committed PNGs) gets a ``display_data`` output with the committed
    ``figures/<nb>/<name>.png`` (base64 ``image/png``), right under the cell, and a target
    ``(figure-<nb>-<name>)=`` just before the cell that pages link to. A name the source computes any other way is
    reported (``Staged.unresolved``) and that PNG is shown on the outputs page instead.
  * **relative paths**: printed outputs, the papermill-injected parameters cell and the papermill metadata name
    the machine that ran them (``/work/main/runs/cpu/...``, ``/tmp/tmpXXXX/...``). The repository root that ran
    it is read from the papermill metadata (``output_path`` = ``<root>/figures/<nb>/<nb>.executed.ipynb``, else
    ``out_dir``), else from the ``/.../runs/`` and ``/.../figures/`` prefixes of the outputs (results.json's
    provenance does not record it); paths under it become repo-relative, an ``out_dir`` elsewhere becomes
    ``figures/<nb>``, a home folder ``~``, a temporary folder ``$TMPDIR``. The committed files are not changed.

- ``_stage/outputs/<nb>/index.md``: the notebook's outputs page. Each PNG is in the site once: under the cell that
  draws it, where the notebook has it inline (this page links there), else embedded on this page. Where
  ``figures/<nb>/README.md`` (the result page the batch writes) exists, the page is that README, its links pointed
  at the site (``fig1.png`` at the figure, ``claims.md`` at the staged table page, ``../<other>/`` at that
  notebook's outputs page, ``docs/``, ``notebooks/``; a link to a repository file the site does not carry becomes
  its path as text), followed by a listing of every output; without one, the generic page: provenance, claims,
  tables (included), figures.
- ``_stage/docs/``: docs/*.md. ``index.md`` (book root): the README, its links pointed at the staged pages, then
  the table of contents: each notebook followed by its outputs page, in number order, then the papers, then docs.
- ``_stage/static/mathjax``: MathJax 2 from Debian's ``libjs-mathjax`` (the parts the SVG output needs).
"""
from __future__ import annotations

import ast
import base64
import dataclasses
import json
import posixpath
import re
import shutil
from collections import Counter
from pathlib import Path

MATHJAX = Path("/usr/share/javascript/mathjax")
PAPERS = [("W", "papers/wartok"), ("F", "papers/flow_prior"), ("P", "papers/prologue"), ("V", "papers/vapi")]
STEM = re.compile(r"[0-9]{2}_[A-Za-z0-9_]+")


class BookInputError(RuntimeError):
    """Something the book needs is missing; the message says what to install or run."""


@dataclasses.dataclass
class Staged:
    """What staging one notebook did (``stage`` returns one per notebook)."""
    stem: str
    has_outputs: bool = False
    root: str | None = None                                    # the repository root that ran it, where inferred
    inline: dict[str, int] = dataclasses.field(default_factory=dict)  # figure name -> index of the cell showing it
    unresolved: list[str] = dataclasses.field(default_factory=list)   # save_figure calls without a literal name
    missing: list[str] = dataclasses.field(default_factory=list)      # literal names without a committed PNG


def figure_label(stem: str, name: str) -> str:
    """The Sphinx target of figure ``name`` of notebook ``stem``, wherever the book shows it."""
    return f"figure-{stem}-{name}".lower()


def provenance_line(results: Path) -> str:
    p = json.loads(results.read_text()).get("provenance", {})
    commit = str(p.get("git_commit", "unknown"))[:10]
    dirty = " (uncommitted changes)" if p.get("git_dirty") is True else ""
    wall = p.get("wall_time_s")
    seeds = ", ".join(str(s) for s in p.get("seeds", [])) or "?"
    return (f"Outputs of the **{p.get('tier', '?')}** tier, seed(s) {seeds}, commit `{commit}`{dirty}"
            + (f", {wall / 60:.1f} min" if isinstance(wall, (int, float)) else "") + " (from its `results.json`).")


# ---------------------------------------------------------------------------------------------------------------
# relative paths

_PATHCHAR = r"[^\s'\"`()\[\]{}<>,;:|=]"   # characters an absolute path in printed text is made of
_NOT_AFTER = r"(?<![\w.~/\-])"            # an absolute path starts at a word boundary, not inside another path


def _text(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def _output_texts(nb) -> list[str]:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.get("cell_type") == "code" else []:
            if o.get("output_type") == "stream":
                out.append(_text(o.get("text", "")))
            for k, v in (o.get("data") or {}).items():
                if k.startswith("text/"):
                    out.append(_text(v))
            out += [str(o.get("evalue", ""))] + [str(t) for t in o.get("traceback", [])]
    return out


def infer_root(nb, stem: str) -> str | None:
    """The absolute repository root of the machine that executed ``nb`` (None where nothing tells)."""
    pm = nb.metadata.get("papermill", {}) or {}
    tail = f"/figures/{stem}/{stem}.executed.ipynb"
    op = pm.get("output_path")
    if isinstance(op, str) and op.startswith("/") and op.endswith(tail):
        return op[: -len(tail)] or "/"
    od = (pm.get("parameters") or {}).get("out_dir")
    if isinstance(od, str) and od.startswith("/") and od.rstrip("/").endswith(f"/figures/{stem}"):
        return od.rstrip("/")[: -len(f"/figures/{stem}")] or "/"
    prefixes = Counter(m.group(1) for t in _output_texts(nb)
                       for m in re.finditer(_NOT_AFTER + rf"(/{_PATHCHAR}*?)/(?:runs|figures)/", t))
    return prefixes.most_common(1)[0][0] if prefixes else None


def relativise(text: str, root: str | None, stem: str, out_dir: str | None = None) -> str:
    """``text`` with the absolute paths of the machine that produced it made repo-relative (or stripped)."""
    if out_dir and out_dir.startswith("/"):
        od = out_dir.rstrip("/")
        if not (root and (od == root or od.startswith(root.rstrip("/") + "/"))):  # an out dir outside the repo
            text = re.sub(_NOT_AFTER + re.escape(od) + r"(?![\w.\-])", f"figures/{stem}", text)
    if root and root != "/":
        r = re.escape(root.rstrip("/"))
        text = re.sub(_NOT_AFTER + r + "/", "", text)
        text = re.sub(_NOT_AFTER + r + r"(?![\w.\-/])", ".", text)
    # another checkout's runs/ and figures/ (a root the metadata did not name)
    text = re.sub(_NOT_AFTER + rf"/(?:{_PATHCHAR}+/)*?((?:runs|figures)/)", r"\1", text)
    text = re.sub(_NOT_AFTER + r"(?:/root|/home/[\w.\-]+)(?=/|(?![\w.\-]))", "~", text)  # home folders
    text = re.sub(_NOT_AFTER + r"/(?:tmp|var/tmp|dev/shm)(?:/tmp[\w\-]+|/pytest-of-[\w.\-]+/pytest-\d+)?(?=/|(?![\w.\-]))",
                  "$TMPDIR", text)
    text = re.sub(_NOT_AFTER + rf"/{_PATHCHAR}*?/((?:site|dist)-packages/)", r"\1", text)
    return text


def relativise_notebook(nb, stem: str) -> str | None:
    """Rewrite, in place, the paths of ``nb``'s outputs, injected-parameters cell and papermill metadata."""
    root = infer_root(nb, stem)
    pm = nb.metadata.get("papermill", {}) or {}
    out_dir = (pm.get("parameters") or {}).get("out_dir")
    out_dir = out_dir if isinstance(out_dir, str) else None

    def fix(v):
        if isinstance(v, str):
            return relativise(v, root, stem, out_dir)
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, dict):
            for k in list(v):
                v[k] = fix(v[k])
        return v

    if pm:
        nb.metadata["papermill"] = fix(pm)
    for c in nb.cells:
        if c.get("cell_type") != "code":
            continue
        if "injected-parameters" in (c.get("metadata", {}).get("tags") or []):
            c["source"] = fix(_text(c.get("source", "")))
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                o["text"] = fix(_text(o.get("text", "")))
            elif o.get("output_type") == "error":
                o["evalue"] = fix(str(o.get("evalue", "")))
                o["traceback"] = fix(list(o.get("traceback", [])))
            for k in list((o.get("data") or {})):
                if k.startswith("text/") and k != "text/latex":
                    o["data"][k] = fix(_text(o["data"][k]))
    return root


# ---------------------------------------------------------------------------------------------------------------
# figures inline

def figure_calls(source: str) -> list[tuple[str, str]]:
    """The ``save_figure`` calls of a cell, in source order: ``("name", literal)``, ``("pattern", regex)`` for an
    f-string (its literal parts) or ``("unresolved", call text)``."""
    src = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return [("name", m.group(2)) for m in
                re.finditer(r"save_figure\([^()]*?,[^()]*?,\s*(?:name\s*=\s*)?([\"'])([^\"'{}]+)\1", src)]
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None) != "save_figure":
            continue
        arg = node.args[2] if len(node.args) > 2 else next((k.value for k in node.keywords if k.arg == "name"), None)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            calls.append((node.lineno, node.col_offset, "name", arg.value))
        elif isinstance(arg, ast.JoinedStr):
            parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in arg.values]
            calls.append((node.lineno, node.col_offset, "pattern", "".join(parts)))
        else:
            calls.append((node.lineno, node.col_offset, "unresolved", ast.get_source_segment(src, node) or "?"))
    return [(kind, v) for _, _, kind, v in sorted(calls)]


def inline_figures(nb, stem: str, figdir: Path, staged: Staged) -> None:
    """Append each committed PNG that a code cell saves to that cell's outputs; a target before the cell."""
    import nbformat

    pngs = {p.stem: p for p in sorted(figdir.glob("*.png"))}
    cells = [(i, c, figure_calls(_text(c.get("source", "")))) for i, c in enumerate(nb.cells)
             if c.get("cell_type") == "code" and "save_figure" in _text(c.get("source", ""))]
    literal = {v for _, _, calls in cells for kind, v in calls if kind == "name"}
    placed: dict[int, list[str]] = {}
    for i, c, calls in cells:
        names = []
        for kind, v in calls:
            if kind == "name":
                found = [v] if v in pngs else []
                if not found:
                    staged.missing.append(v)
            elif kind == "pattern":
                found = sorted(n for n in pngs if re.fullmatch(v, n) and n not in literal)
                if not found:
                    staged.unresolved.append(f"cell {i}: f-string /{v}/ matches no committed PNG")
            else:
                staged.unresolved.append(f"cell {i}: {v}")
                found = []
            names += [n for n in found if n not in staged.inline and n not in names]
        for n in names:
            data = {"image/png": base64.b64encode(pngs[n].read_bytes()).decode("ascii"),
                    "text/plain": f"<figure {n}: figures/{stem}/{n}.png>"}
            c.setdefault("outputs", []).append(nbformat.v4.new_output("display_data", data=data, metadata={}))
            staged.inline[n] = i
        if names:
            meta = c.setdefault("metadata", {}).setdefault("mystnb", {})
            meta.setdefault("image", {}).setdefault("alt", "Figure " + ", ".join(names) + f" of {stem}")
            placed[i] = names
    for i in sorted(placed, reverse=True):  # targets just before the cell that draws them
        targets = "\n".join(f"({figure_label(stem, n)})=" for n in placed[i])
        nb.cells.insert(i, nbformat.v4.new_markdown_cell(targets))
    shift = 0
    for i in sorted(placed):
        shift += 1
        for n in placed[i]:
            staged.inline[n] = i + shift


def stage_notebook(repo: Path, stem: str, out: Path) -> Staged:
    """Write ``out/<stem>.ipynb``; says whether it carries the batch's outputs and which figures it shows."""
    import nbformat

    staged = Staged(stem)
    figdir = repo / "figures" / stem
    executed = figdir / f"{stem}.executed.ipynb"
    results = figdir / "results.json"
    if executed.exists():
        nb = nbformat.read(executed, as_version=4)
        staged.root = relativise_notebook(nb, stem)
        inline_figures(nb, stem, figdir, staged)
        note = provenance_line(results) if results.exists() else "Outputs of the committed batch run."
        where = ("Each figure is shown under the cell that draws it (the committed PNG of "
                 f"`figures/{stem}/`). " if staged.inline else "")
        text = (f"```{{note}}\n{note} {where}Claims, tables and every file: "
                f"[outputs of {stem}](../outputs/{stem}/index.md).\n```")
        staged.has_outputs = True
    else:
        import jupytext

        nb = jupytext.read(repo / "notebooks" / f"{stem}.py")
        text = (f"```{{warning}}\nNo executed copy of this notebook is committed, so this page shows its source "
                f"without outputs. Produce them with `make figures ONLY={stem}`.\n```")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    cell = nbformat.v4.new_markdown_cell(text)
    at = 1 if nb.cells and _is_title(nb.cells[0]) else 0
    nb.cells.insert(at, cell)
    staged.inline = {n: i + (i >= at) for n, i in staged.inline.items()}  # the cells after the note moved by one
    nbformat.validator.normalize(nb)
    for i, c in enumerate(nb.cells):  # ids the staged copy lacks (older nbformat minor versions, inserted cells)
        if not c.get("id"):
            c["id"] = f"cell-{i}"
    nbformat.write(nb, out / f"{stem}.ipynb")
    return staged


def _is_title(cell) -> bool:
    src = _text(cell.get("source", ""))
    return cell.get("cell_type") == "markdown" and src.lstrip().startswith("# ")


# ---------------------------------------------------------------------------------------------------------------
# links into the site

@dataclasses.dataclass
class Site:
    """Where each committed thing is in the book (paths relative to ``book/``)."""
    repo: Path
    stems: list[str]
    shown: dict[str, set[str]]   # stem -> figure names the book shows (inline or on its outputs page)
    requested: dict[str, set[str]] = dataclasses.field(default_factory=dict)  # stem -> files to copy for links

    def target(self, rel: str) -> str | None:
        """The book path (or ``#label``) of repository path ``rel``; None where the site has no such page."""
        rel = rel.rstrip("/")
        parts = rel.split("/")
        if parts[0] == "figures" and len(parts) >= 2 and parts[1] in self.stems:
            s, rest = parts[1], "/".join(parts[2:])
            name, ext = posixpath.splitext(rest)
            if rest in ("", "README.md", "index.md"):
                return f"_stage/outputs/{s}/index.md"
            if rest == f"{s}.executed.ipynb":
                return f"_stage/notebooks/{s}.ipynb"
            if ext in (".png", ".pdf") and name in self.shown.get(s, ()):
                return "#" + figure_label(s, name)
            if "/" not in rest and (self.repo / rel).is_file():
                self.requested.setdefault(s, set()).add(rest)
                return f"_stage/outputs/{s}/{rest}"
            return None
        if parts[0] == "notebooks" and len(parts) == 2 and posixpath.splitext(parts[1])[0] in self.stems:
            return f"_stage/notebooks/{posixpath.splitext(parts[1])[0]}.ipynb"
        if parts[0] == "docs" and len(parts) == 2 and rel.endswith(".md") and (self.repo / rel).is_file():
            return f"_stage/docs/{parts[1]}"
        if rel == "README.md":
            return "index.md"
        return None

    def link(self, url: str, page_repo_dir: str, page_book_dir: str) -> str | None:
        """``url`` as written in a page standing for repository folder ``page_repo_dir``, rewritten for the page's
        place ``page_book_dir`` in the book; None: no such page in the site (the link becomes text)."""
        if re.match(r"^[a-zA-Z][\w+.\-]*:", url) or url.startswith("#") or not url:
            return url
        path, frag = (url.split("#", 1) + [""])[:2]
        if path.startswith("/"):
            return None
        rel = posixpath.normpath(posixpath.join(page_repo_dir, path)) if path else page_repo_dir
        if rel == ".." or rel.startswith("../"):
            return None
        t = self.target(rel)
        if t is None:
            return None
        if t.startswith("#"):
            return t
        return posixpath.relpath(t, page_book_dir or ".") + (f"#{frag}" if frag else "")


_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s<>]*)>?(\s+\"[^\"]*\")?\s*\)")
_REFDEF = re.compile(r"^( {0,3}\[[^\]]+\]:\s*)<?(\S+?)>?(\s+.*)?$")
_IMG = re.compile(r"<img\b[^>]*\bsrc=[\"']([^\"']+)[\"'][^>]*>", re.I)


def rewrite_links(text: str, site: Site, page_repo_dir: str, page_book_dir: str) -> str:
    """Markdown ``text``'s relative links and images pointed at the site (outside fenced code blocks). A figure,
    linked or embedded, becomes a link to where the book shows it, so that each PNG is in the site once."""

    def inline(m: re.Match) -> str:
        bang, label, url, title = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        new = site.link(url, page_repo_dir, page_book_dir)
        if new is None:
            shown = label or url
            return shown if f"`{url}`" in shown or shown != url else f"`{url}`"
        if bang and new.startswith("#"):
            return f"[{label or 'figure'}]({new})"
        return f"{bang}[{label}]({new}{title})"

    def refdef(m: re.Match) -> str:
        new = site.link(m.group(2), page_repo_dir, page_book_dir)
        return f"{m.group(1)}{new if new is not None else '#'}{m.group(3) or ''}"

    def img(m: re.Match) -> str:
        new = site.link(m.group(1), page_repo_dir, page_book_dir)
        name = posixpath.basename(m.group(1))
        return m.group(0) if new == m.group(1) else (f"[{name}]({new})" if new else f"`{name}`")

    out, fence = [], None
    for line in text.split("\n"):
        f = re.match(r"^\s*(`{3,}|~{3,})", line)
        if f and (fence is None or f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence)):
            fence = None if fence else f.group(1)
            out.append(line)
            continue
        if fence is None:
            line = _LINK.sub(inline, line)
            line = _REFDEF.sub(refdef, line)
            line = _IMG.sub(img, line)
        out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# outputs pages

def _tables(src: Path) -> list[Path]:
    tables = sorted(p for p in src.glob("*.md") if p.name != "README.md")
    return [p for p in tables if p.name == "claims.md"] + [p for p in tables if p.name != "claims.md"]


def _figures_section(stem: str, src: Path, staged: Staged) -> list[str]:
    pngs = sorted(src.glob("*.png"))
    if not pngs:
        return []
    lines = ["## Figures", ""]
    inline = [p for p in pngs if p.stem in staged.inline]
    if inline:
        lines += ["Each figure is shown once in the book, under the notebook cell that draws it:", ""]
        lines += [f"- [{p.stem}](#{figure_label(stem, p.stem)})"
                  + (" (also as PDF in the repository)" if p.with_suffix(".pdf").exists() else "") for p in inline]
        lines += [""]
    if staged.unresolved:
        lines += ["```{note}", "Some cells save a figure under a name the book cannot read from their source "
                  "(" + "; ".join(f"`{u}`" for u in staged.unresolved) + "), so their figures are shown here.",
                  "```", ""]
    for p in pngs:
        if p.stem not in staged.inline:
            lines += [f"({figure_label(stem, p.stem)})=", f"### {p.stem}", "", f"![{p.stem}]({p.name})", ""]
    return lines


def stage_outputs(repo: Path, stem: str, out: Path, staged: Staged, site: Site) -> None:
    src = repo / "figures" / stem
    out.mkdir(parents=True, exist_ok=True)
    for p in src.glob("*.png"):
        if p.stem not in staged.inline:
            shutil.copyfile(p, out / p.name)
    fix = lambda t: relativise(t, staged.root, stem)  # noqa: E731
    readme = src / "README.md"
    nb_link = f"The notebook: [{stem}](../../notebooks/{stem}.ipynb)."
    if readme.exists():
        lines = _result_page(repo, stem, out, staged, site, fix, nb_link)
    else:
        lines = [f"# Outputs of {stem}", ""]
        if (src / "results.json").exists():
            lines += [provenance_line(src / "results.json"), ""]
        lines += [nb_link, ""]
        for p in _tables(src):
            (out / f"{p.name}.inc").write_text(fix(p.read_text()))
            title = "Claims" if p.name == "claims.md" else p.stem
            lines += [f"## {title}", "", f"```{{include}} {p.name}.inc", "```", ""]
        lines += _figures_section(stem, src, staged)
    (out / "index.md").write_text("\n".join(lines))


def _result_page(repo: Path, stem: str, out: Path, staged: Staged, site: Site, fix, nb_link: str) -> list[str]:
    """The outputs page of a notebook whose batch wrote ``figures/<nb>/README.md``: that README, then the rest."""
    src = repo / "figures" / stem
    body = rewrite_links(fix((src / "README.md").read_text()), site, f"figures/{stem}", f"_stage/outputs/{stem}")
    lines = body.split("\n")
    h1 = next((k for k, ln in enumerate(lines) if ln.startswith("# ")), None)
    if h1 is None or any(ln.strip() and not ln.startswith(("---", "<!--")) for ln in lines[:h1]):
        lines = [f"# Outputs of {stem}", "", nb_link, ""] + lines
    else:
        lines[h1 + 1:h1 + 1] = ["", nb_link]
    tables = _tables(src)
    for p in tables:  # a page per table (the README links them; the listing below too)
        title = "Claims" if p.name == "claims.md" else p.stem
        (out / f"{p.name}.inc").write_text(fix(p.read_text()))
        (out / p.name).write_text(f"---\norphan: true\n---\n# {title} ({stem})\n\n"
                                  f"From [the outputs of {stem}](index.md).\n\n```{{include}} {p.name}.inc\n```\n")
    lines += ["", f"## Every output of {stem}", ""]
    if (src / "results.json").exists():
        lines += [provenance_line(src / "results.json"), ""]
    if tables:
        lines += ["Tables: " + ", ".join(f"[{'claims' if p.name == 'claims.md' else p.stem}]({p.name})"
                                         for p in tables) + ".", ""]
    lines += [ln.replace("## Figures", "### Figures", 1) if ln == "## Figures" else ln
              for ln in _figures_section(stem, src, staged)]
    return lines


def _copy_requested(repo: Path, out: Path, site: Site) -> None:
    for s, names in site.requested.items():
        for n in names:
            dst = out / "outputs" / s / n
            if not dst.exists():
                shutil.copyfile(repo / "figures" / s / n, dst)


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


def toc_entries(stems: list[str]) -> list[str]:
    """The book's reading order: each notebook, then its outputs page, in number order."""
    entries = []
    for s in stems:
        entries += [f"_stage/notebooks/{s}", f"Outputs of {s} <_stage/outputs/{s}/index>"]
    return entries


def stage(repo: Path, out: Path, mathjax: bool = True) -> dict[str, Staged]:
    repo, out = Path(repo), Path(out)
    for sub in ("notebooks", "outputs", "docs"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True, exist_ok=True)
    stems = sorted(p.stem for p in (repo / "notebooks").glob("[0-9][0-9]_*.py"))
    staged = {s: stage_notebook(repo, s, out / "notebooks") for s in stems}
    site = Site(repo, stems, {s: {p.stem for p in (repo / "figures" / s).glob("*.png")} for s in stems})
    for s in stems:
        stage_outputs(repo, s, out / "outputs" / s, staged[s], site)
    for p in (repo / "docs").glob("*.md"):
        shutil.copyfile(p, out / "docs" / p.name)
    if mathjax:
        stage_mathjax(out / "static")
    readme = rewrite_links((repo / "README.md").read_text(), site, "", "")
    _copy_requested(repo, out, site)
    toc = (["", "```{toctree}", ":caption: Notebooks", ":maxdepth: 1", ""] + toc_entries(stems) + ["```", ""]
           + ["```{toctree}", ":caption: Papers", ":maxdepth: 1", ""] + [p for _, p in PAPERS] + ["```", ""]
           + ["```{toctree}", ":caption: Notes", ":maxdepth: 1", ""]
           + [f"_stage/docs/{p.stem}" for p in sorted((repo / "docs").glob("*.md"))] + ["```", ""])
    (out.parent / "index.md").write_text(readme + "\n".join(toc))
    return staged
