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

# %% [markdown]
# ## What is compared
#
# **The common frame.** Paper W's Tripartite Variational Consistency (W Theorem 3.1, eq. 1) splits
# $\log p_\theta(x) - \log p_{\rm data}(x)$ into a likelihood, a prior and a posterior consistency term; by
# Corollary 3.2 (case 1) matching the likelihood and the prior is enough. Plain two-stage training does exactly
# that, one stage each: stage 1 fits the decoder by reconstruction (likelihood), stage 2 fits the AR prior
# $p_\theta(z)$ to the frozen encoder's aggregate posterior $q_\phi(z)$ (prior). [00 §5](00_tvc_derivations.ipynb)
# computes this on exact tables (W §3.2, App. D.4). The weak point (W §4.1, P §2.1) is that stage 1 never asks
# whether $q_\phi(z)$ is easy for the AR. Each method attacks that gap from a different place:
#
# * **W, WGF-DPD** (W §4.2-4.6): stage 1 minimises reconstruction + $\mathrm{KL}(q_\phi(z)\,\|\,p_\theta(z))$
#   (eq. 2) jointly with the AR. The encoder receives the particle gradient of eq. 4,
#   $-\nabla_z \log p(x\mid z) + \log \mathbf{Q}_\psi - \log \mathbf{P}_\theta$ (a proxy AR $q_\psi$ tracks $q_\phi(z)$,
#   the target AR is $p_\theta$), passed through the quantizer by prob-STE ($\partial z/\partial h \approx I$ on the
#   softmax of the VQ distance logits, §4.5; Algorithm 1). It changes the **tokenizer**. Tested alone in
#   [02](02_wartok.ipynb).
# * **F, flow-prior alignment** (F §4.1, eq. 5; §4.3, Prop. 1): a flow is trained by flow matching on (randomly
#   projected) target features and frozen; the autoencoder's continuous latents then pay that flow-matching loss
#   with the latent in the place of the data point, a tractable proxy for maximising a lower bound on the latents'
#   log-likelihood under the flow. It changes the **latent space** (continuous, no quantizer) and, with it, the
#   generator (here a causal AR with a per-token flow head).
#   Tested alone in [03](03_flow_prior_autoencoders.ipynb).
# * **P, Prologue** (P §2, eq. 2, 4): a few extra tokens, quantized on their own codebook and never decoded, are
#   prepended to the visual ones and trained by the AR's cross-entropy only (Prob-STE routes it to them, §2.2). The
#   AR then fits the visual tokens conditionally on the prologue instead of their marginal. It adds **an auxiliary
#   latent for the prior**, and leaves reconstruction to the visual tokens. Tested alone in [04](04_prologue.ipynb).
# * **V, VA-pi** (paper V): after stage 2, the AR is post-trained as a policy (GRPO) with a pixel reward, minus
#   the reconstruction error of its decoded tokens, regularised by the teacher-forced CE and a KL to the base AR
#   (V's ELBO). The tokenizer is untouched: it changes the **generator** only. Tested alone in [05](05_vapi.ipynb).
#
# **Why a shared setting.** Each paper's headline (the "paper's own gain" column) is over its own baseline, on its
# own data (CIFAR-10 or ImageNet), at its own sizes and budgets: the four gains are not in one unit and cannot be
# ranked. Only with the same data, backbone, AR, step budget, seeds and metrics can one ask which method helps
# most, whether each helps at all against the same plain baseline, and whether a tokenizer-side method (W) and a
# generator-side one (V) add up.

