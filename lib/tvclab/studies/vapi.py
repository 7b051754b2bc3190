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
from tvclab.train import posttrain as pt

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


def moving_lr(rows: Sequence[dict]) -> float:
    """The searched rate with the highest validation reward at its last evaluation: the rate that moves the AR
    furthest toward its own objective (a rate too small to move it cannot show V's effect, whatever the gFD says)."""
    finite = [r for r in rows[1:] if r["val reward"] is not None]
    if not finite:
        raise SystemExit("no learning rate of the grid finished: nothing moved the AR")
    return max(finite, key=lambda r: r["val reward"])["lr"]


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


def measure(study: Study, run: Path, s: int, prior: tuple) -> dict:
    """One post-trained AR of seed ``s`` on the test split: ``generation`` with pFD-clf, and the test CE."""
    g = study.generation(run, study.real_test, s, prior=prior)
    g.pop("samples")
    return {"seed": s, **g, "ce": evaluation.test_metrics(run)["gloss"], "run": run.name}


def rates_on_test(study: Study, lrs: Sequence[float], seeds: Sequence[int], lr: float, per_seed: Mapping,
                  prior: Mapping[int, tuple]) -> dict[float, list[dict]]:
    """Every searched rate's post-trained AR for each of ``seeds`` on the test split (the search's runs of the
    first seed reused; the chosen rate ``lr`` is the main table's "after", not measured twice): {rate: [per seed]}.
    Paired with "before" seed by seed, these are the rate's verdicts."""
    main = {m["seed"]: m for m in per_seed["after"]}
    out = {}
    for rate in lrs:
        out[rate] = [main[s] if rate == lr and s in main else measure(study, study.posttrain_run(s, lr_sets(rate)),
                                                                      s, prior[s]) for s in seeds]
    return out


def _t(rows: Sequence[Mapping], key: str) -> str:
    """mean [Student-t interval] over the seeds of ``rows`` (``interval_cell``)."""
    return interval_cell(evaluation.summarize_metrics([{key: r[key]} for r in rows]).get(key), missing="—")


def rates_table(lr_test: Mapping[float, list], before: Sequence[dict], metric: str) -> list[dict]:
    """The per-rate table: "before" then every rate in increasing order, test g<metric>, pFD-clf and CE as mean
    [t interval] over the same seeds."""
    seeds = [m["seed"] for m in before]
    rows = [("before (stage 2)", 0.0, list(before))] + [(f"after, lr {lr:g}", lr, ms) for lr, ms in sorted(lr_test.items())]
    return [{"AR": label, "lr": lr, f"test g{metric}": _t(ms, "gfid"), "test pFD-clf": _t(ms, "pfd"),
             "test CE": _t(ms, "ce"), "interval": f"t, {len(ms)} seeds", "seeds": ", ".join(map(str, seeds))}
            for label, lr, ms in rows]


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


V_ABLATIONS = ("xi = 0 (no contextual noise)", "beta = 0 (no prior term)", "reward only (beta = 0, no KL)")
AUTHORS_SHIP = "as the authors ship it (no KL, no token noise)"


def updates_per_batch(pc) -> int:
    """The update count of the several-updates arm: the first of 4, 5, 2 that divides the run's steps and its
    checkpoint cadence (``posttrain.updates`` must), else 1 (no such arm)."""
    return next((u for u in (4, 5, 2) if pc.optim.steps % u == 0 and pc.optim.ckpt_every % u == 0), 1)


