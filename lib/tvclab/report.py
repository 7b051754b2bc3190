"""What a notebook writes: figures (PNG + PDF), tables (CSV + Markdown), results.json and its result page.

Every notebook calls these so the artifacts in ``figures/<notebook>/`` have one layout. The result page
``figures/<notebook>/README.md`` (``result_page``) is generated from results.json and the folder's tables and
figures when the notebook saves its results (its last cell), so no number on it is typed by hand;
``python -m tvclab.report figures/<notebook> ...`` regenerates it from committed files.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import stats
from .io import atomic_write_json, atomic_write_text


def out_path(out_dir: str | os.PathLike) -> Path:
    p = Path(out_dir)
    p.mkdir(parents=True, exist_ok=True)
    return p


def save_figure(fig, out_dir: str | os.PathLike, name: str, dpi: int = 130) -> list[Path]:
    """Save ``fig`` as ``<name>.png`` and ``<name>.pdf`` (paper numbering in ``name``, e.g. ``fig3_mog5``) and close it.

    PDFs carry no creation date so reruns produce identical files.
    """
    import matplotlib.pyplot as plt

    d = out_path(out_dir)
    paths = [d / f"{name}.png", d / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    plt.close(fig)
    return paths


def _fmt(v: Any, digits: int) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else format(v, f".{digits}g")
    return "" if v is None else str(v)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (dicts), columns in the given order."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c), digits).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def save_table(rows: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike, name: str,
               columns: Sequence[str] | None = None, digits: int = 4) -> str:
    """Write ``<name>.csv`` and ``<name>.md``; return the Markdown for display in the notebook."""
    import csv
    import io

    columns = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c) for c in columns})
    d = out_path(out_dir)
    atomic_write_text(d / f"{name}.csv", buf.getvalue())
    md = markdown_table(rows, columns, digits)
    atomic_write_text(d / f"{name}.md", md)
    return md


def save_results(results: Mapping[str, Any], out_dir: str | os.PathLike,
                 provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``results.json`` (every number the notebook computed), atomically, keys sorted, then the result page
    ``README.md`` from it (``write_result_page``); call it after the notebook's last figure and table.

    Floats in ``results`` are rounded (``_clean``); ``provenance`` (``tvclab.provenance.collect(...)``) is stored
    as is under the key "provenance"."""
    out = _clean(results)
    if provenance is not None:
        if "provenance" in out:
            raise ValueError("results already holds a 'provenance' key; pass it only as provenance=")
        out["provenance"] = dict(provenance)
    d = out_path(out_dir)
    path = atomic_write_json(d / "results.json", out)
    write_result_page(d)
    return path


def load_results(out_dir: str | os.PathLike) -> dict:
    return json.loads((Path(out_dir) / "results.json").read_text())


def _clean(o: Any) -> Any:
    """Round floats to 10 significant digits (bit noise must not churn the committed file); NaN -> None."""
    if isinstance(o, Mapping):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    try:
        import numpy as np

        if isinstance(o, np.generic):
            o = o.item()
        elif isinstance(o, np.ndarray):
            return _clean(o.tolist())
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, float):
        if math.isnan(o) or math.isinf(o):
            return None
        return float(f"{o:.10g}")
    return o


def interval_cell(s: Mapping | None, digits: int = 3, missing: str = "n/a") -> str:
    """A table cell of a summary over seeds (``stats``' ``{"mean", "lo", "hi"}``): ``mean [lo, hi]``, or
    ``mean (1 seed)`` without an interval; ``missing`` when there is no summary."""
    if s is None:
        return missing
    return f"{s['mean']:.{digits}f}" + (f" [{s['lo']:.{digits}f}, {s['hi']:.{digits}f}]" if s["lo"] is not None
                                        else " (1 seed)")


def row_cell(row, key: str, digits: int = 3, missing: str = "n/a") -> str:
    """``interval_cell`` of column ``key`` of a table row (``evaluation.Row``: its ``summary`` over seeds)."""
    return interval_cell(row.summary.get(key), digits, missing)


# ---------------------------------------------------------------------------------------------------------------
# the result page: figures/<notebook>/README.md, generated (never edited by hand)

PAGE = "README.md"
GENERATED = "<!-- generated from results.json by tvclab.report.result_page; regenerate: python -m tvclab.report {} -->"


def _notebook_title(stem: str) -> str:
    """The first markdown heading of ``notebooks/<stem>.py``, or the stem where there is no such source."""
    from .paths import NOTEBOOKS

    src = NOTEBOOKS / f"{stem}.py"
    if src.is_file():
        for line in src.read_text().splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
    return stem


def _claim_rows(results: Mapping[str, Any]) -> list[dict]:
    """The claims of results.json as table rows: the rows a notebook kept (``claims.judge``'s "claims"), or rows
    built from the raw results (``claims.table``) where an older results.json kept only those."""
    from . import claims

    rows = list(results.get("claims") or [])
    if rows and isinstance(rows[0].get("difference"), Mapping):
        rows = claims.table(rows)
    return rows