# %% [markdown]
# ## Glossary of the table's columns
#
# * **rFD-clf** (reconstruction): Fréchet distance, in the features of the suite's Fashion-MNIST classifier,
#   between the test images and the tokenizer's reconstructions of them. The tokenizer alone; lower is better.
#   (With cached Inception weights rFD and gFD are FIDs instead, and their columns say so.) **PSNR**: the same
#   reconstructions in dB, higher is better.
# * **gFD-clf** (generation): N samples of the whole pipeline (prior, then decoder) against N test images. What a
#   user sees; it carries both the prior's error and the decoder's.
# * **pFD-clf** (prior-isolating): the same samples against the tokenizer's own reconstructions of the test
#   images. A perfect prior decodes exactly to the reconstructions' law, so pFD-clf sits at its finite-N floor
#   whatever the decoder: it sees the prior alone. **gFD - rFD** (same seed) is a cruder version of the same idea.
# * **gLoss**: the generator's held-out cross-entropy, nats per token; **rate** = gLoss x sequence length, nats per
#   image, what the prior pays to describe one image (the x-axis of Fig. X1). Paper F's row has a flow-matching
#   loss instead, in no such unit.
# * **precision / recall**: the share of samples that fall near real images (fidelity) and of real images near
#   samples (coverage), in the same classifier features.
# * **t intervals over seeds**: every cell is the mean over `n_seeds` independent seeds with its 95% Student-t
#   interval ("t, n seeds"); one seed gives none. Claims use paired t where two rows share a tokenizer seed by seed,
#   Welch's t otherwise.
# * **MDE** (minimum detectable effect): the smallest true difference the test had 80% power to see with these
#   seeds. An "inconclusive" verdict with an MDE larger than the paper's effect says the comparison was too small
#   to tell, not that the effect is absent.
# * **Holm**: the Holm adjustment over all the notebook's claims (many claims, some hold by chance); claims.md
#   shows the raw and the adjusted verdict side by side. Verdicts are "holds", "does not hold" or "inconclusive".

# %% [markdown]
# ## Parameters
#
# The tier sets the scale (smoke: seconds, a check that everything runs; cpu: the suite's findings; paper: renders
# torchrun run directories). `n_seeds` is the number of seeds behind every Table X1 interval.

# %% tags=["parameters"]
tier: str = "cpu"  # smoke | cpu | paper; paper prints the torchrun commands and renders run directories only
seed: int = 0  # first seed
n_seeds: int = 5  # seeds of every Table X1 row (the headline claims compare them all)
n_seeds_sweep: int = 3  # seeds of each frontier-sweep point
out_dir: str = "figures/06_cross_paper"  # figures, tables and results.json
n_eval: int = 0  # images per Fréchet estimate; 0 picks the tier default

# %% [markdown]
# ## Setup
#
# Imports, then the tier's protocol (`evaluation.tier_setup`): the seeds, the bootstrap resamples, the classifier
# whose features every FD-clf uses, and N, the images per Fréchet estimate.

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns
import torch

from tvclab import claims, crosspaper, data, evaluation, losses, paths, provenance, timing
from tvclab.report import save_figure, save_results, save_table
from tvclab.tiers import get as get_tier

# %%
TIER = get_tier(tier)  # the tier's seeds, N and settings (tvclab.tiers)
sns.set_theme(style="whitegrid", context="notebook")
torch.manual_seed(seed)
T0 = time.time()
timing.reset()
RUN_TIER, SMOKE, SEEDS, BOOT, CLF = evaluation.tier_setup(tier, seed, n_seeds)
N_EVAL = n_eval or TIER.n_frechet
SEEDS_REST = evaluation.tier_setup(tier, seed, n_seeds_sweep).seeds  # the same rule, fewer seeds (smoke: 2)

# %% [markdown]
# ### The settings other notebooks chose on validation
#
# WGF-DPD's weight and target temperature come from notebook 02's search, VA-pi's learning rate from notebook
# 05's, both on the validation split and only if those notebooks ran at this tier (else the presets). Look at the
# printed line to see which applies.

# %%
wgf = crosspaper.chosen_in("02_wartok", "wgf_search", tier, paths.FIGURES)
lr = crosspaper.chosen_in("05_vapi", "lr_search", tier, paths.FIGURES)
WGF_SETS, POST_SETS = crosspaper.chosen_sets(wgf, lr)
print(crosspaper.describe_choices(wgf, lr))