def objective_sets(pc) -> dict[str, list[str]]:
    """The objective as the authors run it, beside ours (issue: "the objective as the authors run it, and said"):
    GRPO's k3 estimator of the KL on the sampled tokens instead of the exact KL; several optimiser updates per
    sampled batch, where the PPO clip can bind (with one, the ratio is 1 where the gradient is taken); the
    configuration the authors' launch script runs (LlamaGen/train_c2i_grpo.sh passes neither --kl-coef nor
    --use-token-noise: no KL, no contextual noise); and a perceptual reward that exists offline, the squared
    distance in the FD-clf classifier's features (ours, not LPIPS)."""
    u = updates_per_batch(pc)
    out = {"k3 KL estimator (GRPO)": ["posttrain.kl_estimator=k3"]}
    if u > 1:
        out[f"{u} updates per batch (the clip can bind)"] = [f"posttrain.updates={u}"]
    out[AUTHORS_SHIP] = ["posttrain.kl_weight=0", "posttrain.noise=0"]
    out["+ classifier-feature reward (ours, not LPIPS)"] = ["posttrain.clf_weight=1"]
    return out


def main_label(pc) -> str:
    """The ablation table's label of the main post-training row."""
    return f"after (beta = {pc.ce_weight:g}, xi = {pc.noise:g})"


def ablation_runs(study: Study, seeds: Sequence[int], lr: float, sets: Mapping[str, list[str]],
                  after: Sequence[dict], prior: Mapping[int, tuple], pc) -> dict[str, list[dict]]:
    """The rows of one rate ``lr``: the plain post-training ``after`` (per seed, measured already), then one
    post-training run per entry of ``sets`` and seed, on the test split: {label: [per seed]}."""
    out = {main_label(pc): list(after)}
    for label, extra in sets.items():
        out[label] = [measure(study, study.posttrain_run(s, lr_sets(lr) + extra), s, prior[s]) for s in seeds]
    return out


def ablation_table(abl: Mapping[float, Mapping[str, list]], before: Sequence[dict], metric: str) -> list[dict]:
    """The ablation table, rate by rate: "before", then every row's test g<metric>, pFD-clf, precision, recall
    and CE as mean [t interval] over the same seeds, and its paired difference in g<metric> from that rate's plain
    post-training (mean [paired t interval])."""
    rows = []
    for lr, arms in abl.items():
        ref = next(iter(arms.values()))
        for label, ms in [("before (stage 2)", list(before)), *arms.items()]:
            d = evaluation.summarize_metrics([{"d": a["gfid"] - b["gfid"]} for a, b in zip(ms, ref)]).get("d")
            rows.append({"lr": lr, "row": label, f"test g{metric}": _t(ms, "gfid"), "test pFD-clf": _t(ms, "pfd"),
                         f"paired diff. vs after": interval_cell(d, missing="—") if ms is not ref else "—",
                         "precision": _t(ms, "precision"), "recall": _t(ms, "recall"), "test CE": _t(ms, "ce"),
                         "interval": f"t, {len(ms)} seeds"})
    return rows


def free_running(study: Study, stage1: Path, runs: Mapping[str, Path], s: int, pc, n: int) -> list[dict]:
    """A diagnostic of what the training reward says about generation, seed ``s``: for each AR of ``runs``, the
    mean reward of G teacher-forced draws on the first ``n`` test images (what post-training maximises, without
    contextual noise) beside the mean reward of one free-running draw per image whose first half of tokens is the
    image's own and whose second half the AR draws itself (``posttrain.free_running_reward``)."""
    tok = train.load_tokenizer(stage1)
    tokens = train.encode_dataset(stage1, "test", limit=n)["tokens"][:n]
    images = study.real_test[:n]
    rows = []
    for label, run in runs.items():
        ar, _ = train.load_prior(run)
        args = (ar, tok, tokens, images, pc, study.base_cfg.decoder.fm_steps, s, "cpu")
        rows.append({"AR": label, "teacher-forced reward": pt.mean_reward(*args),
                     "free-running reward (2nd half drawn)": pt.free_running_reward(*args), "images": n,
                     "seed": s})
    return rows


# ------------------------------------------------------------------------------------------ curves and samples

def gfd_by_step(study: Study, run: Path, s0: int, per_seed: Mapping, last_step: int) -> dict[int, list[float]]:
    """The test gFD [value, lo, hi] (interval over samples) of the AR snapshot at every saved post-training step of
    ``run`` (step 0: the stage-2 AR; the last step: the main table's "after", not measured twice)."""
    pick = lambda m: [m["gfid"], m["gfid_lo"], m["gfid_hi"]]  # noqa: E731
    out = {0: pick(per_seed["before"][0])}
    for st in train.artifacts.prior_snapshot_steps(run):
        out[st] = (pick(per_seed["after"][0]) if st == last_step
                   else pick(study.generation(run, study.real_test, s0, step=st)))
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

