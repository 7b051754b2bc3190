"""The evaluation protocol every notebook uses (docs/protocol.md).

- **Splits.** Selections (hyperparameters, snapshots, early stopping) read the validation split that
  ``tvclab.data`` carves from the training split; reported numbers come from the test split. Stage 1 and 2 log
  validation rows while training and one ``test`` row at the end (``test_metrics``).
- **Fréchet numbers** (``frechet``, ``rfid``, ``gfid``) come with their metric (``fid`` or the labelled ``fd_clf``),
  reference set, N and a bootstrap interval over samples.
- **Rows across seeds.** ``table_row`` trains (or reuses: a finished run directory returns at once) one table row
  for every seed, evaluates each seed's runs with the notebook's ``evaluate`` function and summarises every metric
  with mean, standard deviation and a Student-t interval over seeds (``tvclab.stats``). Verdicts come from
  ``tvclab.claims``.
- **pFD-clf** (``pfd_clf``): FD-clf of the samples against the tokenizer's own reconstructions of the same test
  images, beside rFD and gFD; zero (up to the finite-N floor) for a perfect prior whatever the decoder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from . import data, stats, tiers
from . import timing
from .io import read_jsonl

BOOTSTRAP = 100  # resamples of a Fréchet number's interval over samples


def reference_images(dataset: str, split: str, n: int, image_size: int | None = None, root=None) -> torch.Tensor:
    """The first ``n`` images of ``split`` ("train", "val" or "test") as [n, C, H, W] in [-1, 1] (a fixed set)."""
    ds = data.load(dataset, split, root=root, image_size=image_size)
    if n > len(ds):
        raise ValueError(f"asked for {n} {split} images of {dataset}, which has {len(ds)}")
    return ds.tensors(n)[0] if hasattr(ds, "tensors") else torch.stack([ds[i][0] for i in range(n)])


def frechet(real: torch.Tensor, fake: torch.Tensor, dataset: str, classifier_config=None,
            bootstrap: int = BOOTSTRAP, features: str | None = None) -> dict:
    """The Fréchet distance of ``fake`` against ``real`` at N = len(real): ``{"value", "lo", "hi", "metric", "n",
    "features"}``; (lo, hi) is a 95% bootstrap interval over samples (``bootstrap`` resamples; 0: none), and then
    ``interval`` names its kind ("percentile bootstrap over samples").

    Inception FID when torch-fidelity's weights are cached, else FD-clf (labelled so; tvclab.metrics) in the
    features of the classifier ``classifier_config`` describes (default: the data set's standard one).
    ``features="classifier"`` asks for FD-clf whatever is cached (``metrics.generation_metrics``)."""
    from .metrics import fid

    out = fid(real, fake, dataset, n=len(real), classifier_config=classifier_config, bootstrap=bootstrap,
              features=features)
    m = out["metric"]
    res = {"value": float(out[m]), "lo": out.get(f"{m}_lo"), "hi": out.get(f"{m}_hi"), "metric": m,
           "n": int(out["n_real"]), "features": out["features"]}
    if res["lo"] is not None:  # the kind of interval, for tables and tvclab.claims
        res["interval"] = stats.KIND_BOOTSTRAP_SAMPLES
    return res


@timing.timed("evaluation")
def reconstructions(run_dir: str | Path, real: torch.Tensor, seed: int = 0, step: int | None = None) -> torch.Tensor:
    """The tokenizer's reconstructions of ``real`` (``train.reconstruct``, noise of ``seed``): what ``rfid`` scores
    and what ``pfd_clf`` compares samples with. Compute them once per seed and pass them to both."""
    from .train import reconstruct

    return reconstruct(run_dir, real, seed=seed, step=step)


@timing.timed("evaluation")
def rfid(run_dir: str | Path, real: torch.Tensor, dataset: str, step: int | None = None, seed: int = 0,
         classifier_config=None, bootstrap: int = BOOTSTRAP, recon: torch.Tensor | None = None) -> dict:
    """Reconstruction Fréchet distance: reconstructions of ``real`` against ``real`` itself (same images), and
    their PSNR. ``recon``: those reconstructions when already computed (``reconstructions`` with the same
    ``seed`` and ``step``; the numbers are then the same)."""
    from .metrics import psnr

    if recon is None:
        recon = reconstructions(run_dir, real, seed=seed, step=step)
    if recon.shape != real.shape:
        raise ValueError(f"recon {tuple(recon.shape)} must be the reconstructions of real {tuple(real.shape)}")
    out = frechet(real, recon, dataset, classifier_config, bootstrap)
    out["psnr"] = float(psnr(recon, real))
    return out


@timing.timed("evaluation")
def pfd_clf(samples: torch.Tensor, recon: torch.Tensor, dataset: str, classifier_config=None,
            bootstrap: int = BOOTSTRAP) -> dict:
    """Prior-isolating Fréchet distance (pFD-clf): FD-clf of the generated ``samples`` against the tokenizer's own
    reconstructions ``recon`` of the test images the rFD uses, at N = len(recon).

    gFD compares samples with real images, so it carries the decoder's error (rFD) as well as the prior's. A
    perfect prior samples token sequences as the data's own, which decode to exactly the reconstructions' law:
    pFD-clf is then at the finite-N floor of two draws from one distribution, whatever the decoder. What remains
    is the prior's share. Always in the suite classifier's features (``features="classifier"``), even where gFD is
    Inception FID, so the name says what it is. Returns ``{"value", "lo", "hi", "metric", "n", "features"}``
    (``frechet``; (lo, hi): bootstrap interval over samples, ``bootstrap`` resamples, 0: none)."""
    if len(samples) != len(recon):
        raise ValueError(f"pFD-clf compares equal N: {len(samples)} samples against {len(recon)} reconstructions")
    return frechet(recon, samples, dataset, classifier_config, bootstrap, features="classifier")


def prior_columns(samples: torch.Tensor, recon: torch.Tensor, rfd: float, gfd: float, dataset: str,
                  classifier_config=None, bootstrap: int = BOOTSTRAP) -> dict:
    """The columns that see the prior, for one seed of a table row: ``pfd`` (pFD-clf of ``samples`` against the
    tokenizer's reconstructions ``recon``, ``pfd_clf``), its interval over samples (``pfd_lo`` / ``pfd_hi``), its
    N (``pfd_n``), and ``gap`` = gFD - rFD of the same seed (a table's interval of ``gap`` over seeds is then the
    paired one)."""
    p = pfd_clf(samples, recon, dataset, classifier_config, bootstrap)
    return {"pfd": p["value"], "pfd_lo": p["lo"], "pfd_hi": p["hi"], "pfd_n": p["n"], "gap": float(gfd - rfd)}


@timing.timed("evaluation")
def gfid(stage2_dir: str | Path, real: torch.Tensor, dataset: str, seed: int = 0, classifier_config=None,
         bootstrap: int = BOOTSTRAP, step: int | None = None,
         recon: torch.Tensor | None = None) -> tuple[dict, torch.Tensor]:
    """Generation Fréchet distance of len(real) AR samples (fixed ``seed``) against ``real``; returns (metrics,
    samples). ``step``: the AR snapshot of a post-training directory at that step.

    ``recon``: the tokenizer's reconstructions of ``real`` (``reconstructions``); with them the metrics also hold
    the prior-isolating ``pfd_clf`` of the same samples (``pfd_clf_lo`` / ``pfd_clf_hi``, ``pfd_n``,
    ``pfd_features``); the other keys are the same with or without."""
    from .train import sample

    images = sample(stage2_dir, len(real), seed=seed, progress=False, step=step)["images"]
    out = frechet(real, images, dataset, classifier_config, bootstrap)
    if recon is not None:
        p = pfd_clf(images, recon, dataset, classifier_config, bootstrap)
        out.update(pfd_clf=p["value"], pfd_clf_lo=p["lo"], pfd_clf_hi=p["hi"], pfd_n=p["n"],
                   pfd_features=p["features"])
    return out, images


def metrics_rows(run_dir: str | Path, kind: str | None = None) -> list[dict]:
    """Rows of a run's metrics log (optionally only those with ``kind``: "train", "eval" (validation), "test")."""
    from .train import artifacts

    rows = read_jsonl(artifacts.metrics(run_dir))
    return [r for r in rows if kind is None or r.get("kind") == kind]


def validation_rows(run_dir: str | Path) -> list[dict]:
    """The validation evaluations logged during training (what selections read)."""
    return metrics_rows(run_dir, "eval")


def test_metrics(run_dir: str | Path) -> dict:
    """The test-split evaluation a finished stage logged at its end (what tables report)."""
    rows = metrics_rows(run_dir, "test")
    if not rows:
        raise ValueError(f"{run_dir} has no test row in its metrics log; is the run finished?")
    return rows[-1]


# ------------------------------------------------------------------------------------------------ tiers

class TierSetup(NamedTuple):
    """What a notebook's ``tier`` parameter decides (README, "Scale tiers"); unpacks in this order."""
    tier: str                 # "smoke" | "cpu" | "paper": the presets its runs use
    smoke: bool               # smoke: the same cells on the fewest runs that exercise them
    seeds: list[int]          # ``n_seeds`` seeds from ``seed`` (2 at most at the smoke tier)
    boot: int                 # resamples of a Fréchet number's interval over samples
    classifier: object        # smoke: a 30-step classifier stands in for the FD-clf features (its numbers mean
                              # nothing); otherwise None, the data set's standard one


def tier_setup(tier: str, seed: int, n_seeds: int, dataset: str = "fashion_mnist") -> TierSetup:
    from .classifier import tier_classifier
    from .tiers import get

    t = get(tier)  # the tier's seeds, resamples and classifier (tvclab.tiers)
    return TierSetup(tier, t.smoke, t.seeds(seed, n_seeds), t.bootstrap,
                     tier_classifier(tier, dataset) if t.classifier_steps else None)


# ------------------------------------------------------------------------------------------------ rows x seeds

@dataclass
class SeedRuns:
    """One seed's run directories of a table row."""
    seed: int
    stage1: Path
    stage2: Path | None
    config: object


@dataclass
class Row:
    """A table row across seeds: the runs, each seed's metrics and their summaries."""
    name: str
    sets: list[str]
    runs: list[SeedRuns]
    per_seed: list[dict] = field(default_factory=list)
    summary: dict[str, dict] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    def values(self, metric: str) -> list[float]:
        return [m[metric] for m in self.per_seed]

    def mean(self, metric: str) -> float:
        return self.summary[metric]["mean"]


def seed_sets(sets: Sequence[str], seed: int) -> list[str]:
    return [s for s in sets if not s.startswith("seed=")] + [f"seed={seed}"]


def train_row(name: str, tier: str, sets: Sequence[str] = (), seeds: Sequence[int] = (0,),
              stages: Sequence[str] = ("stage1", "stage2"), resume: bool = True) -> list[SeedRuns]:
    """Train (or reuse) ``stages`` of config ``name`` with ``sets`` for every seed; one run directory per seed."""
    from . import configs, train

    out = []
    for seed in seeds:
        s = seed_sets(sets, seed)
        dirs = {st: train.run(st, name, tier, s, resume=resume) for st in stages}
        out.append(SeedRuns(seed, dirs["stage1"], dirs.get("stage2"),
                            configs.apply_overrides(configs.get(name, tier), s)))
    return out


def interval_kind(row, one_seed: str = "1 seed: none") -> str:
    """How a table row's cells are intervals (``row.seeds``: its seeds): Student t over its seeds, or ``one_seed``
    (a row with one seed is a description, not a verdict)."""
    n = len(row.seeds)
    return f"t, {n} seeds" if n > 1 else one_seed


def summarize_metrics(per_seed: Sequence[dict]) -> dict[str, dict]:
    """``stats.summarize`` of every numeric metric the seeds share."""
    keys = [k for k in per_seed[0] if all(isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)
                                          for m in per_seed)]
    return {k: stats.summarize([float(m[k]) for m in per_seed]) for k in keys}


def fd_columns(r: "SeedRuns", real: torch.Tensor, dataset: str, classifier_config=None, bootstrap: int = BOOTSTRAP,
               generate: Callable | None = None) -> tuple[dict, torch.Tensor, dict, dict]:
    """The Fréchet columns of one seed of a table row (notebooks 02-04), in this order (so every draw is the same
    whichever notebook asks): the tokenizer's reconstructions of ``real`` and rFD-clf with PSNR (``rfid``), the
    generator's samples and gFD-clf (``generate(r) -> (Fréchet dict, samples)``; default ``gfid`` of ``r.stage2``),
    then pFD-clf and gFD - rFD (``prior_columns``). Returns (columns, samples, the rFD-clf dict, the gFD-clf dict)."""
    recon = reconstructions(r.stage1, real, seed=r.seed)  # once per seed: rFD and pFD read it
    rf = rfid(r.stage1, real, dataset, seed=r.seed, classifier_config=classifier_config, bootstrap=bootstrap,
              recon=recon)
    if generate is None:
        g, imgs = gfid(r.stage2, real, dataset, seed=r.seed, classifier_config=classifier_config, bootstrap=bootstrap)
    else:
        g, imgs = generate(r)
    cols = {"rfid": rf["value"], "rfid_lo": rf["lo"], "rfid_hi": rf["hi"], "psnr": rf["psnr"], "gfid": g["value"],
            "gfid_lo": g["lo"], "gfid_hi": g["hi"], "metric": rf["metric"],
            **prior_columns(imgs, recon, rf["value"], g["value"], dataset, classifier_config, bootstrap)}
    return cols, imgs, rf, g


def row_runner(tier: str, evaluate: Callable) -> Callable[..., "Row"]:
    """``run_row(name, sets, seeds)``: ``tier_row`` of a notebook's ``evaluate`` (its ``row_metrics``)."""
    def run_row(name: str, sets: Sequence[str], seeds: Sequence[int]) -> "Row":
        return tier_row(name, tier, sets, seeds, evaluate=evaluate)
    return run_row


def table_row(name: str, tier: str, sets: Sequence[str] = (), seeds: Sequence[int] = (0,),
              evaluate: Callable[[SeedRuns], dict] | None = None, stages: Sequence[str] = ("stage1", "stage2"),
              resume: bool = True) -> Row:
    """Train (or reuse) and evaluate one table row across ``seeds``.

    ``evaluate(seed_runs) -> {metric: number}`` computes one seed's numbers (on the test split); the default reads
    the test rows the stages logged (stage-1 metrics as is, stage-2 ``gloss`` / ``top1``)."""
    runs = train_row(name, tier, sets, seeds, stages, resume)
    evaluate = evaluate or default_metrics
    per_seed = [{"seed": r.seed, **evaluate(r)} for r in runs]
    return Row(name, list(sets), runs, per_seed, summarize_metrics([{k: v for k, v in m.items() if k != "seed"}
                                                                  for m in per_seed]))


def tier_row(name: str, tier: str, sets: Sequence[str] = (), seeds: Sequence[int] = (0,),
             evaluate: Callable[[SeedRuns], dict] | None = None) -> Row:
    """``table_row`` for a notebook: prints the commands that produce the row's first seed, and at the paper tier
    only reads finished run directories (the commands are for ``torchrun``; nothing paper-sized trains inline)."""
    from . import configs, train

    cfg = configs.apply_overrides(configs.get(name, tier), list(sets) + [f"seed={seeds[0]}"])
    root = train.default_run_dir(cfg)
    print(f"{train.command('stage1', cfg, root)}\n  {train.command('stage2', cfg, root)}")
    if not tiers.get(tier).trains_inline and not train.artifacts.is_done(root):
        raise SystemExit(f"paper tier: {root} is missing; produce it with the commands above under torchrun")
    return table_row(name, tier, sets, seeds, evaluate=evaluate)


def default_metrics(r: SeedRuns) -> dict:
    out = {k: v for k, v in test_metrics(r.stage1).items() if k not in ("kind", "step", "split")}
    if r.stage2 is not None:
        t2 = test_metrics(r.stage2)
        out.update({"gloss": t2["gloss"], "top1": t2["top1"]})
    return out


# ------------------------------------------------------------------------------------------------ matched rows

@timing.timed("evaluation")
def snapshot_curve(stage1_dir: str | Path, real_val: torch.Tensor, dataset: str, seed: int = 0,
                   classifier_config=None) -> dict[int, float]:
    """Validation rFID (or FD-clf) of every tokenizer snapshot of a stage-1 run: {step: value}."""
    from .train import snapshot_steps

    return {s: rfid(stage1_dir, real_val, dataset, step=s, seed=seed, classifier_config=classifier_config,
                    bootstrap=0)["value"] for s in snapshot_steps(stage1_dir)}


def first_reaching(curve: dict[int, float], target: float) -> int | None:
    """The first snapshot step whose value is at or below ``target`` (None: never)."""
    hits = [s for s, v in sorted(curve.items()) if v <= target + 1e-12]
    return hits[0] if hits else None


MATCH_TOLERANCE = 0.05  # W Table 1's rows sit within about 2% of rFID 5; the issue asks within 5% of the target


def smooth_curve(curve: dict[int, float], window: int = 1) -> dict[int, float]:
    """The centred running mean of a snapshot curve over ``window`` snapshots (odd; shrunk at the ends), {step:
    value}: one validation score at N images moves by several per cent between snapshots, its running mean by much
    less. ``window=1`` returns the curve unchanged."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"smooth_curve: window must be an odd number >= 1, got {window}")
    steps = sorted(curve)
    h = window // 2
    return {s: float(np.mean([curve[t] for t in steps[max(0, i - h):i + h + 1]])) for i, s in enumerate(steps)}


def matched_snapshots(stage1_dirs: dict[str, str | Path], dataset: str, n: int, image_size: int | None = None,
                      seed: int = 0, classifier_config=None, tolerance: float = MATCH_TOLERANCE, smooth: int = 1,
                      among: Sequence[str] | None = None) -> dict:
    """Paper W Table 1's "matched rFID" chosen on the **validation split** only.

    Each run's snapshots are scored by their rFID against the first ``n`` validation images and the curve is
    smoothed by a centred running mean over ``smooth`` snapshots (``smooth_curve``); the common target is the worst
    best value of the runs in ``among`` (default: all; so every one of them reaches it); each run's matched snapshot
    is the first one whose smoothed value is within ``tolerance`` of the target, i.e. at or below ``(1 + tolerance)
    * target`` (the iterations it needs to get there; None for a run outside ``among`` that never does). Returns
    {"target", "tolerance", "smooth", "among", "steps" {row: step}, "value" {row: smoothed val rFID at that step},
    "raw" {row: unsmoothed value there}, "ratio" {row: value / target}, "curves" {row: {step: raw val rFID}},
    "smoothed" {row: {step: smoothed}}, "n", "split": "val"}."""
    real_val = reference_images(dataset, "val", n, image_size=image_size)
    curves = {row: snapshot_curve(d, real_val, dataset, seed, classifier_config) for row, d in stage1_dirs.items()}
    empty = [row for row, c in curves.items() if not c]
    if empty:
        raise ValueError(f"no tokenizer snapshots in the stage-1 runs of {', '.join(empty)}; train them with "
                         "evaluation.snapshots=true")
    among = list(curves) if among is None else [r for r in among if r in curves]
    smoothed = {row: smooth_curve(c, smooth) for row, c in curves.items()}
    target = max(min(smoothed[r].values()) for r in among)
    steps = {row: first_reaching(c, target * (1 + tolerance)) for row, c in smoothed.items()}
    value = {row: (smoothed[row][s] if s is not None else None) for row, s in steps.items()}
    raw = {row: (curves[row][s] if s is not None else None) for row, s in steps.items()}
    return {"target": target, "tolerance": tolerance, "smooth": smooth, "among": among, "steps": steps,
            "value": value, "raw": raw, "ratio": {r: (v / target if v is not None else None) for r, v in value.items()},
            "curves": curves, "smoothed": smoothed, "n": n, "split": "val"}