# %% [markdown]
# ### The rows, and the check that they share one backbone
#
# `crosspaper.check_backbone` raises if any row's data, tokenizer shape, AR shape or step budget differs from
# plain's; the printed line is that shared backbone.

# %%
ROWS = crosspaper.methods(WGF_SETS, POST_SETS)
SHARED = crosspaper.check_backbone(ROWS, RUN_TIER)  # raises if any row's backbone differs
DATASET = SHARED["data.dataset"]
print(f"tier {tier}: shared backbone " + ", ".join(f"{k}={v}" for k, v in SHARED.items()) + f"; seeds {SEEDS}; "
      f"Fréchet N = {N_EVAL}")

# %% [markdown]
# ### The codebook sweep, and what this run reuses
#
# Fig. X1's reference is the plain baseline with smaller codebooks (notebook 02's sweep sizes, reused). The
# inventory lists every stage run the rows and the sweep need: those already finished by notebooks 02-05 are
# reused, the rest train here.

# %%
K0, SWEEP_K, SWEEP = crosspaper.codebook_sweep(RUN_TIER, SMOKE)
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
# these commands produce the run directories this notebook renders with `tier = "paper"`. Read the parameter
# columns down the rows: the encoder and decoder nearly agree (one backbone; Prologue's encoder also carries its
# prologue queries and codebook), and the generator grows where a method adds to what it models (F's per-token flow
# head, P's prologue tokens and their codebook). A post-trained row lists the stage-1 and stage-2 commands it shares
# with the row it post-trains, then its own posttrain command.

# %%
print(save_table(crosspaper.paper_tier_commands(ROWS), out_dir, "paper_tier_commands", digits=1))

# %% [markdown]
# ## Table X1: every method, its reconstruction, its generation, its rate and its cost
#
# Every row: `n_seeds` seeds (5 at the cpu tier), test-split numbers, Student-t intervals over seeds ("t, n
# seeds"). **pFD-clf** is the FD-clf of the samples against the tokenizer's own reconstructions of the same test
# images: zero (up to its finite-N floor) for a perfect prior, whatever the decoder, so it sees the prior where
# gFD-clf also carries the decoder's error; gFD - rFD (same seed) stands beside it. gLoss is the generator's
# held-out cross-entropy in nats per token (over prologue and visual tokens for Prologue) and per image; the
# flow-prior row's generator has a flow-matching loss instead (no nats). Paper-reported gains are over each
# paper's own baseline, on its own data.
#
# First the reference images: N test images (every test column) and a validation set of its own, on which the
# "best method" claim chooses.

# %%
if not TIER.trains_inline and INVENTORY["to_train"]:  # paper-sized runs come from torchrun (the commands above), not from here
    raise SystemExit(f"paper tier: {len(INVENTORY['to_train'])} stage runs are missing ({INVENTORY['to_train'][0]}, ...); "
                     "produce them with the torchrun commands printed above, then rerun this notebook")
real_test = evaluation.reference_images(DATASET, "test", N_EVAL, image_size=SHARED["data.image_size"])
real_val = evaluation.reference_images(DATASET, "val", min(N_EVAL, data.validation_split(DATASET)["size"]),
                                       image_size=SHARED["data.image_size"])

# %% [markdown]
# ### Training (or reusing) and scoring every row
#
# `crosspaper.RowEvaluator` computes one seed's numbers: the generator (the post-trained AR for the VA-pi rows),
# the reconstructions and rFD-clf (kept per tokenizer, so the VA-pi rows reuse plain's and WGF-DPD's), N samples
# and gFD-clf, pFD-clf and gFD - rFD, validation gFD-clf on samples of their own seed, gLoss and rate, step times
# and parameter counts. The printed lines are each row's training commands.

