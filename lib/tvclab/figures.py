"""Regenerate every paper figure: ``python -m tvclab.figures [--tier smoke|cpu] [--only NAME] [--jobs N]``.

Each ``notebooks/NN_name.py`` (jupytext py:percent) is converted to a notebook with the ``python3`` kernel,
executed by papermill with ``tier``, ``seed`` and ``out_dir`` injected into its ``parameters`` cell, in a
child process with a wall-clock limit. The executed notebook (git-ignored), its figures (PNG + PDF) and its
``results.json`` land in ``<out-root>/<name>/``. A failing notebook is reported by name, cell heading and
``In [N]``; its partial executed notebook is kept for debugging, and the command exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .paths import FIGURES, NOTEBOOKS, REPO_ROOT

TIERS = ("smoke", "cpu", "paper")
# Wall-clock limit per notebook (s). smoke: SPEC budget 60 s, with head-room for a slow CI machine.
TIMEOUT = {"smoke": 600, "cpu": 2 * 3600, "paper": 7 * 24 * 3600}


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    message: str = ""


def discover(notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Notebook sources ``NN_name.py`` in order."""
    return sorted(p for p in notebooks.glob("[0-9][0-9]_*.py"))


def _select(paths: list[Path], only: list[str] | None) -> list[Path]:
    if not only:
        return paths
    names = {p.stem: p for p in paths}
    chosen = []
    for o in only:
        o = Path(o).stem
        hits = [p for n, p in names.items() if n == o or n.startswith(o)]
        if not hits:
            raise SystemExit(f"tvclab.figures: no notebook named {o!r}; available: {', '.join(names)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _cell_label(source: str) -> str:
    """A readable name for a cell: its first heading or comment line, else its first line."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#") and ln.lstrip("#").strip():
            return ln.lstrip("#").strip()[:80]
    return (lines[0][:80] if lines else "<empty cell>")


def execute_one(src: Path, out_dir: Path, tier: str, seed: int | None, progress: bool) -> None:
    """Convert and execute one notebook in this process (the child side). Raises on failure."""
    import jupytext
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        ipynb = Path(tmp) / f"{src.stem}.ipynb"
        jupytext.write(nb, ipynb)
        params = {"tier": tier, "out_dir": str(out_dir)}
        if seed is not None:
            params["seed"] = seed
        pm.execute_notebook(
            str(ipynb),
            str(out_dir / f"{src.stem}.executed.ipynb"),
            parameters=params,
            kernel_name="python3",
            language="python",
            cwd=str(REPO_ROOT),
            progress_bar=progress,
            execution_timeout=TIMEOUT[tier],
        )


def _child(args: argparse.Namespace) -> int:
    """Entry of the child process: execute, then write a status file the parent reads."""
    status = Path(args.status)
    try:
        execute_one(Path(args.child), Path(args.out_dir), args.tier, args.seed, progress=args.progress)
        status.write_text(json.dumps({"ok": True}))
        return 0
    except Exception as e:  # report the failing cell by name; papermill already wrote the partial notebook
        cell_index = getattr(e, "cell_index", None)
        msg = f"{type(e).__name__}: {e}"
        if cell_index is not None:
            label = _cell_label(getattr(e, "source", ""))
            msg = (f"cell {cell_index} ({label!r}, In [{getattr(e, 'exec_count', '?')}]) raised "
                   f"{getattr(e, 'ename', '?')}: {getattr(e, 'evalue', '')}")
        status.write_text(json.dumps({"ok": False, "message": msg}))
        return 1


def run_notebook(src: Path, out_root: Path, tier: str, seed: int | None = None, progress: bool = True,
                 timeout: float | None = None) -> Outcome:
    """Execute one notebook in a child process with a wall-clock limit."""
    out_dir = out_root / src.stem
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        status = Path(tmp) / "status.json"
        cmd = [sys.executable, "-m", "tvclab.figures", "--child", str(src), "--out-dir", str(out_dir),
               "--tier", tier, "--status", str(status)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if progress:
            cmd.append("--progress")
        limit = timeout or TIMEOUT[tier]
        try:
            subprocess.run(cmd, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(src.stem, False, time.time() - t0, f"exceeded the {limit:.0f} s wall-clock limit")
        if not status.exists():
            return Outcome(src.stem, False, time.time() - t0, "the notebook process died without a status (killed?)")
        st = json.loads(status.read_text())
    return Outcome(src.stem, st["ok"], time.time() - t0, st.get("message", ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tvclab.figures", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", choices=TIERS, default="cpu", help="scale tier (default: cpu)")
    ap.add_argument("--only", action="append", help="notebook name or prefix (repeatable), e.g. 00_tvc_derivations or 00")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1; 2 cores run one well)")
    ap.add_argument("--seed", type=int, default=None, help="override every notebook's seed")
    ap.add_argument("--out-root", type=Path, default=FIGURES, help="where <notebook>/ folders go (default: figures/)")
    ap.add_argument("--runs-root", type=Path, default=None,
                    help="training run directories (default: $TVCLAB_RUNS or runs/); notebooks share them")
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=None, help="wall-clock limit per notebook in seconds")
    # child-process side (internal)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    ap.add_argument("--status", help=argparse.SUPPRESS)
    ap.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    from tqdm.auto import tqdm

    if args.runs_root is not None:
        os.environ["TVCLAB_RUNS"] = str(args.runs_root.resolve())
    srcs = _select(discover(args.notebooks), args.only)
    if not srcs:
        print(f"tvclab.figures: no notebooks found in {args.notebooks}", file=sys.stderr)
        return 2
    out_root = args.out_root.resolve()
    per_cell = args.jobs == 1
    outcomes: list[Outcome] = []
    with tqdm(total=len(srcs), desc=f"notebooks ({args.tier})", unit="nb", position=0) as bar:
        def job(src: Path) -> Outcome:
            o = run_notebook(src, out_root, args.tier, args.seed, progress=per_cell, timeout=args.timeout)
            bar.update(1)
            bar.write(f"{'ok  ' if o.ok else 'FAIL'} {o.name}  ({o.seconds:.0f} s)")
            return o

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(job, srcs))
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"tvclab.figures: notebook {o.name} failed: {o.message}\n"
              f"  partial executed notebook: {out_root / o.name / (o.name + '.executed.ipynb')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
