# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Prologue tokens: generation-only tokens before the visual ones (paper P)
#
# Paper P prepends $n$ **prologue tokens** to the visual tokens of a 2D tokenizer. They are quantised by their own
# Prob-STE codebook (tau 0.1), never reach the decoder, and are trained only by the cross-entropy of a compact AR
# over [prologue; visual] (weight 3, P §2, eq. 2). The visual tokens are trained by reconstruction only. With
# probability 0.5 every visual input of an image is dropped from the joint AR (all-or-none visual dropout), so the
# prologue has to predict the visual tokens on its own. The paper's findings (Tables 1, 3, 4, Figs. 5, 6, Table A1):
#
# * gFID without guidance about halves against the 2D baseline (21.01 -> 10.75 on ImageNet 256, B-B), while
#   reconstruction is almost unchanged (rFID 2.15 -> 2.24) (Table 1);
# * prologue tokens are linearly probeable far above the 2D tokenizer's first tokens (Table 4);
# * routing the same AR gradient straight into the visual tokens instead (Fig. 5) degrades reconstruction as its
#   weight grows; for 2D tokens it also gives worse generation than the two-stage baseline, for 1D tokens it helps
#   generation at small weights but stays behind Prologue; routed into the prologue, it leaves reconstruction flat;
# * visual dropout is the most sensitive knob (Table A1);
# * **Prologue-Post** attaches the prologue to a frozen, already trained 2D tokenizer.
#
# Everything here runs through `tvclab.train` on Fashion-MNIST; the 1D baseline's tokenizer is notebook 02's run.

# %% tags=["parameters"]
tier: str = "cpu"  # smoke | cpu | paper; paper renders run directories only
seed: int = 0  # first seed
n_seeds: int = 3  # seeds of the other Table 1 rows (1D, Prologue-Post)
n_seeds_headline: int = 5  # seeds of the rows the headline claims compare (2D, Prologue)
out_dir: str = "figures/04_prologue"  # figures, tables and results.json
n_eval: int = 0  # images per Fréchet estimate; 0 picks the tier default

# %%
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from tvclab import claims, configs, data, evaluation, losses, metrics, provenance, stats, tiers, timing, train
from tvclab.models.attention_maps import mean_attention, record_attention
from tvclab.report import row_cell, save_figure, save_results, save_table

TIER = tiers.get(tier)  # the tier's seeds, N and settings (tvclab.tiers)

sns.set_theme(style="whitegrid", context="notebook")
torch.manual_seed(seed)
T0 = time.time()
timing.reset()
RUN_TIER, SMOKE, SEEDS, BOOT, CLF = evaluation.tier_setup(tier, seed, n_seeds)  # presets, seeds, resamples, FD-clf
N_EVAL = n_eval or TIER.n_frechet
HEADLINE = ("baseline_2d", "prologue")  # the rows the headline claims compare: SEEDS_HEAD
SEEDS_HEAD = evaluation.tier_setup(tier, seed, n_seeds_headline).seeds  # the same rule, more seeds (smoke: 2)
seeds_of = lambda name: SEEDS_HEAD if name in HEADLINE else SEEDS
CC = ["stage2.class_cond=true"]  # P Table 1: class-conditional stage 2, with and without CFG
LAMBDAS = [3.0] if SMOKE else [0.3, 1.0, 3.0, 10.0]  # Fig. 5: the AR weight; 3 is Table 1's Prologue (authors' code)
CFG_GRID = [2.0] if SMOKE else [1.5, 2.0, 3.0]  # CFG scales searched on validation (per method, seed SEEDS[0])
pro_cfg = configs.get("prologue", RUN_TIER)
DATASET = pro_cfg.data.dataset  # Fashion-MNIST below the paper tier, ImageNet at it (P's preset)
N_PRO = pro_cfg.prologue.n
PAPER_T1 = {  # P Table 1 (ImageNet 256, B-B): rFID, PSNR, gFID w/o CFG, gFID w/ CFG
    "baseline_1d": (2.11, 20.71, 19.32, 6.10), "baseline_2d": (2.15, 20.71, 21.01, 5.02),
    "prologue": (2.24, 20.64, 10.75, 4.11), "prologue_post": (2.15, 20.71, 11.04, 3.88)}
