"""Notebooks 02-06 read like a paper section: at least 0.35 lines of prose per line of code, and no code cell over
40 lines (orchestration lives in the library). Counted on the jupytext sources: non-blank lines, a markdown cell's
bare ``#`` spacer lines not counted."""
from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEACHING = ["02_wartok", "03_flow_prior_autoencoders", "04_prologue", "05_vapi", "06_cross_paper"]
MIN_RATIO = 0.35
MAX_CELL = 40


def cells(path: Path) -> list[tuple[str, list[str]]]:
    """The (kind, non-blank lines) of every cell of a py:percent notebook; the header before the first cell is
    not a cell."""
    out: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            out.append(("markdown" if "[markdown]" in line else "code", []))
        elif out and line.strip() and not (out[-1][0] == "markdown" and line.strip() == "#"):
            out[-1][1].append(line)
    return out


def test_cells_counts_a_known_source(tmp_path):
    src = tmp_path / "nb.py"
    src.write_text("# ---\n# header\n# ---\n\n# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\ny = 2\n")
    assert cells(src) == [("markdown", ["# # Title", "# text"]), ("code", ["x = 1", "y = 2"])]


@pytest.mark.parametrize("name", TEACHING)
def test_notebook_teaches_before_it_runs(name):
    cs = cells(NOTEBOOKS / f"{name}.py")
    md = sum(len(lines) for kind, lines in cs if kind == "markdown")
    code = sum(len(lines) for kind, lines in cs if kind == "code")
    long = [(i, len(lines)) for i, (kind, lines) in enumerate(cs) if kind == "code" and len(lines) > MAX_CELL]
    assert md / code >= MIN_RATIO, f"{name}: {md} markdown lines per {code} code lines = {md / code:.2f}"
    assert not long, f"{name}: code cells over {MAX_CELL} lines (cell index, lines): {long}"
