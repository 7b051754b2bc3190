"""What a notebook writes: figures (PNG + PDF), tables (CSV + Markdown) and results.json.

Every notebook calls these so the artifacts in ``figures/<notebook>/`` have one layout.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

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
    """Write ``results.json`` (every number the notebook computed), atomically, keys sorted.

    Floats in ``results`` are rounded (``_clean``); ``provenance`` (``tvclab.provenance.collect(...)``) is stored
    as is under the key "provenance"."""
    out = _clean(results)
    if provenance is not None:
        if "provenance" in out:
            raise ValueError("results already holds a 'provenance' key; pass it only as provenance=")
        out["provenance"] = dict(provenance)
    d = out_path(out_dir)
    return atomic_write_json(d / "results.json", out)


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