PAPER_T3_AR_LOSS = {"baseline_1d": 7.89, "baseline_2d": 7.73}  # P Table 3
PAPER_T4 = {"prologue": (35.88, 60.28), "baseline_2d": (23.71, 44.17)}  # P Table 4: top-1, top-5 (%)
LABELS = {"baseline_1d": "1D tokenizer", "baseline_2d": "2D tokenizer", "prologue": "Prologue",
          "prologue_post": "Prologue-Post"}
results: dict = {"tier": tier, "seeds": SEEDS, "seeds_headline": SEEDS_HEAD, "dataset": DATASET,
                 "n_eval": N_EVAL,
                 "validation_split": data.validation_split(DATASET), "rows": {}}
print(f"tier {tier}: prologue n = {N_PRO}, codebook {pro_cfg.prologue.codebook_size}, tau {pro_cfg.prologue.tau}, "
      f"AR weight {pro_cfg.prologue.ar_weight}, visual dropout {pro_cfg.prologue.visual_dropout}; 2D tokens "
      f"{(pro_cfg.data.image_size // pro_cfg.tokenizer.patch_size) ** 2} from {pro_cfg.quantizer.codebook_size} codes; "
      f"stage 1 {pro_cfg.optim.steps} steps, stage 2 {pro_cfg.stage2.optim.steps}; Fréchet N = {N_EVAL}; "
      f"seeds {SEEDS_HEAD} (headline rows), {SEEDS} (the rest)")
if not TIER.trains_inline:
    print("paper tier: this notebook renders existing run directories; it does not train paper-tier models inline.")

# %% [markdown]
# ## Settings and protocol at this tier
#
# The `cpu` tier's 2D tokenizer reads Fashion-MNIST's 28x28 images as 16 patches of 7x7, one token each, from a
# 256-code L2-normalised VQ (width 128, 2 + 2 layers, 400 steps; P's Base reads 256 patches from 16,384 codes).
# The prologue has 4 tokens from a 64-code Prob-STE codebook (P: 16 from 1,024), the compact joint AR 2 layers of
# width 128 with its own AdamW (betas 0.9 / 0.99, weight decay 0.03: the authors' code), stepped with the
# tokenizer. The stage-2 AR (3 layers, width 128, 300 steps) is class-conditional with 10% label dropout, so each
# row has gFD-clf with and without classifier-free guidance; the guidance scale is chosen per method on the
# validation split. Without Inception weights every Fréchet number is **FD-clf** (the suite's classifier
# features), labelled so: compare across our rows, never with the paper's FID.
#
# **Protocol.** Selections (the CFG scale, the probe's regularisation) read the validation split; reported
# numbers come from the test split. Table 1's 2D and Prologue rows (what the headline claims compare) have
# `n_seeds_headline` seeds (5 at the cpu tier), 1D and Prologue-Post `n_seeds` (3); intervals over seeds are Student t ("t, n seeds").
# The Fig. 5 sweep and Table A1 are one seed, marked, with intervals over samples: they are read as descriptions,
# never as verdicts. Verdicts come from `tvclab.claims`.
#
# **pFD-clf** is the FD-clf of the samples against the tokenizer's own reconstructions of the same test images:
# zero (up to its finite-N floor) for a perfect prior, whatever the decoder, so it sees what the prior adds to the
# decoder's error; gFD - rFD (same seed) stands beside it.

# %%
real_test = evaluation.reference_images(DATASET, "test", N_EVAL, image_size=pro_cfg.data.image_size)
N_VAL = min(N_EVAL, data.validation_split(DATASET)["size"])
real_val = evaluation.reference_images(DATASET, "val", N_VAL, image_size=pro_cfg.data.image_size)
VAL_SAMPLE_SEED = 10_000
first_samples: dict = {}


def fd_samples(run: Path, real: torch.Tensor, sample_seed: int, cfg_scale: float = 1.0) -> tuple[dict, torch.Tensor]:
    """Fréchet number (with its interval over samples) of len(real) class-balanced samples of the AR in ``run``,
    and the samples."""
    imgs = train.sample(run, len(real), seed=sample_seed, cfg_scale=cfg_scale, progress=False)["images"]
    first_samples.setdefault((str(run), cfg_scale), imgs[:64])
    return evaluation.frechet(real, imgs, DATASET, CLF, BOOT), imgs


