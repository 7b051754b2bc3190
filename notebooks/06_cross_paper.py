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
# # 06 · The four methods on one setting (papers W, F, P, V side by side)
#
# None of the four papers compares itself with the others on equal terms: each reports a gain over its own
# baseline, on its own data, with its own model sizes. Here every method runs on the same data (Fashion-MNIST),
# the same tokenizer backbone (widths, depths, 8 tokens, patch 7), the same AR prior and the same step budget
# (`tvclab.crosspaper` states the rows and checks that they share the backbone):
#
# * **plain** two-stage (the 1D baseline), the reference;
# * **WGF-DPD** (paper W): the tokenizer is trained towards a prior (tokenizer side);
# * **flow-prior alignment** (paper F): continuous latents aligned to a flow prior on classifier features, with
#   F's generator for continuous tokens (a causal AR with a per-token flow head, *not* the discrete AR of the
#   other rows: its "gLoss" is a flow-matching loss, not nats);
# * **Prologue** (paper P): generation-only tokens before the visual ones, here on the same 1D tokenizer;
# * **VA-pi** (paper V): post-training of the plain baseline's AR with a pixel reward (generator side);
# * **WGF-DPD + VA-pi**: the two act on different stages, so their gains might add up; no paper runs it.
#
# Run directories are the other notebooks' wherever the config is the same (notebooks 02, 03, 05): the runner
# returns at once for a finished run, and only what is missing trains here.

# %% tags=["parameters"]
tier: str = "cpu"  # smoke | cpu | paper; paper prints the torchrun commands and renders run directories only
seed: int = 0  # first seed
n_seeds: int = 5  # seeds of every Table X1 row (the headline claims compare them all)
n_seeds_sweep: int = 3  # seeds of each frontier-sweep point
out_dir: str = "figures/06_cross_paper"  # figures, tables and results.json
n_eval: int = 0  # images per Fréchet estimate; 0 picks the tier default

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from tvclab import (claims, configs, crosspaper, data, evaluation, frontier, losses, metrics, paths, provenance,
                    timing, train)
from tvclab.bench import step_ratio
from tvclab.models import Tokenizer
from tvclab.models.blocks import count_params
from tvclab.report import load_results, row_cell, save_figure, save_results, save_table
from tvclab.tiers import get as get_tier

TIER = get_tier(tier)  # the tier's seeds, N and settings (tvclab.tiers)

sns.set_theme(style="whitegrid", context="notebook")
torch.manual_seed(seed)
T0 = time.time()
timing.reset()
RUN_TIER, SMOKE, SEEDS, BOOT, CLF = evaluation.tier_setup(tier, seed, n_seeds)
N_EVAL = n_eval or TIER.n_frechet
SEEDS_REST = evaluation.tier_setup(tier, seed, n_seeds_sweep).seeds  # the same rule, fewer seeds (smoke: 2)
PAPER_GFD = {"wgf_dpd": (11.30, 52.53), "flow_prior": (11.47, 15.08), "prologue": (10.75, 21.01),
             "vapi": (9.23, 15.55)}  # each paper's (method, its own baseline) gFID, as crosspaper.methods quotes them


def chosen_in(notebook: str, key: str):
    """A setting another notebook chose on the validation split at this tier, from its results.json (None when
    that notebook has not run at this tier)."""
    try:
        res = load_results(paths.FIGURES / notebook)
    except FileNotFoundError:
        return None
    return res.get(key, {}).get("chosen") if res.get("tier") == tier else None


wgf = chosen_in("02_wartok", "wgf_search")
lr = chosen_in("05_vapi", "lr_search")
WGF_SETS = [f"wgf.weight={wgf['weight']:g}", f"wgf.target_temperature={wgf['target_temperature']:g}"] if wgf else []
POST_SETS = [f"posttrain.optim.lr={lr:g}", f"posttrain.optim.lr_min={lr:g}"] if lr else []
print(f"WGF-DPD setting: {'notebook 02 chose ' + str(wgf) + ' on validation' if wgf else 'the preset (notebook 02 has not run at this tier)'}; "
      f"post-training lr: {'notebook 05 chose ' + f'{lr:g}' + ' on validation' if lr else 'the preset (notebook 05 has not run at this tier)'}")
