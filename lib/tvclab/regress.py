"""Regression check of a refactor: two batches of the same tier (``python -m tvclab.figures --out-root FIGS
--runs-root RUNS``), one from before the change and one from after, must agree.

- every notebook's ``results.json``: equal, except the fields that name the machine, the commit or the time
  (``VOLATILE``), claims about measured time (``TIMING_CLAIM``: their text only, numbers masked) and absolute paths
  under either batch's roots (compared relative to them);
- every run directory file: the same set of files (lock files aside); every ``.pt`` file tensor for tensor equal
  (``torch.equal``: same dtype, shape and values) and its other contents equal; every ``.json`` / ``.jsonl`` file
  equal row by row except the volatile fields (``timing.json`` is time only and skipped).

``python -m tvclab.regress OLD_FIGS OLD_RUNS NEW_FIGS NEW_RUNS`` prints one line per difference and a summary, and
exits 1 when there is any difference (0 otherwise).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

# a field whose key matches is not compared: wall-clock time (``*_s``, ``ms``, seconds, per-step cost, notebook
# 01's measured ``flow_cost``, notebook 06's measured ``stage1_step`` ratios), the machine and the commit
VOLATILE = re.compile(r"second|_s$|^ms$|^time$|wall|timing|elapsed|git_commit|git_dirty|^platform$|^versions$"
                      r"|^cpu$|cost_ratio|^flow_cost$|^stage1_step$|^pid$|started|finished_at|^host")
# a claim (a dict with a "claim" text) about measured time is compared by its text with the numbers masked only
TIMING_CLAIM = re.compile(r"time per|seconds per|wall[- ]clock|per second")
SKIP_FILES = re.compile(r"(^|/)(\.lock|timing\.json)$|\.lock$")


def normalise(obj, roots: dict[str, str]):
    """``obj`` without ``VOLATILE`` keys, with the batch's roots in strings replaced by a placeholder."""
    if isinstance(obj, dict):
        if isinstance(obj.get("claim"), str) and TIMING_CLAIM.search(obj["claim"]):
            return {"claim": re.sub(r"\d+(\.\d+)?", "#", obj["claim"]), "timing": True}
        return {k: normalise(v, roots) for k, v in obj.items() if not VOLATILE.search(str(k))}
    if isinstance(obj, (list, tuple)):
        return [normalise(v, roots) for v in obj]
    if isinstance(obj, str):
        for root, name in roots.items():
            obj = obj.replace(root, name)
    return obj


def diff(a, b, where: str = "") -> list[str]:
    """The paths at which two JSON-like values differ (NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in old" for k in a if k not in b]
        out += [f"{where}.{k}: only in new" for k in b if k not in a]
        for k in a:
            if k in b:
                out += diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b and type(a) is type(b) else [f"{where}: {_short(a)} vs {_short(b)}"]


def _short(v) -> str:
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def diff_objects(a, b, where: str = "") -> list[str]:
    """As ``diff``, for the contents of a ``torch.load``: tensors must be ``torch.equal``."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return [f"{where}: a tensor on one side only"]
        if a.dtype != b.dtype or a.shape != b.shape:
            return [f"{where}: {a.dtype} {tuple(a.shape)} vs {b.dtype} {tuple(b.shape)}"]
        if torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
                                 and torch.equal(a.nan_to_num(), b.nan_to_num())):
            return []
        d = (a.double() - b.double()).abs().max().item() if a.is_floating_point() else "ids"
        return [f"{where}: tensors differ (max |diff| {d})"]
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in old" for k in a if k not in b]
        out += [f"{where}.{k}: only in new" for k in b if k not in a]
        for k in a:
            if k in b and not VOLATILE.search(str(k)):
                out += diff_objects(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff_objects(x, y, f"{where}[{i}]")]
    return diff(a, b, where)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not SKIP_FILES.search(str(p))}


def _read_json(path: Path):
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