def fd(run: Path, real: torch.Tensor, sample_seed: int, cfg_scale: float = 1.0) -> dict:
    return fd_samples(run, real, sample_seed, cfg_scale)[0]


def row_metrics(r: evaluation.SeedRuns) -> dict:
    """One seed's test numbers: rFD-clf and PSNR of stage 1, gFD-clf without guidance, the stage-2 CE of the
    visual tokens (comparable across rows) and of the whole sequence; pFD-clf of the same samples against the
    tokenizer's reconstructions, and gFD - rFD."""
    fd = evaluation.fd_columns(r, real_test, DATASET, CLF, BOOT, generate=lambda r: fd_samples(r.stage2, real_test, r.seed))[0]
    t2 = evaluation.test_metrics(r.stage2)
    return {**fd, "gloss_visual": t2.get("gloss_visual", t2["gloss"]), "gloss": t2["gloss"],
            "seconds_per_step": train.artifacts.seconds_per_step(r.stage1)}


run_row = evaluation.row_runner(RUN_TIER, row_metrics)


# %% [markdown]
# ## Table 1: the four tokenizers, with and without guidance
#
# 1D (notebook 02's tokenizer, a class-conditional stage 2 of its own), 2D, Prologue and Prologue-Post (the
# prologue beside the frozen 2D run of the same seed). For each, the CFG scale is chosen on the validation split
# (seed `SEEDS[0]`, grid `CFG_GRID`), then every seed's test gFD-clf with guidance is measured at that scale.

# %%
rows = {name: run_row(name, CC, seeds_of(name)) for name in ("baseline_1d", "baseline_2d", "prologue", "prologue_post")}
METRIC = {"fid": "FID", "fd_clf": "FD-clf"}[rows["baseline_2d"].per_seed[0]["metric"]]
cfg_choice = {}
for name, r in rows.items():
    val = {s: fd(r.runs[0].stage2, real_val, VAL_SAMPLE_SEED, s)["value"] for s in CFG_GRID}
    cfg_choice[name] = {"scale": min(val, key=val.get), f"val g{METRIC}": val}
    for m, run in zip(r.per_seed, r.runs):
        g = fd(run.stage2, real_test, run.seed, cfg_choice[name]["scale"])
        m.update(gfid_cfg=g["value"], gfid_cfg_lo=g["lo"], gfid_cfg_hi=g["hi"])
    r.summary = evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"} for m in r.per_seed])
print("CFG scale chosen on validation: " + ", ".join(f"{n} {c['scale']:g}" for n, c in cfg_choice.items()))


cell = row_cell  # mean [t interval over seeds] of a row's column


def interval_kind(r: evaluation.Row) -> str:
    return f"t, {len(r.seeds)} seeds" if len(r.seeds) > 1 else "1 seed: none"


table1 = []
for name, r in rows.items():
    p = PAPER_T1[name]
    table1.append({"tokenizer": LABELS[name], f"r{METRIC}": cell(r, "rfid"), "PSNR": cell(r, "psnr"),
                   f"g{METRIC} w/o CFG": cell(r, "gfid"), "pFD-clf w/o CFG": cell(r, "pfd"),
                   f"g{METRIC} - r{METRIC} w/o CFG": cell(r, "gap"), f"g{METRIC} w/ CFG": cell(r, "gfid_cfg"),
                   "CFG scale": cfg_choice[name]["scale"], "visual CE (nats/token)": cell(r, "gloss_visual"),
                   "seeds": len(r.seeds), "interval": interval_kind(r), "paper rFID": p[0], "paper PSNR": p[1], "paper gFID w/o CFG": p[2],
                   "paper gFID w/ CFG": p[3]})
    results["rows"][name] = {"seeds": r.seeds, "per_seed": r.per_seed, "summary": r.summary, "cfg": cfg_choice[name]}
print(save_table(table1, out_dir, "table1_tokenizers", digits=4))
print(f"Table 1 done after {time.time() - T0:.0f} s")

# %% [markdown]
# ## Fig. 5: where the AR gradient goes
#
# The same AR cross-entropy at weight lambda, routed three ways (`prologue.routing`): into prologue tokens
# (Prologue), or straight into the visual tokens of the 2D or 1D tokenizer through the VQ's Prob-STE (no prologue).
# The visual arms use the prologue's Prob-STE sharpness: the VQ's logits are $2\cos - 2$, so
# `quantizer.prob_tau` = 2 tau gives $\cos / \tau$ as the prologue codebook has; the arms then differ only in where
# the gradient goes. One seed per point (`SEEDS[0]`); lambda = 3 of the prologue arm is Table 1's Prologue.

