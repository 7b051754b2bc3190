"""Regenerate every paper figure: ``python -m tvclab.figures [--tier smoke|cpu] [--only NAME] [--jobs N] [--force]``.

Each ``notebooks/NN_name.py`` (jupytext py:percent) is converted to a notebook with the ``python3`` kernel,
executed by papermill with ``tier``, ``seed`` and ``out_dir`` injected into its ``parameters`` cell, in a
child process with a wall-clock limit. The executed notebook (git-ignored), its figures (PNG + PDF) and its
``results.json`` land in ``<out-root>/<name>/``. A failing notebook is reported by name, cell heading and
``In [N]``; its partial executed notebook is kept for debugging, and the command exits non-zero. An empty or blank
``--only`` name (it would select every notebook) or a ``--timeout`` that is not a positive number of seconds exits 2
before anything runs.

Each notebook's output folder is written under its lock (``tvclab.locks``): two runners on the same output root
(``--jobs N`` in one, or two commands) never write one folder at once; the second waits. Training runs that
notebooks share are locked by ``tvclab.train.run`` itself, so such a run is trained once.

A notebook whose inputs are unchanged since its recorded outputs is skipped (``tvclab.batch_cache``): the sha256 of
its source and of every ``tvclab`` module it imports (transitively), its parameters (tier, seed), the installed
package versions and the data files it reads, kept in ``<out-root>/<name>/inputs.json`` beside results.json (commit
both). The run says which notebooks it skipped, and for the others which input changed; ``--force`` reruns anyway.
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

from . import batch_cache
from .paths import FIGURES, NOTEBOOKS, REPO_ROOT

from .tiers import BY_NAME, TIERS  # noqa: E402
# Wall-clock limit per notebook (s): each tier's ``Tier.timeout_s``.
TIMEOUT = {name: t.timeout_s for name, t in BY_NAME.items()}


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float
    message: str = ""
    skipped: str = ""  # why it was not run ("inputs unchanged since ..."); empty when it ran
    reason: str = ""  # why it ran ("changed: lib/tvclab/toy.py", "forced (--force)")


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


def _bad_arguments(args: argparse.Namespace) -> str:
    """Why the arguments cannot run (checked before anything runs), or "": an empty or blank ``--only`` name (a
    prefix of every name: it would select every notebook, e.g. from an unset shell variable), a ``--timeout`` that
    is not a positive number of seconds."""
    for o in args.only or []:
        if not o.strip():
            return (f"--only {o!r} names no notebook (an empty name would select all of them); give a name or "
                    "prefix such as 01 or 01_flow_alignment_toy, or drop --only to run every notebook")
    t = args.timeout
    if t is not None and not (t > 0 and t != float("inf")):
        return (f"--timeout {t:g} is not a wall-clock limit: give a positive number of seconds per notebook, or "
                f"drop it for the tier's default ({', '.join(f'{k} {v} s' for k, v in TIMEOUT.items())})")
    return ""


def _cell_label(source: str) -> str:
    """A readable name for a cell: its first heading or comment line, else its first line."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#") and ln.lstrip("#").strip():
            return ln.lstrip("#").strip()[:80]
    return (lines[0][:80] if lines else "<empty cell>")


def execute_one(src: Path, out_dir: Path, tier: str, seed: int | None, progress: bool, force: bool = True) -> str:
    """Convert and execute one notebook in this process (the child side), then record its inputs; raises on
    failure (its folder is then left without inputs.json: stale). ``force=False``: first look again, under the
    lock, whether it is fresh (another runner may have just run it) and if so return why it was skipped."""
    from .locks import dir_lock

    with dir_lock(out_dir, what="notebook output"):
        if not force and not batch_cache.stale(src, out_dir, tier, seed):
            return f"inputs unchanged since {batch_cache.recorded_time(out_dir)}"
        before = batch_cache.snapshot(src, tier, seed)  # inputs as the run starts: an edit made meanwhile shows
        batch_cache.forget(out_dir)
        _execute(src, out_dir, tier, seed, progress)
        batch_cache.record(src, out_dir, tier, seed, before=before)
    return ""


def _execute(src: Path, out_dir: Path, tier: str, seed: int | None, progress: bool) -> None:
    import jupytext
    import papermill as pm

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
        skipped = execute_one(Path(args.child), Path(args.out_dir), args.tier, args.seed, progress=args.progress,
                              force=args.force)
        status.write_text(json.dumps({"ok": True, "skipped": skipped}))
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
                 timeout: float | None = None, force: bool = True) -> Outcome:
    """Execute one notebook in a child process with a wall-clock limit (``force=False``: the child skips it when
    its inputs turn out unchanged once it holds the folder's lock)."""
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
        if force:
            cmd.append("--force")
        limit = timeout or TIMEOUT[tier]
        try:
            subprocess.run(cmd, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            return Outcome(src.stem, False, time.time() - t0, f"exceeded the {limit:.0f} s wall-clock limit")
        if not status.exists():
            return Outcome(src.stem, False, time.time() - t0, "the notebook process died without a status (killed?)")
        st = json.loads(status.read_text())
    return Outcome(src.stem, st["ok"], time.time() - t0, st.get("message", ""), skipped=st.get("skipped", ""))


def _why_run(changed: list[str], most: int = 8) -> str:
    """``changed: a, b, ... and 3 more`` (or the one reason there is no record to compare with)."""
    if len(changed) == 1 and changed[0].startswith(("no recorded outputs", "cache format", "forced")):
        return changed[0]
    shown = ", ".join(changed[:most]) + (f" and {len(changed) - most} more" if len(changed) > most else "")
    return f"changed: {shown}"


def _summary(outcomes: list[Outcome]) -> list[str]:
    skipped = [o.name for o in outcomes if o.skipped]
    ran = [f"{o.name} ({o.reason}{'' if o.ok else '; FAILED'})" for o in outcomes if not o.skipped]
    lines = [f"tvclab.figures: skipped {len(skipped)} (inputs unchanged): {', '.join(skipped) or '-'}"]
    return lines + [f"tvclab.figures: ran {len(ran)}: {'; '.join(ran) or '-'}"]


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
    ap.add_argument("--force", action="store_true",
                    help="run every selected notebook, even those whose inputs are unchanged since their outputs")
    # child-process side (internal)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    ap.add_argument("--status", help=argparse.SUPPRESS)
    ap.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    bad = _bad_arguments(args)
    if bad:
        print(f"tvclab.figures: error: {bad}", file=sys.stderr)
        return 2

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
            changed = (["forced (--force)"] if args.force else
                       batch_cache.stale(src, out_root / src.stem, args.tier, args.seed))
            if not changed:
                o = Outcome(src.stem, True, 0.0,
                            skipped=f"inputs unchanged since {batch_cache.recorded_time(out_root / src.stem)}")
            else:
                bar.write(f"run  {src.stem}: {_why_run(changed)}")
                o = run_notebook(src, out_root, args.tier, args.seed, progress=per_cell, timeout=args.timeout,
                                 force=args.force)
                o.reason = _why_run(changed)
            bar.update(1)
            if o.skipped:
                bar.write(f"skip {o.name} ({o.skipped})")
            else:
                bar.write(f"{'ok  ' if o.ok else 'FAIL'} {o.name}  ({o.seconds:.0f} s)")
            return o

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(job, srcs))
    print("\n".join(_summary(outcomes)))
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"tvclab.figures: notebook {o.name} failed: {o.message}\n"
              f"  partial executed notebook: {out_root / o.name / (o.name + '.executed.ipynb')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