# %%
EVAL = crosspaper.RowEvaluator(ROWS, RUN_TIER, real_test, real_val, DATASET, CLF, BOOT, N_EVAL)
rows = crosspaper.evaluate_rows(ROWS, RUN_TIER, SEEDS, EVAL)
METRIC, PR = crosspaper.metric_names(rows)  # "FD-clf" (or "FID"), and the precision / recall columns
tok_of = crosspaper.stage1_owner(ROWS, RUN_TIER)  # the row whose tokenizer each row uses

# %% [markdown]
# ### The cost column
#
# A stage-1 training step of each tokenizer against the plain baseline's, timed side by side in this process
# (`tvclab.bench.step_ratio`: rounds over the tokenizers, the order reversed every other round, the median of each
# round's ratio). The step times the runs recorded are kept in results.json but were taken at different times; at
# the paper tier, where nothing paper-sized is built inline, they stand in. The post-trained rows use their
# tokenizer's ratio and add the seconds of post-training. Look for the price of each method's extra stage-1 work
# (WGF-DPD's proxy and target ARs, P's joint AR, F's alignment loss under the frozen flow).

# %%
COST = crosspaper.stage1_cost(rows, ROWS, tok_of, RUN_TIER, TIER.trains_inline, SMOKE, seed)
print(crosspaper.describe_cost(COST, ROWS))
results["stage1_step"] = COST

# %% [markdown]
# ### The table
#
# Read it column group by column group: rFD-clf and PSNR say what each tokenizer keeps; gFD-clf what the whole
# pipeline generates; pFD-clf whether the prior, on its own tokenizer, got better; rate what the prior pays per
# image. A method that lowers gFD-clf while raising rFD-clf trades reconstruction for generation; compare each
# interval with plain's before reading a difference.

# %%
tableX1 = crosspaper.table_x1(rows, ROWS, COST, tok_of, METRIC, PR)
results["rows"] = crosspaper.results_rows(rows, ROWS, RUN_TIER)
print(save_table(tableX1, out_dir, "tableX1_cross_paper", digits=3))
print(f"Table X1 done after {time.time() - T0:.0f} s")

# %% [markdown]
# ## Fig. X1: the rate-distortion plane, and generation against reconstruction
#
# Left: PSNR against the prior's rate (nats per image) for the rows with a discrete prior, with the frontier that
# simply shrinking the plain baseline's codebook draws (notebook 02's sweep, reused). Right: gFD-clf against PSNR for
# every row. Means over seeds, bars the seed intervals.
#
# The sweep points first: the smaller codebooks' logged test rows, and plain's own row at full size K0.

# %%
sweep = crosspaper.codebook_frontier(SWEEP, SWEEP_K, RUN_TIER, SEEDS_REST, rows["plain"], SHARED["tokenizer.n_tokens"],
                                     K0)
results["frontier_sweep"] = {str(k): v for k, v in sweep.items()}

# %% [markdown]
# How to read it. Left: up and to the left is better (more PSNR for fewer nats); a point above the dashed line
# keeps more of the image than a smaller codebook would at the same rate, which is paper W's claim for WGF-DPD. A
# post-trained row has its tokenizer's PSNR; only its rate moves, with the post-trained AR's cross-entropy. Right:
# down and to the right is better; a method that moves down at the same PSNR improved generation without touching
# reconstruction (the VA-pi rows' only possible move).

# %%
fig, ax = plt.subplots(1, 2, figsize=(12, 4.4))
fr = crosspaper.frontier_line(sweep)
ax[0].plot([f[0] for f in fr], [f[1] for f in fr], "k--", lw=1, label="codebook frontier (plain, K = "
           + ", ".join(str(f[2]) for f in fr) + ")")
for i, n in enumerate(rows):
    s, c = rows[n].summary, f"C{i}"
    if "rate" in s:  # a discrete prior: a point on the rate-distortion plane
        ax[0].errorbar(s["rate"]["mean"], s["psnr"]["mean"], xerr=crosspaper.seed_err(s["rate"]),
                       yerr=crosspaper.seed_err(s["psnr"]), fmt="o", c=c, label=ROWS[n].label)
    ax[1].errorbar(s["psnr"]["mean"], s["gfid"]["mean"], yerr=crosspaper.seed_err(s["gfid"]), fmt="o", c=c,
                   label=ROWS[n].label)