# %%
VIS = ["prologue.routing=visual", f"quantizer.prob_tau={2 * pro_cfg.prologue.tau:g}"]
ARMS = {"prologue": ("prologue", []), "visual 2D": ("baseline_2d", VIS), "visual 1D": ("baseline_1d", VIS)}
sweep = {}
for arm, (name, extra) in ARMS.items():
    for lam in LAMBDAS:
        sets = CC + extra + [f"prologue.ar_weight={lam:g}"]
        r = rows["prologue"] if arm == "prologue" and lam == pro_cfg.prologue.ar_weight else run_row(name, sets, SEEDS[:1])
        sweep[(arm, lam)] = r
# for choosing an arm's best lambda (a claim below): the validation gFD-clf, never the test split's
sweep_val = {key: fd(r.runs[0].stage2, real_val, VAL_SAMPLE_SEED)["value"] for key, r in sweep.items()}
fig5 = {arm: {"lambda": LAMBDAS, "rfid": [sweep[(arm, l)].per_seed[0]["rfid"] for l in LAMBDAS],
              "gfid": [sweep[(arm, l)].per_seed[0]["gfid"] for l in LAMBDAS],
              "val_gfid": [sweep_val[(arm, l)] for l in LAMBDAS]} for arm in ARMS}
fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
for arm, v in fig5.items():
    ax[0].plot(v["lambda"], v["rfid"], "o-", label=arm)
    ax[1].plot(v["lambda"], v["gfid"], "o-", label=arm)
base2d = rows["baseline_2d"].per_seed[0]
ax[0].axhline(base2d["rfid"], ls=":", c="gray", label="2D, no AR term")
ax[1].axhline(base2d["gfid"], ls=":", c="gray", label="2D, no AR term")
for a, what in zip(ax, ("reconstruction", "generation (no CFG)")):
    a.set_xscale("log")
    a.set(xlabel="AR weight lambda", ylabel=f"test {'r' if a is ax[0] else 'g'}{METRIC} (N = {N_EVAL})", title=what)
ax[1].legend(fontsize=8)
fig.suptitle(f"P Fig. 5 at the {tier} tier: AR gradients into prologue vs visual tokens (seed {SEEDS[0]})")
fig.tight_layout()
save_figure(fig, out_dir, "fig5_routing_lambda")
plt.show()
results["fig5"] = fig5
print(f"Fig. 5 done after {time.time() - T0:.0f} s")

# %% [markdown]
# ## Table 3 and Fig. 6: 1D against 2D, and what the AR attends to
#
# Table 3 puts the 1D and 2D rows of Table 1 side by side (AR loss and gFD-clf). Fig. 6 shows the stage-2 AR's
# attention, averaged over 256 test sequences, heads and layers: for the 2D and 1D tokenizers, for the tokenizers
# whose visual tokens took the AR gradient (Fig. 5's lambda = 3), and for Prologue (the first n positions are the
# prologue). The maps are recomputed from each layer's queries and keys (`tvclab.models.attention_maps`).

# %%
table3 = [{"tokenizer": LABELS[n], "visual CE (nats/token)": cell(rows[n], "gloss_visual"),
           f"g{METRIC} w/o CFG": cell(rows[n], "gfid"), "pFD-clf": cell(rows[n], "pfd"),
           f"g{METRIC} - r{METRIC}": cell(rows[n], "gap"), "interval": interval_kind(rows[n]), "paper AR loss": PAPER_T3_AR_LOSS[n],
           "paper gFID w/o CFG": PAPER_T1[n][2],
           "seeds": len(rows[n].seeds)} for n in ("baseline_1d", "baseline_2d")]
print(save_table(table3, out_dir, "table3_1d_vs_2d", digits=4))
lam_mid = 3.0 if 3.0 in LAMBDAS else LAMBDAS[-1]
panels = {"2D": rows["baseline_2d"].runs[0], "1D": rows["baseline_1d"].runs[0],
          "AR grads into 2D": sweep[("visual 2D", lam_mid)].runs[0], "AR grads into 1D": sweep[("visual 1D", lam_mid)].runs[0],
          "Prologue": rows["prologue"].runs[0]}
