"""Notebook 05's experiment code: paper V (VA-pi, pixel-space post-training of the AR generator) at the suite's scale.

Paper V reads a two-stage generator's token sequence x as the latent variable of the image I and maximises an ELBO
whose reconstruction term E_{q(x|I)} log p(I | x) is optimised by reinforcement learning (GRPO, with the reward
r = -(MSE + LPIPS) of the frozen decoder's image) and whose prior term keeps the AR's token-level likelihood
(V §3, "Methodology"). One post-training step (``tvclab.train.posttrain``, values from the authors' code):
contextual noise xi on the ground-truth prefix, G sequences drawn from the teacher-forced logits, group-normalised
advantages clipped at 5 (``losses.group_advantages``), and the loss

    PPO-clipped policy loss (clip 0.2, ``losses.clipped_policy_loss``) + beta * CE (prior term) + k * KL(pi || base).

Everything here is what notebook 05 would otherwise define inline: the runs it reads and writes (notebook 02's
stage-1 and stage-2 runs of the 1D baseline, the post-training runs beside them), one AR's generation numbers
(``Study.generation``), the learning-rate search on the validation split, the before/after table, the per-rate and
ablation rows, the curves against iterations, and the claims the notebook hands to ``tvclab.claims``.

The functions make their draws in the order the notebook always made them, so a run of the notebook gives the
same numbers as when this code was inline.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from tvclab import claims, configs, evaluation, losses, metrics, train
from tvclab.report import interval_cell

PAPER = {"LlamaGen-XL": (15.55, 9.23), "LlamaGen-XXL": (14.36, 7.65)}  # V: FID without CFG, before -> after


@dataclass
class Study:
    """What every measurement of notebook 05 shares: the config whose runs it reads (notebook 02's ``baseline_1d``)
    and its resolved preset, the tier its runs train at and whether that tier trains inline, the data set, the
    FD-clf classifier and its bootstrap resamples, the fixed reference images of the test and validation splits,
    and the sample seed of every validation draw (different from the reported draws, which use the run's seed)."""
    name: str
    base_cfg: configs.Config
    run_tier: str
    trains_inline: bool
    dataset: str
    classifier: object
    bootstrap: int
    real_test: torch.Tensor
    real_val: torch.Tensor
    val_sample_seed: int = 10_000

    def before_runs(self, s: int) -> tuple[Path, Path]:
        """Notebook 02's stage-1 and stage-2 runs of the 1D baseline for seed ``s`` (trained here only if missing;
        the paper tier renders existing runs and stops with the command that makes a missing one)."""
        sets = [f"seed={s}"]
        cfg = configs.apply_overrides(self.base_cfg, sets)
        root = train.default_run_dir(cfg)
        if not self.trains_inline and not train.artifacts.is_done(root / "stage2"):
            raise SystemExit(f"paper tier: {root} is missing; produce it with: " + train.command("stage2", cfg, root))
        return (train.run("stage1", self.name, self.run_tier, sets, resume=True),
                train.run("stage2", self.name, self.run_tier, sets, resume=True))

    def posttrain_run(self, s: int, extra: Sequence[str]) -> Path:
        """The VA-pi post-training run of seed ``s``'s stage-2 AR with the overrides ``extra`` (trained, or reused when
        finished); prints the command that makes it (``python -m tvclab.train posttrain``)."""
        sets = [f"seed={s}", *extra]
        cfg = configs.apply_overrides(self.base_cfg, sets)
        root = train.default_run_dir(cfg)
        print("  " + train.command("posttrain", cfg, root))
        if not self.trains_inline and not train.artifacts.is_done(root / train.posttrain_subdir(cfg)):
            raise SystemExit(f"paper tier: {root / train.posttrain_subdir(cfg)} is missing; produce it with the "
                             "command above under torchrun")
        return train.run("posttrain", self.name, self.run_tier, sets, resume=True)

    def generation(self, run: Path, real: torch.Tensor, sample_seed: int, step: int | None = None,
                   prior: tuple[torch.Tensor, float] | None = None) -> dict:
        """gFD-clf (or FID) with its interval over samples, precision and recall (and IS where Inception is cached)
        of len(real) samples of the AR in ``run`` (temperature 1, no top-k, no guidance; ``step``: its snapshot
        at that post-training step); the samples' first 64 for the grids. ``prior``: (the tokenizer's
        reconstructions of ``real``, their rFD) adds pFD-clf and gFD - rFD (``evaluation.prior_columns``)."""
        imgs = train.sample(run, len(real), seed=sample_seed, progress=False, step=step)["images"]
        m = metrics.generation_metrics(real, imgs, self.dataset, classifier_config=self.classifier, kid=False,
                                       isc=True, prc=True, bootstrap=self.bootstrap)
        key = m["metric"]
        sfx = "" if key == "fid" else "_clf"  # the substitute's precision / recall are in classifier features
        out = {"gfid": float(m[key]), "gfid_lo": m.get(f"{key}_lo"), "gfid_hi": m.get(f"{key}_hi"), "metric": key,
               "precision": m.get(f"precision{sfx}"), "recall": m.get(f"recall{sfx}"), "n": int(m["n_real"])}
        if m.get("is_mean") is not None:  # IS only with Inception's logits
            out["is"] = m["is_mean"]
        if prior is not None:
            out.update(evaluation.prior_columns(imgs, prior[0], prior[1], out["gfid"], self.dataset,
                                                self.classifier, self.bootstrap))
        return {**out, "samples": imgs[:64]}

    def tokenizer_prior(self, stage1: Path, s: int) -> tuple[torch.Tensor, float]:
        """Seed ``s``'s tokenizer reconstructions of the test images and their rFD: what pFD-clf compares samples
        against. Post-training leaves the tokenizer alone, so "before" and "after" share them."""
        recon = evaluation.reconstructions(stage1, self.real_test, seed=s)
        rf = evaluation.rfid(stage1, self.real_test, self.dataset, seed=s, classifier_config=self.classifier,
                             bootstrap=self.bootstrap, recon=recon)
        return recon, rf["value"]


def lr_sets(lr: float) -> list[str]:
    """The overrides of a constant post-training learning rate ``lr``."""
    return [f"posttrain.optim.lr={lr:g}", f"posttrain.optim.lr_min={lr:g}"]


# ------------------------------------------------------------------------------------------ learning rate

def lr_search(study: Study, stage2: Path, s0: int, lrs: Sequence[float], val_before: dict) -> tuple[list[dict], dict]:
    """One post-training run of seed ``s0`` per rate of ``lrs``, each read on the validation split: its validation
    gFD (the criterion), mean reward and CE at the last evaluation step. The first row is the stage-2 AR
    ``stage2`` itself ("before", lr 0). A rate whose loss turns non-finite is a result of the search (a row marked
    diverged), not a crash. Returns (rows, {lr: run directory of every finite rate})."""
    rows = [{"lr": 0.0, "run": "before (stage 2)", "val gFD": val_before["gfid"], "val reward": None,
             "val CE": evaluation.validation_rows(stage2)[-1]["gloss"]}]
    runs = {}
    for lr in lrs:
        try:
            runs[lr] = study.posttrain_run(s0, lr_sets(lr))
        except train.NonFiniteError as e:
            print(f"lr {lr:g} diverged: {str(e)[:200]}")
            rows.append({"lr": lr, "run": "diverged (non-finite loss)", "val gFD": None, "val reward": None,
                         "val CE": None})
            continue
        g = study.generation(runs[lr], study.real_val, study.val_sample_seed)
        v = evaluation.validation_rows(runs[lr])[-1]
        rows.append({"lr": lr, "run": runs[lr].name, "val gFD": g["gfid"], "val reward": v["reward"],
                     "val CE": v["gloss"]})
    return rows, runs


def chosen_lr(rows: Sequence[dict], lrs: Sequence[float]) -> float:
    """The searched rate with the lowest validation gFD (the "before" row is not a candidate); stops the notebook
    when every rate diverged."""
    finite = [r for r in rows[1:] if r["val gFD"] is not None]
    if not finite:
        raise SystemExit(f"every learning rate of the grid {list(lrs)} diverged: nothing to post-train; lower the grid")
    return min(finite, key=lambda r: r["val gFD"])["lr"]


# ------------------------------------------------------------------------------------------ before / after

def before_after(study: Study, before: Mapping[int, tuple[Path, Path]], after: Mapping[int, Path],
                 prior: Mapping[int, tuple], s0: int) -> tuple[dict, dict]:
    """Every seed's stage-2 AR ("before") and its post-trained copy ("after") on the test split: ``generation``
    with pFD-clf against the seed's own reconstructions, the test CE (the prior term, nats/token) and top-1.
    Returns ({"before": [per seed], "after": [per seed]}, {"before"/"after": seed s0's first 64 samples})."""
    per_seed = {"before": [], "after": []}
    grids = {}
    for s in before:
        for which, run in (("before", before[s][1]), ("after", after[s])):
            g = study.generation(run, study.real_test, s, prior=prior[s])
            g["ce"] = evaluation.test_metrics(run)["gloss"]
            g["top1"] = evaluation.test_metrics(run)["top1"]
            samples = g.pop("samples")
            if s == s0:
                grids[which] = samples
            per_seed[which].append({"seed": s, **g})
    return per_seed, grids


def summaries(per_seed: Mapping[str, list]) -> dict:
    """Mean and Student-t interval over seeds of every numeric column, for "before" and "after"."""
    return {w: evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"} for m in rows])
            for w, rows in per_seed.items()}


def main_table(summary: Mapping, n_seeds: int, metric: str, paper: Mapping = PAPER) -> list[dict]:
    """The before/after table: mean [t interval] over seeds of g<metric>, pFD-clf, the gap, precision, recall, IS,
    test CE and top-1, beside paper V's LlamaGen FIDs without CFG (ImageNet: direction and size only)."""
    cell = lambda w, key: interval_cell(summary[w].get(key), missing="—")
    return [{"AR": w, f"test g{metric}": cell(w, "gfid"), "test pFD-clf": cell(w, "pfd"),
             f"g{metric} - r{metric}": cell(w, "gap"), "interval": f"t, {n_seeds} seeds",
             "precision": cell(w, "precision"), "recall": cell(w, "recall"), "IS": cell(w, "is"),
             "test CE (nats/token)": cell(w, "ce"), "top-1": cell(w, "top1"), "seeds": n_seeds,
             "paper FID XL": paper["LlamaGen-XL"][i], "paper FID XXL": paper["LlamaGen-XXL"][i]}
            for i, w in enumerate(("before", "after"))]


def _interval(m: Mapping, key: str) -> str:
    return f"{m[key]:.3f} [{m[f'{key}_lo']:.3f}, {m[f'{key}_hi']:.3f}]"


def rates_on_test(study: Study, lr_runs: Mapping[float, Path], lr: float, per_seed: Mapping, s0: int,
                  prior: tuple) -> dict:
    """Every searched rate's post-trained AR (seed ``s0``) on the test split, with pFD-clf and test CE; the chosen
    rate ``lr`` is the main table's "after" of that seed (not measured twice)."""
    out = {}
    for rate, run in lr_runs.items():
        if rate == lr:
            out[rate] = {k: v for k, v in per_seed["after"][0].items() if k != "seed"}
        else:
            g = study.generation(run, study.real_test, s0, prior=prior)
            g.pop("samples")
            out[rate] = {**g, "ce": evaluation.test_metrics(run)["gloss"]}
    return out


def rates_table(lr_test: Mapping[float, dict], before0: dict, metric: str) -> list[dict]:
    """The per-rate table: "before" then every rate in increasing order, g<metric> and pFD-clf with their intervals
    over samples (one seed), and the test CE."""
    return [{"AR": "before (stage 2)" if lr == 0.0 else f"after, lr {lr:g}", "lr": lr,
             f"test g{metric}": _interval(m, "gfid"), "test pFD-clf": _interval(m, "pfd"), "test CE": m["ce"],
             "interval": "1 seed: bootstrap over samples"}
            for lr, m in [(0.0, before0)] + sorted(lr_test.items())]


def matches_notebook_02(path: Path, tier: str, n_eval: int, before: Sequence[dict]) -> dict | None:
    """The largest |gFD difference| between this notebook's "before" seeds and notebook 02's 1D baseline at matched
    iterations (``path``: 02's results.json), when that file exists at the same tier and N; None otherwise."""
    if not path.exists():
        return None
    r02 = json.loads(path.read_text())
    if r02.get("tier") != tier or r02.get("n_eval") != n_eval:
        return None
    theirs = {m["seed"]: m["gfid"] for m in r02["rows"]["baseline_1d"]["matched_iterations"]["per_seed"]}
    ours = {m["seed"]: m["gfid"] for m in before}
    common = sorted(set(theirs) & set(ours))
    return {"seeds": common, "max_abs_difference": max(abs(theirs[s] - ours[s]) for s in common) if common else None}


# ------------------------------------------------------------------------------------------ ablations

def lpips_available(image_size: int) -> bool:
    """Whether the reward's LPIPS term can be computed here (its VGG16 weights are cached)."""
    probe = torch.zeros(1, 1, image_size, image_size)
    return losses.lpips_per_image(probe, probe) is not None


def ablation_sets(pc, betas: Sequence[float], lpips_ok: bool) -> dict[str, list[str]]:
    """V's ablations, one override list per row: no contextual noise (xi = 0), no prior term (beta = 0, KL kept),
    the reconstruction reward alone (beta = 0 and no KL), the beta sweep (every value but 0 and the default), and,
    where LPIPS can be computed, the MSE-only reward."""
    out = {"xi = 0 (no contextual noise)": ["posttrain.noise=0"],
           "beta = 0 (no prior term)": ["posttrain.ce_weight=0"],
           "reward only (beta = 0, no KL)": ["posttrain.ce_weight=0", "posttrain.kl_weight=0"],
           **{f"beta = {b:g}": [f"posttrain.ce_weight={b:g}"] for b in betas if b not in (0.0, pc.ce_weight)}}
    if lpips_ok:
        out["MSE reward (no LPIPS)"] = ["posttrain.lpips_weight=0"]
    return out


def main_label(pc) -> str:
    """The ablation table's label of the main post-training row."""
    return f"after (beta = {pc.ce_weight:g}, xi = {pc.noise:g})"


def ablation_runs(study: Study, s0: int, lr: float, sets: Mapping[str, list[str]], per_seed: Mapping, pc,
                  prior: tuple) -> dict:
    """The ablation rows of seed ``s0`` at the chosen rate: "before" and the main "after" (from the main table),
    then one post-training run per entry of ``sets`` measured on the test split (pFD-clf, test CE, run name)."""
    out = {"before (stage 2)": {**per_seed["before"][0]}, main_label(pc): {**per_seed["after"][0]}}
    for label, extra in sets.items():
        run = study.posttrain_run(s0, lr_sets(lr) + extra)
        g = study.generation(run, study.real_test, s0, prior=prior)
        g.pop("samples")
        out[label] = {"seed": s0, **g, "ce": evaluation.test_metrics(run)["gloss"], "run": run.name}
    return out


def ablation_table(abl: Mapping[str, dict], metric: str) -> list[dict]:
    """The ablation table: every row's g<metric> and pFD-clf with intervals over samples (one seed), the gap,
    precision, recall and test CE."""
    return [{"row": k, f"test g{metric}": _interval(m, "gfid"), "test pFD-clf": _interval(m, "pfd"),
             f"g{metric} - r{metric}": m["gap"], "interval": "1 seed: bootstrap over samples",
             "precision": m["precision"], "recall": m["recall"], "test CE": m["ce"], "seeds": "1"}
            for k, m in abl.items()]


# ------------------------------------------------------------------------------------------ curves and samples

def gfd_by_step(study: Study, run: Path, s0: int, per_seed: Mapping, last_step: int) -> dict[int, float]:
    """The test gFD of the AR snapshot at every saved post-training step of ``run`` (step 0: the stage-2 AR; the
    last step: the main table's "after", not measured twice)."""
    out = {0: per_seed["before"][0]["gfid"]}
    for st in train.artifacts.prior_snapshot_steps(run):
        out[st] = (per_seed["after"][0]["gfid"] if st == last_step
                   else study.generation(run, study.real_test, s0, step=st)["gfid"])
    return out


def curves_results(trows: Sequence[dict], erows: Sequence[dict], gfd: Mapping[int, float]) -> dict:
    """results.json's curves: the training rows' reward, CE and policy loss, the validation rows' reward and CE,
    and the test gFD by step."""
    return {"train": [{k: r[k] for k in ("step", "reward", "ce", "policy")} for r in trows],
            "val": [{k: r[k] for k in ("step", "reward", "gloss")} for r in erows], "test_gfid_by_step": dict(gfd)}


def sample_tile(imgs: torch.Tensor) -> np.ndarray:
    """The largest square of ``imgs`` [N, C, H, W] in [-1, 1] as one image [n H, n W] (grey) or [n H, n W, C]."""
    grid = imgs[:64].clamp(-1, 1).add(1).div(2)
    n = int(len(grid) ** 0.5)
    tile = grid[: n * n].reshape(n, n, *grid.shape[1:]).permute(0, 3, 1, 4, 2).reshape(n * grid.shape[2],
                                                                                      n * grid.shape[3], -1)
    return tile.squeeze(-1).numpy() if tile.shape[-1] == 1 else tile.numpy()


# ------------------------------------------------------------------------------------------ claims

def _q(m: Mapping) -> dict:
    """One seed's gFD with its interval over samples, as ``claims.compare`` reads it."""
    return {"value": m["gfid"], "lo": m["gfid_lo"], "hi": m["gfid_hi"]}


def vapi_claims(per_seed: Mapping, abl: Mapping, lr_test: Mapping, before0: dict, pc, n_eval: int, metric: str,
                s0: int, paper: Mapping = PAPER) -> list[dict]:
    """The claims notebook 05 judges, in this order:

    1. post-training lowers test g<metric> (no CFG), paired over seeds (V's headline, LlamaGen-XL 15.55 -> 9.23);
    2. post-training lowers test pFD-clf, paired (the prior's share: the decoder is the same before and after);
    3. removing the prior term (beta = 0) raises g<metric> (V ablation; one seed, intervals over samples);
    4. the reconstruction reward alone (beta = 0, no KL) raises g<metric> (V ablation; one seed);
    5. contextual noise helps: xi = 0 has a higher g<metric> (V ablation; one seed);
    6. the prior does not drift far: test CE after within 0.05 nats/token of before (paired; the ELBO's prior term);
    7. one claim per searched rate: post-training at that rate lowers test g<metric> against before (one seed).
    """
    seeds = len(per_seed["before"])
    main_after = abl[main_label(pc)]
    one = lambda: {"seeds": 1, "N": n_eval}
    col = lambda which, key: [m[key] for m in per_seed[which]]
    return [
        claims.compare(f"post-training lowers test g{metric} (no CFG), {pc.optim.steps} x {pc.optim.batch_size} "
                       "images", col("after", "gfid"), col("before", "gfid"), better="lower", paired=True,
                       paper="LlamaGen-XL 15.55 -> 9.23, XXL 14.36 -> 7.65 FID",
                       paper_values=(paper["LlamaGen-XL"][1], paper["LlamaGen-XL"][0]),
                       n={"seeds": seeds, "N": n_eval}),
        claims.compare("post-training lowers test pFD-clf (the prior's share: samples against the same tokenizer's "
                       "reconstructions)", col("after", "pfd"), col("before", "pfd"), better="lower", paired=True,
                       n={"seeds": seeds, "N": n_eval}),
        claims.compare(f"removing the prior term (beta = 0) raises g{metric}", _q(abl["beta = 0 (no prior term)"]),
                       _q(main_after), better="higher", paper="V ablation: degrades", n=one()),
        claims.compare(f"the reconstruction reward alone (beta = 0, no KL) raises g{metric}",
                       _q(abl["reward only (beta = 0, no KL)"]), _q(main_after), better="higher",
                       paper="V ablation: degrades", n=one()),
        claims.compare(f"contextual noise helps: xi = 0 has a higher g{metric} than xi = {pc.noise:g}",
                       _q(abl["xi = 0 (no contextual noise)"]), _q(main_after), better="higher",
                       paper="V ablation: modest noise helps", n=one()),
        claims.compare("the prior does not drift far: test CE after within 0.05 nats/token of before",
                       col("after", "ce"), col("before", "ce"), better="lower", margin=-0.05, paired=True,
                       n={"seeds": seeds}),
        *[claims.compare(f"post-training at lr {lr:g} lowers test g{metric} against before (seed {s0}, one seed)",
                         _q(m), _q(before0), better="lower", n=one())
          for lr, m in sorted(lr_test.items())],
    ]