def vapi_claims(per_seed: Mapping, rates: Mapping[float, list], abl: Mapping[float, Mapping[str, list]],
                pc, n_eval: int, metric: str, lr: float, lr_move: float, paper: Mapping = PAPER) -> list[dict]:
    """The claims notebook 05 judges, every one paired seed by seed (Student t on the per-seed differences):

    1. post-training at the chosen rate lowers test g<metric> (no CFG) (V's headline, LlamaGen-XL 15.55 -> 9.23);
    2. ... lowers test pFD-clf (the prior's share: the decoder is the same before and after);
    3. the prior does not drift far: test CE after within 0.05 nats/token of before (the ELBO's prior term);
    4. one claim per searched rate: post-training at that rate lowers test g<metric> against before;
    5. at the chosen rate and at the rate that moves the AR (``lr_move``), V's ablations: no contextual noise,
       no prior term, the reward alone each raise g<metric> against that rate's post-training;
    6. at ``lr_move``, the objective's variants (k3, several updates, as the authors ship it, the classifier
       reward) against our default: none is a paper claim (``beyond_paper``), so each asks "lowers g<metric>".
    """
    col = lambda rows, key: [m[key] for m in rows]  # noqa: E731
    seeds = len(per_seed["before"])
    by_seed = {m["seed"]: m for m in per_seed["before"]}
    before_of = lambda rows: [by_seed[m["seed"]] for m in rows]  # noqa: E731  ("before" of the same seeds)
    n = lambda k: {"seeds": k, "N": n_eval}  # noqa: E731
    out = [
        claims.compare(f"post-training lowers test g{metric} (no CFG), lr {lr:g}, {pc.optim.steps} x "
                       f"{pc.optim.batch_size} images", col(per_seed["after"], "gfid"), col(per_seed["before"], "gfid"),
                       better="lower", paired=True, paper="LlamaGen-XL 15.55 -> 9.23, XXL 14.36 -> 7.65 FID",
                       paper_values=(paper["LlamaGen-XL"][1], paper["LlamaGen-XL"][0]), n=n(seeds)),
        claims.compare("post-training lowers test pFD-clf (the prior's share: samples against the same tokenizer's "
                       "reconstructions)", col(per_seed["after"], "pfd"), col(per_seed["before"], "pfd"),
                       better="lower", paired=True, n=n(seeds)),
        claims.compare("the prior does not drift far: test CE after within 0.05 nats/token of before",
                       col(per_seed["after"], "ce"), col(per_seed["before"], "ce"), better="lower", margin=-0.05,
                       paired=True, n={"seeds": seeds}),
    ]
    for rate, rows in sorted(rates.items()):
        out.append(claims.compare(f"post-training at lr {rate:g} lowers test g{metric} against before",
                                  col(rows, "gfid"), col(before_of(rows), "gfid"), better="lower", paired=True,
                                  paper="V: lower FID after", n=n(len(rows))))
    for rate, arms in abl.items():
        ref = arms[main_label(pc)]
        for label in V_ABLATIONS:
            if label in arms:
                out.append(claims.compare(f"lr {rate:g}: {label} raises g{metric} against post-training with it",
                                          col(arms[label], "gfid"), col(ref, "gfid"), better="higher", paired=True,
                                          paper="V ablation: degrades", n=n(len(ref))))
        if rate == lr_move:
            for label in objective_sets(pc):
                if label in arms:
                    out.append(claims.compare(f"lr {rate:g}: {label} lowers g{metric} against our default objective",
                                              col(arms[label], "gfid"), col(ref, "gfid"), better="lower",
                                              paired=True, beyond_paper=True, n=n(len(ref))))
    return out