maps = {}
for label, run in panels.items():
    ar, _ = train.load_prior(run.stage2)
    enc = train.encode_dataset(run.stage1, "test")
    seq = enc["tokens"][:256]
    if "prologue" in enc:
        seq = torch.cat([enc["prologue"][:256], seq + run.config.prologue.codebook_size], dim=1)
    with record_attention(ar) as rec, torch.no_grad():
        ar(seq, enc["labels"][:256] if ar.num_classes else None)
    maps[label] = mean_attention(rec).mean(0)
fig, ax = plt.subplots(1, len(maps), figsize=(3.2 * len(maps), 3.4))
for a, (label, m) in zip(ax, maps.items()):
    a.imshow(m.numpy(), cmap="viridis")
    a.set(title=label, xlabel="input position (0: class token)", ylabel="input position")
    if label == "Prologue":  # inputs 1..n hold the prologue tokens, n+1.. the visual ones
        for f in (a.axvline, a.axhline):
            f(N_PRO + 0.5, c="w", lw=0.8, ls="--")
fig.suptitle("P Fig. 6: stage-2 AR attention, mean over test sequences, heads and layers")
fig.tight_layout()
save_figure(fig, out_dir, "fig6_attention")
plt.show()
results["fig6"] = {k: v.tolist() for k, v in maps.items()}

# %% [markdown]
# ## Table 4: linear probes of prologue tokens
#
# A logistic regression on the mean of the n prologue code vectors of each image, against the same probe on the
# mean of the 2D tokenizer's first n token vectors (chance 10%). Training images: the first `N_PROBE` of the
# training split; the regularisation C is chosen on the validation split; top-1 / top-5 on the test split; every
# seed of Table 1.

# %%
N_PROBE = 512 if SMOKE else 10_000
N_PROBE_EVAL = 128 if SMOKE else 2_000


def probe_features(run: evaluation.SeedRuns, split: str, n: int, prologue: bool) -> tuple[torch.Tensor, torch.Tensor]:
    enc = train.encode_dataset(run.stage1, split, limit=n)
    tok = train.load_tokenizer(run.stage1)
    with torch.no_grad():
        if prologue:
            feats = tok.prologue_quantizer.codes()[enc["prologue"]].mean(1)
        else:
            feats = tok.indices_to_z(enc["tokens"][:, :N_PRO]).mean(1)
    return feats, enc["labels"]


probe = {}
for name, pro in (("prologue", True), ("baseline_2d", False), ("prologue_post", True)):
    per_seed = []
    for run in rows[name].runs:
        tr, va, te = (probe_features(run, s, n, pro) for s, n in (("train", N_PROBE), ("val", N_PROBE_EVAL),
                                                                   ("test", N_PROBE_EVAL)))
        best_c = max((0.1, 1.0, 10.0), key=lambda c: metrics.linear_probe(*tr, *va, C=c)["top1"])
        per_seed.append({"seed": run.seed, "C": best_c, **metrics.linear_probe(*tr, *te, C=best_c)})
    probe[name] = per_seed
table4 = [{"features": {"prologue": f"Prologue: mean of {N_PRO} prologue tokens",
                        "baseline_2d": f"2D: mean of the first {N_PRO} tokens",
                        "prologue_post": f"Prologue-Post: mean of {N_PRO} prologue tokens"}[n],
           "top-1": f"{np.mean([m['top1'] for m in v]):.3f} ({len(v)} seeds)",
           "top-5": f"{np.mean([m['top5'] for m in v]):.3f}", "chance top-1": 0.1,
           "paper top-1 (%)": PAPER_T4.get(n, (None, None))[0], "paper top-5 (%)": PAPER_T4.get(n, (None, None))[1]}
          for n, v in probe.items()]
print(save_table(table4, out_dir, "table4_linear_probe", digits=4))
results["probe"] = probe

# %% [markdown]
# ## Table A1: one factor at a time
#
# The Prologue row with one setting changed (seed `SEEDS[0]`, one seed each): visual dropout 0 and 1, fewer and
# more prologue tokens, a smaller and larger prologue codebook, a lower and higher Prob-STE tau. The AR weight is
# Fig. 5's prologue arm.

