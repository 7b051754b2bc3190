"""``score``: the test-split numbers of a finished run (``python -m tvclab.train score``), written to ``score.json``.

The stage-1 tokenizer's reconstructions of the first N test images give rFD-clf against those images and their PSNR;
when the stage-2 prior of the same config has finished, N of its samples give gFD-clf against the same images and
the prior-isolating pFD-clf against the reconstructions, and gFD - rFD. The numbers are ``evaluation.fd_columns``'s
(``evaluation.rfid`` without a prior), the ones the notebooks' tables hold for this run and seed: the tier's N
(``tiers.Tier.n_frechet``, ``n`` overrides it), bootstrap resamples and FD-clf classifier
(``evaluation.tier_setup``; Inception FID where its weights are cached, labelled so, pFD always FD-clf), noise and
samples of the run's ``seed``, in one process on the CPU.

A reader of finished runs: it takes no lock, and writes ``score.json`` into the stage-1 run directory atomically
(a rerun replaces it). A missing run directory or an unfinished stage 1 raises ``StageMissingError`` naming the
command that produces it; a run made with another config, ``RunConflictError``.
"""
from __future__ import annotations

import math
import shlex
from pathlib import Path

from tvclab import configs, evaluation, metrics, tiers
from tvclab.io import atomic_write_json

from . import faults
from .runner import STAGES, Stage, StageMissingError, _check_parent, _finished
from .stages import changed, command, default_run_dir, stage2_subdir

SCORE = "score.json"
SPLIT = "test"


def score_path(run_dir) -> Path:
    """``<run>/score.json``: what ``score`` wrote for the stage-1 run directory ``run_dir``."""
    return Path(run_dir) / SCORE


def score_command(cfg: configs.Config, root: Path, n: int | None = None) -> str:
    """The command line that scores this config's run in ``root`` (its stage-1 and stage-2 ``--set`` values)."""
    sets = [f"{k}={v}" for k, v in changed(cfg, "stage2")]
    return " ".join(["python -m tvclab.train score", "--config", cfg.name, "--tier", cfg.tier,
                     *(f"--set {shlex.quote(s)}" for s in sets), "--out", shlex.quote(str(root)),
                     *([f"--n {n}"] if n else [])])


def run_dirs(cfg: configs.Config, out=None) -> tuple[Path, Path | None]:
    """(the finished stage-1 run directory, its finished stage-2 directory or None) of ``cfg`` at ``out`` (default
    ``default_run_dir``). Raises StageMissingError (no directory, no finished stage 1) or RunConflictError (made
    with another config)."""
    root = Path(out) if out is not None else default_run_dir(cfg)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"score: --out {root} is a file, not a run directory; pass the stage-1 run "
                                 f"directory")
    if not root.exists():
        raise StageMissingError(f"score: no run directory at {root}; correct --out, or produce it with: "
                                f"{command('stage1', cfg, root)}")
    _check_parent("score", Stage(None, "stage1", parent="stage1"), cfg, root)  # a finished stage 1, same config
    s2 = root / stage2_subdir(cfg)
    return root, (s2 if _finished("stage2", STAGES["stage2"], cfg, s2) else None)


def _label(prefix: str, metric: str) -> str:
    return prefix + metrics.METRIC_LABELS[metric]


def _frechet(prefix: str, d: dict) -> dict:
    """One Fréchet number of ``evaluation.frechet`` as score.json holds it."""
    return {"name": _label(prefix, d["metric"]), "value": d["value"], "lo": d["lo"], "hi": d["hi"], "n": d["n"],
            "metric": d["metric"], "features": d["features"]}