ROWS = crosspaper.methods(WGF_SETS, POST_SETS)
SHARED = crosspaper.check_backbone(ROWS, RUN_TIER)  # raises if any row's backbone differs
DATASET = SHARED["data.dataset"]
print(f"tier {tier}: shared backbone " + ", ".join(f"{k}={v}" for k, v in SHARED.items()) + f"; seeds {SEEDS}; "
      f"Fréchet N = {N_EVAL}")
# Fig. X1's reference: the plain baseline with a smaller codebook (notebook 02's sweep sizes, reused)
K0 = configs.get("baseline_1d", RUN_TIER).quantizer.codebook_size
SWEEP_K = sorted({max(2, K0 // f) for f in ((16,) if SMOKE else (32, 16, 8, 4))})
SWEEP = {f"plain K={k}": crosspaper.Method("baseline_1d", (f"quantizer.codebook_size={k}",), False, f"K={k}", "-")
         for k in SWEEP_K}
# What this execution reuses (finished run directories, most of them notebooks 02, 03 and 05's) and what it trains
INVENTORY = crosspaper.inventory({**{n: (m, SEEDS) for n, m in ROWS.items()},
                                  **{n: (m, SEEDS_REST) for n, m in SWEEP.items()}}, RUN_TIER)
print(f"stage runs needed: {len(INVENTORY['reused']) + len(INVENTORY['to_train'])}; finished already (reused): "
      f"{len(INVENTORY['reused'])}; to train here: {len(INVENTORY['to_train'])}"
      + ("".join(f"\n  trains: {r}" for r in INVENTORY["to_train"])))
results: dict = {"tier": tier, "seeds": SEEDS, "dataset": DATASET, "n_eval": N_EVAL, "backbone": SHARED,
                 "validation_split": data.validation_split(DATASET),
                 "choices": {"wgf": wgf, "posttrain_lr": lr}, "runs": INVENTORY, "rows": {}}

# %% [markdown]
# ## The paper-tier comparison, as commands
#
# One config per row on paper W's CIFAR-10 backbone (the shared one at the paper tier: each paper's own preset
# differs), with its parameter counts (models built on the meta device: no memory, no weights). Under `torchrun`
# these commands produce the run directories this notebook renders with `tier = "paper"`.

# %%
paper_rows = []
for name, m in ROWS.items():
    cfg = crosspaper.config(m, "paper")
    root = train.default_run_dir(cfg)
    with torch.device("meta"):
        tok = Tokenizer.from_config(cfg, data.channels(cfg.data.dataset))
        counts = tok.param_counts()
        prior = train.stage2.build_prior(cfg, tok.n_tokens, data.num_classes(cfg.data.dataset))
    cmds = [train.command(st, cfg, root) for st in crosspaper.stages(m)]
    paper_rows.append({"row": m.label, "encoder (M)": f"{counts['encoder'] / 1e6:.1f}",
                       "decoder (M)": f"{counts['decoder'] / 1e6:.1f}", "generator (M)": f"{count_params(prior) / 1e6:.1f}",
                       "commands": " ; ".join(cmds)})
print(save_table(paper_rows, out_dir, "paper_tier_commands", digits=1))

# %% [markdown]
# ## Table X1: every method, its reconstruction, its generation, its rate and its cost
#
# Every row: `n_seeds` seeds (5 at the cpu tier), test-split numbers, Student-t intervals over seeds ("t, n
# seeds"). **pFD-clf** is the FD-clf of the samples against the tokenizer's own reconstructions of the same test
# images: zero (up to its finite-N floor) for a perfect prior, whatever the decoder, so it sees the prior where
# gFD-clf also carries the decoder's error; gFD - rFD (same seed) stands beside it. gLoss is the generator's
# held-out cross-entropy in nats per token (over prologue and visual tokens for Prologue) and per image; the
# flow-prior row's generator has a flow-matching loss instead (no nats). The cost column is a stage-1 training
# step against the plain baseline's, timed side by side in this process (`tvclab.bench.step_ratio`: rounds over the
# tokenizers, the order reversed every other round, the median of each round's ratio; the step times the runs
# recorded are kept in results.json but were taken at different times; at the paper tier, where nothing paper-sized
# is built inline, they stand in), and for the post-trained rows the seconds of
# post-training on top. Paper-reported gains are over each paper's own baseline, on its own data.

# %%
if not TIER.trains_inline and INVENTORY["to_train"]:  # paper-sized runs come from torchrun (the commands above), not from here
    raise SystemExit(f"paper tier: {len(INVENTORY['to_train'])} stage runs are missing ({INVENTORY['to_train'][0]}, ...); "
                     "produce them with the torchrun commands printed above, then rerun this notebook")
real_test = evaluation.reference_images(DATASET, "test", N_EVAL, image_size=SHARED["data.image_size"])
real_val = evaluation.reference_images(DATASET, "val", min(N_EVAL, data.validation_split(DATASET)["size"]),
                                       image_size=SHARED["data.image_size"])
VAL_SAMPLE_SEED = 10_000  # validation samples: their own seed, apart from the test samples'
samples_kept: dict = {}
rfid_kept: dict = {}


def evaluator(name: str):
    m = ROWS[name]

    def row_metrics(r: evaluation.SeedRuns) -> dict:
        sets = crosspaper.run_sets(m, RUN_TIER)
        gen = (train.run("posttrain", m.config, RUN_TIER, evaluation.seed_sets(sets, r.seed)) if m.posttrain
               else r.stage2)
        if (r.stage1, r.seed) not in rfid_kept:  # VA-pi rows share their tokenizer with plain / WGF-DPD
            recon = evaluation.reconstructions(r.stage1, real_test, seed=r.seed)  # rFD and pFD share them
            # no interval over samples: Table X1's intervals are over seeds
            rfid_kept[(r.stage1, r.seed)] = (recon, evaluation.rfid(r.stage1, real_test, DATASET, seed=r.seed,
                                                                    classifier_config=CLF, bootstrap=0, recon=recon))
        recon, rf = rfid_kept[(r.stage1, r.seed)]
        imgs = train.sample(gen, N_EVAL, seed=r.seed, progress=False)["images"]
        samples_kept.setdefault((name, r.seed), imgs[:10])
        g = metrics.generation_metrics(real_test, imgs, DATASET, classifier_config=CLF, isc=False, kid=False,
                                       prc=True, bootstrap=BOOT)
        key = g["metric"]
        t1, t2 = evaluation.test_metrics(r.stage1), evaluation.test_metrics(gen)
        length = r.config.tokenizer.n_tokens + configs.prefix_tokens(r.config)  # P: prologue + visual tokens
        out = {"rfid": rf["value"], "psnr": rf["psnr"], "gfid": g[key], "gfid_lo": g.get(f"{key}_lo"),
               "gfid_hi": g.get(f"{key}_hi"), "metric": key,
               "seconds_per_step": train.artifacts.seconds_per_step(r.stage1),
               "posttrain_s": (train.artifacts.seconds_per_step(gen) * r.config.posttrain.optim.steps
                               if m.posttrain else 0.0)}
        out.update({k: float(v) for k, v in g.items() if k.startswith(("precision", "recall"))})
        out.update(evaluation.prior_columns(imgs, recon, rf["value"], g[key], DATASET, CLF, BOOT))
        # what the "best method" claim selects on: the validation split, never the test split
        val = train.sample(gen, len(real_val), seed=VAL_SAMPLE_SEED + r.seed, progress=False)["images"]
        out["val_gfid"] = evaluation.frechet(real_val, val, DATASET, CLF, 0)["value"]
        if "gloss" in t2:
            out.update(gloss=t2["gloss"], rate=t2["gloss"] * length, codes_used=t1.get("codes_used"))
        else:
            out["fm_loss"] = t2["fm_loss"]
        tok = train.load_tokenizer(r.stage1)
        out.update({f"params_{k}": v for k, v in tok.param_counts().items()})
        out["params_generator"] = count_params(train.load_prior(gen)[0])
        return out

    return row_metrics


rows = {name: evaluation.tier_row(m.config, RUN_TIER, crosspaper.run_sets(m, RUN_TIER), SEEDS,
                                  evaluate=evaluator(name)) for name, m in ROWS.items()}
METRIC = {"fid": "FID", "fd_clf": "FD-clf"}[rows["plain"].per_seed[0]["metric"]]
PR = [k for k in rows["plain"].per_seed[0] if k.startswith(("precision", "recall")) and not k.startswith("f_")]
base_step = min(rows["plain"].values("seconds_per_step"))
# the row whose tokenizer each row uses (a post-trained row trains none of its own): one stage-1 directory, one row
STAGE1 = {n: train.stage_dir("stage1", crosspaper.config(m, RUN_TIER))[1] for n, m in ROWS.items()}
tok_of = {n: next(o for o in ROWS if STAGE1[o] == STAGE1[n]) for n in ROWS}
RECORDED = {n: min(rows[n].values("seconds_per_step")) / base_step for n in rows}  # the runs' own, fastest seed
if not TIER.trains_inline:  # paper-sized tokenizers are not built inline: the runs' recorded step times stand in
    STEP = {n: {"ratio": RECORDED[n]} for n in dict.fromkeys(tok_of.values())}
    print("paper tier: the cost column is the ratio of the runs' recorded step times (fastest seed of each)")
else:
    own = {n: crosspaper.config(ROWS[n], RUN_TIER) for n in dict.fromkeys(tok_of.values())}
    STEP = step_ratio.stage1_step_ratios(own, "plain", rounds=2 if SMOKE else 10, warmup=1 if SMOKE else 2, seed=seed)
    print("stage-1 step, side by side: " + ", ".join(f"{ROWS[n].label} {v['ms']:.0f} ms ({v['ratio']:.2f}x)"
                                                     for n, v in STEP.items()))
results["stage1_step"] = {"ratio": STEP, "source": "recorded" if not TIER.trains_inline else "measured side by side",
                          "recorded_ratio": RECORDED}


cell = row_cell  # mean [t interval over seeds] of a row's column ("n/a" where the row has none)


tableX1 = []
for name, r in rows.items():
    m, ps = ROWS[name], r.per_seed[0]
    tableX1.append({
        "method": m.label, f"r{METRIC}": cell(r, "rfid"), "PSNR": cell(r, "psnr"), f"g{METRIC}": cell(r, "gfid"),
        "pFD-clf": cell(r, "pfd"), f"g{METRIC} - r{METRIC}": cell(r, "gap"), **{k: cell(r, k) for k in PR},
        "gLoss (nats/token)": cell(r, "gloss") if "gloss" in r.summary else f"flow-matching loss {cell(r, 'fm_loss')}",
        "rate (nats/image)": cell(r, "rate", 2), "codes used": cell(r, "codes_used", 0),
        "stage-1 step / plain": f"{STEP[tok_of[name]]['ratio']:.2f}",
        "post-training (s)": f"{np.mean(r.values('posttrain_s')):.0f}" if m.posttrain else "-",
        "params enc / dec / generator (M)": f"{ps['params_encoder'] / 1e6:.2f} / {ps['params_decoder'] / 1e6:.2f} / "
                                            f"{ps['params_generator'] / 1e6:.2f}",
        "seeds": len(r.seeds), "interval": f"t, {len(r.seeds)} seeds" if len(r.seeds) > 1 else "1 seed: none",
        "paper's own gain": m.paper})
    results["rows"][name] = {"label": m.label, "config": m.config, "sets": crosspaper.run_sets(m, RUN_TIER),
                             "seeds": r.seeds, "per_seed": r.per_seed, "summary": r.summary}
print(save_table(tableX1, out_dir, "tableX1_cross_paper", digits=3))
print(f"Table X1 done after {time.time() - T0:.0f} s")

# %% [markdown]
# ## Fig. X1: the rate-distortion plane, and generation against reconstruction
#
# Left: PSNR against the prior's rate (nats per image) for the rows with a discrete prior, with the frontier that
# simply shrinking the plain baseline's codebook draws (notebook 02's sweep, reused). Right: gFD-clf against PSNR for
# every row. Means over seeds, bars the seed intervals.

# %%
sweep_rows = {k: evaluation.tier_row("baseline_1d", RUN_TIER, crosspaper.run_sets(SWEEP[f"plain K={k}"], RUN_TIER),
                                    SEEDS_REST) for k in SWEEP_K}
sweep = {k: [(m["gloss"] * SHARED["tokenizer.n_tokens"], m["psnr"]) for m in r.per_seed] for k, r in sweep_rows.items()}
sweep[K0] = list(zip(rows["plain"].values("rate"), rows["plain"].values("psnr")))
discrete = [n for n in rows if "rate" in rows[n].summary]
fig, ax = plt.subplots(1, 2, figsize=(12, 4.4))
fr = sorted((float(np.mean([p[0] for p in v])), float(np.mean([p[1] for p in v])), k) for k, v in sweep.items())
ax[0].plot([f[0] for f in fr], [f[1] for f in fr], "k--", lw=1, label="codebook frontier (plain, K = "
           + ", ".join(str(f[2]) for f in fr) + ")")
for i, n in enumerate(rows):
    s, c = rows[n].summary, f"C{i}"
    if n in discrete:
        ax[0].errorbar(s["rate"]["mean"], s["psnr"]["mean"], xerr=None if s["rate"]["lo"] is None else
                       [[s["rate"]["mean"] - s["rate"]["lo"]], [s["rate"]["hi"] - s["rate"]["mean"]]],
                       yerr=None if s["psnr"]["lo"] is None else
                       [[s["psnr"]["mean"] - s["psnr"]["lo"]], [s["psnr"]["hi"] - s["psnr"]["mean"]]],
                       fmt="o", c=c, label=ROWS[n].label)
    ax[1].errorbar(s["psnr"]["mean"], s["gfid"]["mean"], yerr=None if s["gfid"]["lo"] is None else
                   [[s["gfid"]["mean"] - s["gfid"]["lo"]], [s["gfid"]["hi"] - s["gfid"]["mean"]]], fmt="o", c=c,
                   label=ROWS[n].label)
ax[0].set(xlabel="rate: gLoss x tokens (nats / image, test)", ylabel="PSNR (dB, test)", title="rate-distortion")
ax[1].set(xlabel="PSNR (dB, test)", ylabel=f"g{METRIC} (N = {N_EVAL}, test)", title="generation vs reconstruction")
ax[0].legend(fontsize=7)
ax[1].legend(fontsize=7)
fig.suptitle(f"Fig. X1 at the {tier} tier: the four methods on one backbone ({len(SEEDS)} seeds)")
fig.tight_layout()
save_figure(fig, out_dir, "figX1_rate_distortion")
plt.show()
results["frontier_sweep"] = {str(k): v for k, v in sweep.items()}

# %% [markdown]
# ## Fig. X2: samples, same seeds, one row per method

# %%
fig, ax = plt.subplots(len(rows), 10, figsize=(10, 1.1 * len(rows) + 0.4), squeeze=False)
for i, n in enumerate(rows):
    imgs = samples_kept[(n, SEEDS[0])]
    for j in range(10):
        ax[i, j].imshow(imgs[j, 0].add(1).div(2).clamp(0, 1).numpy(), cmap="gray")
        ax[i, j].axis("off")
    ax[i, 0].set_title(ROWS[n].label, fontsize=7, loc="left")
fig.suptitle(f"Fig. X2: samples of every method (seed {SEEDS[0]})")
fig.tight_layout()
save_figure(fig, out_dir, "figX2_samples")
plt.show()

# %% [markdown]
# ## Claims
#
# Computed by `tvclab.claims` from the numbers above: which method generates best (the best and the runner-up among
# the five methods, chosen by their validation gFD-clf, the mean over seeds, then judged on the test split, with the
# PSNR each pays), whether each method beats the plain baseline as its paper says it beats its own, whether WGF-DPD
# + VA-pi beats each alone, and whether any tokenizer with a discrete prior sits above the frontier of simply
# shrinking the codebook (PSNR gain at equal rate, intervals from a bootstrap over the seeds of every point). The
# post-trained rows keep their tokenizer (plain's, WGF-DPD's), so on the rate-distortion plane they sit where that
# row sits (the rate moves with the CE only) and get no frontier claim of their own. Each method is judged against
# plain on gFD-clf (with the paper's own two numbers, over its own baseline, checked for direction) and on pFD-clf,
# which sees the prior alone. Intervals: Student t over seeds, paired where two rows share a tokenizer seed by seed
# (a post-trained row and the row whose AR it post-trains), Welch otherwise. The notebook prints how many claims
# it judges; claims.md shows the Holm-adjusted verdict (over all of them) beside each raw one and the minimum
# detectable effect (MDE, 80% power); the frontier claims' intervals come from a bootstrap, have no p-value and keep
# their raw verdict.

# %%
vals = lambda n, k: rows[n].values(k)
order = sorted(rows, key=lambda n: rows[n].mean("val_gfid"))  # chosen on validation (mean over seeds), judged on test
# the best and the runner-up among the methods; each method against plain is a claim of its own below
best, second = [n for n in order if n != "plain"][:2]
print("validation g" + METRIC + " (mean over seeds): " + ", ".join(f"{ROWS[n].label} {rows[n].mean('val_gfid'):.2f}"
                                                                  for n in order))
results["validation_order"] = [[n, rows[n].mean("val_gfid")] for n in order]  # a list: results.json sorts keys
nseed = {"seeds": len(SEEDS), "N": N_EVAL}
ps = lambda n: rows[n].mean("psnr")
# rows on one tokenizer (a post-trained row and the row whose AR it post-trains) share their runs seed by seed: paired
paired = lambda a, b: tok_of[a] == tok_of[b]
verdicts = [
    claims.compare(f"of the methods, the one with the lowest validation g{METRIC} ({ROWS[best].label}, PSNR "
                   f"{ps(best):.2f} dB) has a lower test g{METRIC} than the runner-up on validation "
                   f"({ROWS[second].label}, PSNR {ps(second):.2f} dB)", vals(best, "gfid"), vals(second, "gfid"),
                   better="lower", paper="no paper compares the four", n=nseed, paired=paired(best, second)),
    # each paper's headline on equal terms: its method against the plain two-stage baseline
    *[claims.compare(f"{ROWS[n].label} lowers g{METRIC} against the plain baseline (PSNR {ps(n):.2f} vs "
                     f"{ps('plain'):.2f} dB)", vals(n, "gfid"), vals("plain", "gfid"), better="lower",
                     paper=ROWS[n].paper, n=nseed, paired=paired(n, "plain"), paper_values=PAPER_GFD.get(n))
      for n in rows if n != "plain"],
    # the same on the prior alone: samples against each row's own reconstructions
    *[claims.compare(f"{ROWS[n].label} lowers pFD-clf against the plain baseline", vals(n, "pfd"),
                     vals("plain", "pfd"), better="lower", paper="not reported (pFD-clf is this suite's)", n=nseed,
                     paired=paired(n, "plain")) for n in rows if n != "plain"],
    claims.compare(f"WGF-DPD + VA-pi gives a lower g{METRIC} than WGF-DPD alone", vals("wgf_vapi", "gfid"),
                   vals("wgf_dpd", "gfid"), better="lower", paper="not run by any paper", n=nseed,
                   paired=paired("wgf_vapi", "wgf_dpd")),
    claims.compare(f"WGF-DPD + VA-pi gives a lower g{METRIC} than VA-pi alone", vals("wgf_vapi", "gfid"),
                   vals("vapi", "gfid"), better="lower", paper="not run by any paper", n=nseed,
                   paired=paired("wgf_vapi", "vapi")),
]
gaps = {}
# the rows with a tokenizer of their own (a post-trained row keeps plain's or WGF-DPD's, so its point is theirs)
for n in [n for n in discrete if n != "plain" and not ROWS[n].posttrain]:
    gaps[n] = frontier.bootstrap_gap(sweep, list(zip(vals(n, "rate"), vals(n, "psnr"))), "psnr_gain")
    verdicts.append(claims.threshold(f"{ROWS[n].label} sits above the codebook frontier (PSNR gain at equal rate > 0)",
                                     gaps[n], 0.0, better="higher",
                                     paper="W §5: above the frontier (its claim)" if n == "wgf_dpd" else "not claimed",
                                     n={"seeds": len(SEEDS)}))
results["frontier_gaps"] = gaps
judged = claims.judge(verdicts)
results.update(judged)  # n_claims, claims (table rows: raw and Holm verdicts, MDE), claim_results (full dicts)
print(f"{judged['n_claims']} claims judged (Holm over all {judged['n_claims']}):")
print(save_table(results["claims"], out_dir, "claims"))

# %%
save_results(results, out_dir, provenance=provenance.collect(
    tier=tier, seeds=SEEDS, n={"frechet": N_EVAL}, lpips_in_loss=losses.lpips_in_loss(),
    wall_time_s=time.time() - T0, validation=DATASET))
print(f"reused {len(INVENTORY['reused'])} finished stage runs, trained {len(INVENTORY['to_train'])} here "
      f"({timing.totals()['training'] / 60:.1f} min of training)")
print(f"notebook done in {time.time() - T0:.0f} s; by phase (s): "
      + ", ".join(f"{k} {v:.0f}" for k, v in timing.breakdown(time.time() - T0).items()))