# %%
p0 = pro_cfg.prologue
A1 = {"visual dropout": [0.0, 1.0], "n": [max(1, N_PRO // 2), N_PRO * 2],
      "codebook": [max(2, p0.codebook_size // 4), p0.codebook_size * 4], "tau": [p0.tau / 3, p0.tau * 3]}
if SMOKE:
    A1 = {"visual dropout": [0.0], "n": [N_PRO * 2]}
KEY = {"visual dropout": "prologue.visual_dropout", "n": "prologue.n", "codebook": "prologue.codebook_size",
       "tau": "prologue.tau"}
DEFAULT = {"visual dropout": p0.visual_dropout, "n": p0.n, "codebook": p0.codebook_size, "tau": p0.tau}
ablation, tableA1 = {}, []
for knob, values in A1.items():
    for v in values:
        r = run_row("prologue", CC + [f"{KEY[knob]}={v:g}"], SEEDS[:1])
        ablation[(knob, v)] = r.per_seed[0]
for knob in A1:
    for v in sorted(A1[knob] + [DEFAULT[knob]]):
        m = rows["prologue"].per_seed[0] if v == DEFAULT[knob] else ablation[(knob, v)]
        tableA1.append({"knob": knob, "value": v, f"r{METRIC}": m["rfid"], f"g{METRIC} w/o CFG": m["gfid"],
                        "pFD-clf": m["pfd"], f"g{METRIC} - r{METRIC}": m["gap"], "visual CE": m["gloss_visual"], "default": v == DEFAULT[knob], "seeds": 1})
print(save_table(tableA1, out_dir, "tableA1_one_factor", digits=4))
spread = {knob: float(np.ptp([row[f"g{METRIC} w/o CFG"] for row in tableA1 if row["knob"] == knob])) for knob in A1}
print("gFD-clf spread per knob: " + ", ".join(f"{k} {v:.3f}" for k, v in spread.items()))
results["tableA1"] = {"rows": tableA1, "gfid_spread": spread}

# %% [markdown]
# ## Fig. 1 / A3: prologue fixed, visual tokens resampled
#
# For four test images: their prologue ids (the encoder's), held fixed while the stage-2 AR resamples the visual
# tokens (its own label, no guidance), beside unconstrained samples of the same label.

# %%
prun = rows["prologue"].runs[0]
enc = train.encode_dataset(prun.stage1, "test", limit=64)
picks = [int(i) for i in torch.arange(4) * 7]
k = 6
fig, ax = plt.subplots(4, 2 * k + 1, figsize=(1.1 * (2 * k + 1), 4.8))
for row_i, i in enumerate(picks):
    lab = enc["labels"][i].repeat(k)
    fixed = train.sample(prun.stage2, k, seed=100 + row_i, labels=lab, prefix=enc["prologue"][i].repeat(k, 1),
                         progress=False)["images"]
    free = train.sample(prun.stage2, k, seed=100 + row_i, labels=lab, progress=False)["images"]
    real = evaluation.reference_images(DATASET, "test", i + 1, image_size=pro_cfg.data.image_size)[i]
    tiles = [real] + list(fixed) + list(free)
    for j, img in enumerate(tiles):
        ax[row_i, j].imshow(img[0].add(1).div(2).clamp(0, 1).numpy(), cmap="gray")
        ax[row_i, j].axis("off")
ax[0, 0].set_title("image", fontsize=8)
ax[0, 1].set_title("prologue fixed ->", fontsize=8)
ax[0, k + 1].set_title("free samples, same label ->", fontsize=8)
fig.tight_layout()
save_figure(fig, out_dir, "fig1_prologue_fixed")
plt.show()

# %% [markdown]
# ## Claims
#
# Each verdict is computed by `tvclab.claims` from the numbers above, with Student-t intervals over seeds (Welch:
# the rows are different runs). The paper's headline, gFID about halved (21.01 -> 10.75), cannot be judged at this
# tier: halving the 2D row's gFD-clf would put Prologue's below the 2D tokenizer's own rFD-clf, which no prior can
# reach. The **primary claim** is therefore the data-model gap: gFD - rFD (taken seed by seed) lower for Prologue
# than for 2D (paper: 18.86 -> 8.51), with pFD-clf beside it and the gFD claim kept. The notebook prints how many
# claims it judges; claims.md shows the Holm-adjusted verdict beside each raw one and the minimum detectable effect
# (MDE, 80% power). The Fig. 5 sweep and Table A1 points are one seed each: descriptions (intervals over samples),
# listed apart in descriptions.md, never verdicts.

# %%
vals = lambda name, key: rows[name].values(key)


def best(arm: str) -> dict:
    """The test metrics of ``arm``'s Fig. 5 point with the lowest *validation* gFD-clf (chosen on validation)."""
    lam = min(LAMBDAS, key=lambda l: sweep_val[(arm, l)])
    return sweep[(arm, lam)].per_seed[0]


def knob_rows(knob: str) -> list[dict]:
    return [rows["prologue"].per_seed[0] if v == DEFAULT[knob] else ablation[(knob, v)]
            for v in sorted(A1[knob] + [DEFAULT[knob]])]


def spread_q(knob: str) -> dict:
    """A knob's gFD spread (max - min over its values) with a conservative interval from each point's interval."""
    ms = knob_rows(knob)
    v = max(m["gfid"] for m in ms) - min(m["gfid"] for m in ms)
    lo = max(0.0, max(m["gfid_lo"] for m in ms) - min(m["gfid_hi"] for m in ms))
    hi = max(m["gfid_hi"] for m in ms) - min(m["gfid_lo"] for m in ms)
    return {"value": v, "lo": min(lo, v), "hi": max(hi, v)}


def widest_other() -> str:
    others = [k for k in A1 if k != "visual dropout"]
    return max(others, key=lambda k: spread_q(k)["value"])
q1 = lambda m, key: {"value": m[key], "lo": m[f"{key}_lo"], "hi": m[f"{key}_hi"]}
nseed = lambda *names: {"seeds": " vs ".join(str(len(rows[n].seeds)) for n in names), "N": N_EVAL}
P2, PP, P1 = PAPER_T1["baseline_2d"], PAPER_T1["prologue"], PAPER_T1["prologue_post"]
verdicts = [
    claims.compare(f"primary: Prologue narrows the data-model gap g{METRIC} - r{METRIC} (per seed, w/o CFG) against "
                   "the 2D tokenizer", vals("prologue", "gap"), vals("baseline_2d", "gap"), better="lower",
                   paper=f"gFID - rFID {P2[2] - P2[0]:.2f} -> {PP[2] - PP[0]:.2f} (Table 1)",
                   n=nseed("prologue", "baseline_2d"), paper_values=(PP[2] - PP[0], P2[2] - P2[0])),
    claims.compare("Prologue lowers pFD-clf (samples against the tokenizer's own reconstructions, w/o CFG) against "
                   "the 2D tokenizer", vals("prologue", "pfd"), vals("baseline_2d", "pfd"), better="lower",
                   paper="not reported (the paper's gap above is its closest number)",
                   n=nseed("prologue", "baseline_2d")),
    claims.compare(f"Prologue lowers g{METRIC} without CFG against the 2D tokenizer", vals("prologue", "gfid"),
                   vals("baseline_2d", "gfid"), better="lower", paper=f"{P2[2]} -> {PP[2]} gFID w/o CFG (Table 1)",
                   n=nseed("prologue", "baseline_2d"), paper_values=(PP[2], P2[2])),
    claims.compare(f"reconstruction unchanged: Prologue's r{METRIC} not above the 2D tokenizer's by more than 10%",
                   vals("prologue", "rfid"), vals("baseline_2d", "rfid"), better="lower",
                   margin=-0.1 * rows["baseline_2d"].mean("rfid"), paper=f"rFID {P2[0]} -> {PP[0]}, PSNR {P2[1]} -> {PP[1]}",
                   n=nseed("prologue", "baseline_2d"), paper_values=(PP[0], P2[0])),
    claims.compare(f"Prologue-Post lowers g{METRIC} without CFG against the 2D tokenizer it attaches to",
                   vals("prologue_post", "gfid"), vals("baseline_2d", "gfid"), better="lower",
                   paper=f"{P2[2]} -> {P1[2]} gFID w/o CFG (Table 1)", n=nseed("prologue_post", "baseline_2d"),
                   paper_values=(P1[2], P2[2])),
    claims.compare("prologue tokens probe above the 2D tokenizer's first n tokens (top-1)",
                   [m["top1"] for m in probe["prologue"]], [m["top1"] for m in probe["baseline_2d"]],
                   better="higher", paper="35.88% vs 23.71% top-1 (Table 4)",
                   n={"seeds": f"{len(probe['prologue'])} vs {len(probe['baseline_2d'])}", "test images": N_PROBE_EVAL},
                   paper_values=PAPER_T4["prologue"][0:1] + PAPER_T4["baseline_2d"][0:1]),
]
judged = claims.judge(verdicts)
results.update(judged)  # n_claims, claims (table rows: raw and Holm verdicts, MDE), claim_results (full dicts)
print(f"{judged['n_claims']} claims judged (Holm over all {judged['n_claims']}):")
print(save_table(results["claims"], out_dir, "claims"))

# one seed per point: descriptions (intervals over samples), not verdicts
lo_l, hi_l = LAMBDAS[0], LAMBDAS[-1]
descriptions = [
    claims.compare(f"AR gradients into the 2D visual tokens raise r{METRIC} (lambda {hi_l:g} vs {lo_l:g})",
                   q1(sweep[("visual 2D", hi_l)].per_seed[0], "rfid"), q1(sweep[("visual 2D", lo_l)].per_seed[0], "rfid"),
                   better="higher", paper="Fig. 5: rFID collapses at moderate lambda", n={"seeds": 1, "N": N_EVAL}),
    claims.compare(f"AR gradients into the 2D visual tokens give a higher g{METRIC} than the 2D baseline "
                   f"(lambda chosen on validation)", q1(best("visual 2D"), "gfid"), q1(rows["baseline_2d"].per_seed[0], "gfid"),
                   better="higher", paper="§4.1: 2D joint training generates worse than two-stage",
                   n={"seeds": 1, "N": N_EVAL}),
    claims.compare(f"AR gradients into the 1D visual tokens lower g{METRIC} at the smallest lambda ({lo_l:g}) "
                   "against the 1D baseline", q1(sweep[("visual 1D", lo_l)].per_seed[0], "gfid"),
                   q1(rows["baseline_1d"].per_seed[0], "gfid"), better="lower",
                   paper="§4.1: 1D benefits at small lambda (best 14.45 vs 19.32)", n={"seeds": 1, "N": N_EVAL},
                   paper_values=(14.45, PAPER_T1["baseline_1d"][2])),
    claims.compare(f"Prologue's g{METRIC} is below the 1D visual-routing point chosen on validation",
                   q1(rows["prologue"].per_seed[0], "gfid"), q1(best("visual 1D"), "gfid"), better="lower",
                   paper="10.75 vs 14.45 gFID w/o CFG", n={"seeds": 1, "N": N_EVAL}, paper_values=(PP[2], 14.45)),
    claims.compare(f"prologue routing keeps r{METRIC} (lambda {hi_l:g} not above {lo_l:g} by more than 10%)",
                   q1(sweep[("prologue", hi_l)].per_seed[0], "rfid"), q1(sweep[("prologue", lo_l)].per_seed[0], "rfid"),
                   better="lower", margin=-0.1 * sweep[("prologue", lo_l)].per_seed[0]["rfid"],
                   paper="Fig. 5: rFID varies by 0.16 over lambda 1-6", n={"seeds": 1, "N": N_EVAL}),
    claims.compare(f"visual dropout is the most sensitive knob: its g{METRIC} spread exceeds every other knob's "
                   "(intervals from the samples' intervals)", spread_q("visual dropout"), spread_q(widest_other()),
                   better="higher", paper="Table A1", n={"seeds": 1}),
]
results["descriptions"] = [{"reading (1 seed, not a verdict)": row.pop("verdict"), **row}
                           for row in claims.table(descriptions)]
print(save_table(results["descriptions"], out_dir, "descriptions"))

# %%
save_results(results, out_dir, provenance=provenance.collect(
    tier=tier, seeds=SEEDS_HEAD, n={"frechet": N_EVAL, "probe_train": N_PROBE, "probe_eval": N_PROBE_EVAL},
    lpips_in_loss=losses.lpips_in_loss(), wall_time_s=time.time() - T0, validation=DATASET))
print(f"notebook done in {time.time() - T0:.0f} s; by phase (s): "
      + ", ".join(f"{k} {v:.0f}" for k, v in timing.breakdown(time.time() - T0).items()))