# the columns of ``claims.table`` in its order (results.json sorts keys); a column none of the rows has is left out
CLAIM_COLUMNS = ("claim", "verdict", "holm", "ours", "reference", "difference", "interval", "mde", "effect", "paper",
                 "n")


def _claim_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {k for r in rows for k in r}
    return [c for c in CLAIM_COLUMNS if c in present] + sorted(present - set(CLAIM_COLUMNS))


def _provenance_lines(stem: str, results: Mapping[str, Any]) -> list[str]:
    p = results.get("provenance") or {}
    tier = p.get("tier", results.get("tier", "unknown"))
    seeds = p.get("seeds", results.get("seeds"))
    commit = str(p.get("git_commit") or "unknown")[:10] + (" (uncommitted changes)" if p.get("git_dirty") else "")
    parts = [f"notebook [`notebooks/{stem}.py`](../../notebooks/{stem}.py)", f"tier **{tier}**",
             "seeds " + (", ".join(str(s) for s in seeds) if seeds else "none (deterministic)"),
             f"commit `{commit}`"]
    if results.get("dataset"):
        parts.append(f"data {results['dataset']}")
    n = (p.get("n") or {}).get("frechet")
    if n:
        parts.append(f"{n} test images per Fréchet number")
    wall = (p.get("time_s") or {}).get("wall")
    if isinstance(wall, (int, float)):
        parts.append(f"{wall / 60:.1f} min to run")
    lines = [" · ".join(parts), ""]
    if tier == "smoke":
        lines += ["> **Smoke tier**: a check that the pipeline runs; these numbers mean nothing.", ""]
    return lines


def result_page(out_dir: str | os.PathLike) -> str:
    """The result page of a notebook's output folder: its title, where the numbers come from (tier, seeds,
    commit, N), the claims with their verdicts (Holm-adjusted and with the minimum detectable effect where the
    results carry them), every table the notebook saved and every figure, all read from the folder."""
    d = Path(out_dir)
    results = load_results(d)
    stem = d.resolve().name
    lines = [f"# {_notebook_title(stem)}", "", GENERATED.format(f"figures/{stem}"), ""]
    lines += _provenance_lines(stem, results)
    rows = _claim_rows(results)
    if rows:
        lines += ["## Claims", ""]
        if not any("mde" in r for r in rows):
            lines += ["> These verdicts predate the evidence protocol ([docs/protocol.md](../../docs/protocol.md)): "
                      "their intervals are not all Student t over seeds and no minimum detectable effect was "
                      "recorded. Read them as provisional until the notebook is rerun.", ""]
        else:
            lines += [f"Verdicts at {stats.LEVEL:.0%}: *holds*, *does not hold* or *inconclusive* (the interval "
                      "covers the bound); *holm* is the verdict after Holm's correction over the notebook's claims, "
                      f"*mde* the smallest difference the comparison had {stats.POWER:.0%} power to detect "
                      "([docs/protocol.md](../../docs/protocol.md)).", ""]
        lines += [markdown_table(rows, _claim_columns(rows)).rstrip(), ""]
    tables = sorted(p for p in d.glob("*.md") if p.name not in (PAGE, "claims.md"))
    if tables:
        lines += ["## Tables", ""]
        for t in tables:
            csv = [f"[CSV]({t.stem}.csv)", ""] if (d / f"{t.stem}.csv").exists() else []
            lines += [f"### {t.stem}", "", *csv, t.read_text().strip(), ""]
    figs = sorted(d.glob("*.png"))
    if figs:
        lines += ["## Figures", ""]
        for f in figs:
            pdf = f" ([PDF]({f.stem}.pdf))" if f.with_suffix(".pdf").exists() else ""
            lines += [f"### {f.stem}{pdf}", "", f"![{f.stem}]({f.name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_result_page(out_dir: str | os.PathLike) -> Path:
    """Write ``README.md`` (``result_page``) into the notebook's output folder, atomically."""
    return atomic_write_text(Path(out_dir) / PAGE, result_page(out_dir))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tvclab.report FOLDER...``: regenerate each output folder's result page from its results.json."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m tvclab.report", description=main.__doc__.split(": ", 1)[1])
    ap.add_argument("folders", nargs="+", type=Path, help="notebook output folders, e.g. figures/02_wartok")
    a = ap.parse_args(argv)
    for f in a.folders:
        if not (f / "results.json").is_file():
            print(f"error: {f} has no results.json; pass a notebook's output folder (figures/<notebook>), or run "
                  f"the notebook first (make figures ONLY={f.name})", file=sys.stderr)
            return 2
    for f in a.folders:
        print(write_result_page(f))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