def evaluate(cfg: configs.Config, root: Path, stage2: Path | None, n: int) -> dict:
    """The metrics of score.json: {"rfd", "psnr"} and, with a stage-2 directory, {"gfd", "pfd", "gap"}; each
    {"name", "value", "n", ...} (Fréchet numbers also "lo", "hi": the tier's bootstrap interval over samples)."""
    ds = cfg.data.dataset
    setup = evaluation.tier_setup(cfg.tier, cfg.seed, 1, ds)
    real = evaluation.reference_images(ds, SPLIT, n, image_size=cfg.data.image_size,
                                       root=cfg.runtime.data_root or None)
    if stage2 is None:
        rf = evaluation.rfid(root, real, ds, seed=cfg.seed, classifier_config=setup.classifier, bootstrap=setup.boot)
        cols = g = None
    else:
        runs = evaluation.SeedRuns(cfg.seed, root, stage2, cfg)
        cols, _, rf, g = evaluation.fd_columns(runs, real, ds, setup.classifier, setup.boot)
    out = {"rfd": _frechet("r", rf), "psnr": {"name": "PSNR", "value": rf["psnr"], "n": rf["n"], "unit": "dB"}}
    if cols is not None:
        out["gfd"] = _frechet("g", g)
        out["pfd"] = {"name": "pFD-clf", "value": cols["pfd"], "lo": cols["pfd_lo"], "hi": cols["pfd_hi"],
                      "n": cols["pfd_n"], "metric": "fd_clf", "features": "classifier"}
        out["gap"] = {"name": f"{out['gfd']['name']} - {out['rfd']['name']}", "value": cols["gap"], "n": g["n"]}
    return out


def score(config: str | configs.Config = "baseline_1d", tier: str = "cpu", overrides=(), out=None,
          n: int | None = None) -> tuple[Path, dict]:
    """Score the finished run of ``config`` at ``tier`` with ``overrides`` in ``out`` on ``n`` test images (default
    the tier's N); write ``<out>/score.json`` atomically and return (its path, its record)."""
    cfg = config if configs.is_config(config) else configs.get(config, tier)
    cfg = configs.apply_overrides(cfg, overrides)
    n = tiers.get(cfg.tier).n_frechet if n is None else n
    if n < 2:
        raise ValueError(f"score: --n {n} is too few images for a Fréchet distance; pass --n 2 or more (the "
                         f"{cfg.tier} tier's default is {tiers.get(cfg.tier).n_frechet})")
    root, s2 = run_dirs(cfg, out)
    record = {"run": str(root), "stage2": None if s2 is None else str(s2), "config": cfg.name, "tier": cfg.tier,
              "seed": cfg.seed, "dataset": cfg.data.dataset, "split": SPLIT, "n": n,
              "bootstrap": tiers.get(cfg.tier).bootstrap, "meaningless": tiers.get(cfg.tier).meaningless,
              "metrics": evaluate(cfg, root, s2, n)}
    if s2 is None:
        record["note"] = (f"no finished stage-2 prior at {root / stage2_subdir(cfg)}: gFD and pFD-clf need one; "
                          f"train it with: {command('stage2', cfg, root)}")
    path = score_path(root)
    try:
        atomic_write_json(path, record)
    except OSError as e:
        fault = faults.file_system(e, None, score_command(cfg, root, n), root)
        if fault is None:
            raise
        raise fault from None
    return path, record


def _num(x) -> str:
    return "-" if x is None else (f"{x:.4g}" if math.isfinite(x) else str(x))


def table(record: dict) -> str:
    """score.json as a few lines: what was scored, then one row per metric (value, interval, N)."""
    head = (f"score: {record['config']} ({record['tier']} tier), {record['n']} {record['split']} images of "
            f"{record['dataset']}, seed {record['seed']}")
    if record["meaningless"]:
        head += " (smoke tier: a stand-in classifier; the numbers only check the pipeline)"
    rows = [f"  {'metric':<18} {'value':>10}  {'bootstrap interval':<22} {'N':>6}"]
    for m in record["metrics"].values():
        ci = f"[{_num(m['lo'])}, {_num(m['hi'])}]" if m.get("lo") is not None else ""
        rows.append(f"  {m['name']:<18} {_num(m['value']):>10}  {ci:<22} {m['n']:>6}")
    if record.get("note"):
        rows.append(f"  ({record['note']})")
    return "\n".join([head, *rows])


__all__ = ["SCORE", "score", "score_path", "score_command", "run_dirs", "evaluate", "table"]