def compare_figures(old: Path, new: Path, roots: dict[str, str]) -> tuple[int, list[str]]:
    """(results.json files compared, differences) of two figures roots."""
    a = {p.parent.name for p in old.glob("*/results.json")}
    b = {p.parent.name for p in new.glob("*/results.json")}
    out = [f"figures/{n}/results.json: only in old" for n in sorted(a - b)]
    out += [f"figures/{n}/results.json: only in new" for n in sorted(b - a)]
    for n in sorted(a & b):
        x = normalise(_read_json(old / n / "results.json"), roots)
        y = normalise(_read_json(new / n / "results.json"), roots)
        out += [f"figures/{n}/results.json{d}" for d in diff(x, y)]
    return len(a & b), out


def compare_runs(old: Path, new: Path, roots: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """({"pt": n, "json": n, "other": n} compared, differences) of two runs roots."""
    import torch

    a, b = _files(old), _files(new)
    out = [f"runs/{f}: only in old" for f in sorted(a - b)]
    out += [f"runs/{f}: only in new" for f in sorted(b - a)]
    counts = {"pt": 0, "json": 0, "other": 0}
    for f in sorted(a & b):
        p, q = old / f, new / f
        if f.endswith(".pt"):
            counts["pt"] += 1
            x = torch.load(p, map_location="cpu", weights_only=False)
            y = torch.load(q, map_location="cpu", weights_only=False)
            out += [f"runs/{f}{d}" for d in diff_objects(x, y)]
        elif f.endswith((".json", ".jsonl")):
            counts["json"] += 1
            out += [f"runs/{f}{d}" for d in diff(normalise(_read_json(p), roots), normalise(_read_json(q), roots))]
        else:
            counts["other"] += 1
            if p.read_bytes() != q.read_bytes():
                out.append(f"runs/{f}: the bytes differ")
    return counts, out


def compare(old_figs, old_runs, new_figs, new_runs) -> tuple[dict, list[str]]:
    """Every comparison of the two batches: (counts, differences)."""
    old_figs, old_runs, new_figs, new_runs = map(Path, (old_figs, old_runs, new_figs, new_runs))
    roots = {str(old_figs.resolve()): "<FIGS>", str(new_figs.resolve()): "<FIGS>",
             str(old_runs.resolve()): "<RUNS>", str(new_runs.resolve()): "<RUNS>"}
    n_results, d1 = compare_figures(old_figs, new_figs, roots)
    counts, d2 = compare_runs(old_runs, new_runs, roots)
    return {"results": n_results, **counts}, d1 + d2


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.regress", description=__doc__.split("\n\n")[0])
    for name in ("old_figs", "old_runs", "new_figs", "new_runs"):
        p.add_argument(name)
    p.add_argument("--limit", type=int, default=200, help="differences printed at most (all are counted)")
    p.add_argument("--allow-new", action="store_true",
                   help="files only in the new batch (a notebook or run added beside the refactor) are listed, "
                        "not counted as differences")
    a = p.parse_args(argv)
    for d in (a.old_figs, a.old_runs, a.new_figs, a.new_runs):
        if not Path(d).is_dir():
            print(f"regress: {d} is not a directory", file=sys.stderr)
            return 2
    counts, diffs = compare(a.old_figs, a.old_runs, a.new_figs, a.new_runs)
    if a.allow_new:
        added = [d for d in diffs if d.endswith(": only in new")]
        diffs = [d for d in diffs if not d.endswith(": only in new")]
        if added:
            print(f"{len(added)} file{'s' if len(added) != 1 else ''} only in the new batch (not counted), e.g. "
                  f"{added[0].rsplit(':', 1)[0]}")
    for d in diffs[: a.limit]:
        print(d)
    if len(diffs) > a.limit:
        print(f"... and {len(diffs) - a.limit} more")
    print(f"compared {counts['results']} results.json, {counts['pt']} .pt, {counts['json']} json/jsonl and "
          f"{counts['other']} other run files: {len(diffs)} difference{'s' if len(diffs) != 1 else ''}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