ax[0].set(xlabel="rate: gLoss x tokens (nats / image, test)", ylabel="PSNR (dB, test)", title="rate-distortion")
ax[1].set(xlabel="PSNR (dB, test)", ylabel=f"g{METRIC} (N = {N_EVAL}, test)", title="generation vs reconstruction")
ax[0].legend(fontsize=7)
ax[1].legend(fontsize=7)
fig.suptitle(f"Fig. X1 at the {tier} tier: the four methods on one backbone ({len(SEEDS)} seeds)")
fig.tight_layout()
save_figure(fig, out_dir, "figX1_rate_distortion")
plt.show()

# %% [markdown]
# ## Fig. X2: samples, same seeds, one row per method
#
# Ten samples of the first seed per method. The numbers above are the evidence; the images show what kind of
# failure a number hides (blur, repeated classes, broken strokes). The VA-pi rows share plain's and WGF-DPD's
# tokenizer, so a difference between them is the post-trained AR's alone.

# %%
fig, ax = plt.subplots(len(rows), 10, figsize=(10, 1.1 * len(rows) + 0.4), squeeze=False)
for i, n in enumerate(rows):
    imgs = EVAL.samples[(n, SEEDS[0])]
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
#
# First the selection: the rows ordered by validation gFD-clf (printed), the test split untouched by it.

# %%
order = crosspaper.validation_order(rows)  # chosen on validation (mean over seeds), judged on test
print("validation g" + METRIC + " (mean over seeds): " + ", ".join(f"{ROWS[n].label} {rows[n].mean('val_gfid'):.2f}"
                                                                  for n in order))
results["validation_order"] = [[n, rows[n].mean("val_gfid")] for n in order]  # a list: results.json sorts keys

# %% [markdown]
# Then the claims on the test split (`crosspaper.headline_claims`: best against runner-up, each method against
# plain on gFD-clf and on pFD-clf, the combination against each part) and the frontier claims
# (`crosspaper.frontier_claims`), judged together. In the printed table, read the verdict with its MDE: an
# "inconclusive" row whose MDE is larger than the effect the paper reports was too small a test to decide.

# %%
verdicts = crosspaper.headline_claims(rows, ROWS, tok_of, METRIC, {"seeds": len(SEEDS), "N": N_EVAL}, order)
gaps, frontier_verdicts = crosspaper.frontier_claims(rows, ROWS, sweep, len(SEEDS))
results["frontier_gaps"] = gaps
judged = claims.judge(verdicts + frontier_verdicts)
results.update(judged)  # n_claims, claims (table rows: raw and Holm verdicts, MDE), claim_results (full dicts)
print(f"{judged['n_claims']} claims judged (Holm over all {judged['n_claims']}):")
print(save_table(results["claims"], out_dir, "claims"))

# %% [markdown]
# ## Provenance
#
# results.json records the tier, seeds, N, whether LPIPS was in the loss and the versions; the last lines say what
# was reused and where the time went.

# %%
save_results(results, out_dir, provenance=provenance.collect(
    tier=tier, seeds=SEEDS, n={"frechet": N_EVAL}, lpips_in_loss=losses.lpips_in_loss(),
    wall_time_s=time.time() - T0, validation=DATASET))
print(f"reused {len(INVENTORY['reused'])} finished stage runs, trained {len(INVENTORY['to_train'])} here "
      f"({timing.totals()['training'] / 60:.1f} min of training)")
print(f"notebook done in {time.time() - T0:.0f} s; by phase (s): "
      + ", ".join(f"{k} {v:.0f}" for k, v in timing.breakdown(time.time() - T0).items()))
