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
# # 05 · VA-π: pixel-space post-training of the AR generator (paper V)
#
# A two-stage generator is trained in token space: the AR prior maximises the likelihood of the tokenizer's
# tokens, and nothing asks whether the images its tokens decode to look like the data. Paper V (VA-π) post-trains
# only the AR, with the frozen tokenizer's decoder in the loop. It reads the token sequence as a latent variable of
# the image and maximises an ELBO whose reconstruction term is optimised by reinforcement learning (GRPO) and whose
# prior term keeps the AR's token-level likelihood (V §3; the values are the authors' code's):
#
# 1. **Contextual noise.** Each ground-truth token of the image is replaced by a random code with probability
#    $\xi$ (0.5), and the AR's teacher-forced logits on that noised prefix define the policy $\pi_\theta(\cdot \mid
#    \tilde x_{<t})$ at every position.
# 2. **Group.** $G = 8$ sequences are drawn from those logits (every position at once, no free-running rollout) and
#    decoded by the frozen decoder.
# 3. **Reward.** $r = -(\mathrm{MSE} + \mathrm{LPIPS})$ against the image; advantages are normalised within the
#    group, $A = (r - \bar r_G) / \sigma_G$, and clipped at 5.
# 4. **Loss.** The PPO-clipped per-token ratio (0.2) against the pre-update logits, plus $\beta = 0.1$ times the
#    teacher-forced cross-entropy (the prior regulariser), plus an optional $0.01\,\mathrm{KL}(\pi_\theta \|
#    \pi_{\mathrm{base}})$.
#
# Paper V reports the gain on LlamaGen without classifier-free guidance: XL 15.55 → 9.23 FID, XXL 14.36 → 7.65,
# from about 1% of ImageNet and 25 minutes of tuning. Its ablations say that dropping the prior term, or using the
# reconstruction reward alone, degrades the result, and that modest contextual noise helps.
#
# Here the AR is notebook 02's: the stage-2 prior of the 1D baseline (`runs/<tier>/baseline_1d`), reused, not
# retrained. `python -m tvclab.train posttrain` (`tvclab.train.posttrain`) writes each post-trained AR beside it.

# %% [markdown]
# ## The method
#
# What this notebook tests is paper V's claim that a short post-training of the AR alone, scored in pixel space
# through the frozen decoder, improves generation without guidance. Paper V's stored text numbers no equations, so
# the citations below are to its §3 (the method) and to the authors' code, which `tvclab.train.posttrain` follows.
#
# **The ELBO (V §3).** Let $I$ be an image, $x = (x_1, \dots, x_n)$ its token sequence, $\pi_\theta$ the AR and
# $p_\phi(I \mid x)$ the frozen decoder. The AR run teacher-forced on the (noised) ground-truth prefix defines a
# posterior $q_{\psi,\theta}(x \mid I) = \prod_t \pi_\theta(x_t \mid \tilde x_{<t})$, and
#
# $$\log p(I) \;\ge\; \underbrace{\mathbb E_{x \sim q_{\psi,\theta}(x \mid I)} \log p_\phi(I \mid x)}_{\text{reconstruction: the reward}}
#   \;-\; \underbrace{\mathrm{KL}\big(q_{\psi,\theta}(x \mid I) \,\|\, \pi_\theta(x)\big)}_{\text{prior: regularised}}.$$
#
# The gap of this bound is the posterior gap $\mathrm{KL}(q(x \mid I) \,\|\, p(x \mid I))$ of
# [00 §3](00_tvc_derivations.ipynb), and two-stage training, which this post-training starts from, is the TVC
# instance of [00 §5](00_tvc_derivations.ipynb).
#
# **The reconstruction term by GRPO.** The tokens are discrete, so no gradient flows through the draw. For each
# image, $G$ sequences $x^{(i)} \sim q_{\psi,\theta}(\cdot \mid I)$ are decoded and scored,
# $r_i = -\big(\mathrm{MSE} + \mathrm{LPIPS}\big)\big(D(x^{(i)}), I\big)$. The group-normalised advantage is
# $A_i = \mathrm{clip}\big((r_i - \bar r) / \sigma_r, -5, 5\big)$ (`losses.group_advantages`), and the policy loss
# is PPO's clipped surrogate per token (`losses.clipped_policy_loss`)
#
# $$\mathcal L_{\rm policy} = -\frac{1}{Gn}\sum_{i=1}^{G}\sum_{t=1}^{n}\min\Big(\rho_{i,t}A_i,\;
#   \mathrm{clip}(\rho_{i,t}, 1-\epsilon, 1+\epsilon)\,A_i\Big), \qquad
#   \rho_{i,t} = \frac{\pi_\theta(x^{(i)}_t \mid \tilde x_{<t})}{\pi_{\theta_{\rm old}}(x^{(i)}_t \mid \tilde x_{<t})},
#   \quad \epsilon = 0.2.$$
#
# With one optimiser step per batch (the authors' setting) $\rho = 1$ where the gradient is taken, and the gradient
# is REINFORCE with the group mean as baseline, $-\frac{1}{Gn}\sum_{i,t} A_i \nabla_\theta \log
# \pi_\theta(x^{(i)}_t \mid \tilde x_{<t})$.
#
# **The prior term and the KL.** The prior term is kept by the teacher-forced cross-entropy of the clean tokens
# given the noised prefix, and an optional KL to the frozen stage-2 AR $\pi_{\rm base}$, taken per position over the
# whole vocabulary:
#
# $$\mathcal L = \mathcal L_{\rm policy} + \beta\,\underbrace{\Big(-\frac1n\sum_t \log \pi_\theta(x_t \mid \tilde x_{<t})\Big)}_{\text{CE}}
#   + k\,\frac1n\sum_t \mathrm{KL}\big(\pi_\theta(\cdot \mid \tilde x_{<t}) \,\|\, \pi_{\rm base}(\cdot \mid \tilde x_{<t})\big),
#   \qquad \beta = 0.1,\; k = 0.01.$$
#
# Here $\tilde x$ is $x$ with each id replaced by a uniform random code with probability $\xi = 0.5$ (contextual
# noise, V §3: the AR learns to continue from imperfect prefixes, as it must when it samples freely). The ablations
# below remove the pieces one at a time: $\beta = 0$ (no prior term), $\beta = 0$ and $k = 0$ (the reward alone),
# and $\xi = 0$.

# %% tags=["parameters"]
tier: str = "cpu"  # smoke | cpu | paper; paper renders run directories only
seed: int = 0  # first seed (and the sample draws of each seed)
n_seeds: int = 5  # seeds of the main before/after comparison (the headline; smoke: 2)
n_seeds_rest: int = 3  # seeds of the per-rate rows and the ablations (paired with "before" seed by seed)
out_dir: str = "figures/05_vapi"  # figures, tables and results.json
n_eval: int = 0  # images per Fréchet estimate; 0 picks the tier default

# %%
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns
import torch
import torch.nn.functional as F

from tvclab import claims, configs, data, evaluation, losses, metrics, provenance, tiers, timing, train
from tvclab.report import save_figure, save_results, save_table
from tvclab.studies import vapi as study
from tvclab.train.posttrain import contextual_noise, sample_from_logits

# %% [markdown]
# The tier decides the presets, the seeds and the Fréchet N (`tvclab.tiers`). The learning-rate grid and the
# $\beta$ sweep shrink to one value at the smoke tier, which runs the same cells on the fewest runs that exercise
# them, so its numbers test the code, not the paper.

# %%
TIER = tiers.get(tier)  # the tier's seeds, N and settings (tvclab.tiers)
sns.set_theme(style="whitegrid", context="notebook")
torch.manual_seed(seed)
T0 = time.time()
timing.reset()
RUN_TIER, SMOKE, SEEDS, BOOT, CLF = evaluation.tier_setup(tier, seed, n_seeds)  # presets, seeds, resamples, FD-clf
N_EVAL = n_eval or TIER.n_frechet  # cpu: notebook 02's N (the same "before"
# number); paper: the whole CIFAR-10 test split (FID-50K needs 50k reference images, more than a test split holds)
NAME = "baseline_1d"
base_cfg = configs.get(NAME, RUN_TIER)
DATASET = base_cfg.data.dataset  # Fashion-MNIST below the paper tier, CIFAR-10 at it (W's preset)
pc = base_cfg.posttrain
# learning rates searched on the validation split (the authors' 1e-6 included, so its effect at this scale is shown)
LRS = [1e-3] if SMOKE else [1e-6, 1e-5, 1e-4, 1e-3]
BETAS = [0.0] if SMOKE else [0.0, 0.03, 0.1, 0.3, 1.0]
PAPER = study.PAPER  # V: FID without CFG, before -> after: LlamaGen-XL 15.55 -> 9.23, XXL 14.36 -> 7.65
results: dict = {"tier": tier, "seeds": SEEDS, "dataset": DATASET, "n_eval": N_EVAL, "config": NAME,
                 "validation_split": data.validation_split(DATASET)}
print(f"tier {tier}: post-training {pc.optim.steps} steps x {pc.optim.batch_size} images, G = {pc.group_size}, "
      f"clip {pc.clip}, advantage clip {pc.advantage_clip}, beta {pc.ce_weight}, KL {pc.kl_weight}, xi {pc.noise}; "
      f"Fréchet N = {N_EVAL}; seeds {SEEDS}; learning rates searched {LRS}")
if not TIER.trains_inline:
    print("paper tier: this notebook renders existing run directories; it does not train paper-tier models inline.")

# %% [markdown]
# ### A worked example: one GRPO step's loss on tiny tensors
#
# Two images of three tokens from a vocabulary of five, $G = 4$ draws each, a made-up AR's logits on the noised
# prefix, and a stand-in reward (minus the squared distance of the drawn ids to the true ones: the "decoder" here
# is the identity). The cell calls the same functions one post-training step calls (`tvclab.train.posttrain`,
# `tvclab.losses`). What to look for: the advantages have mean 0 and standard deviation 1 within each group, and
# the policy loss is about 0 in value at $\rho = 1$ (the advantages cancel), yet its gradient is not 0. The
# gradient pushes up the log-probability of the better draws. The cell draws from its own `torch.Generator`, so
# later cells see the same global random state as without it.

# %%
g = torch.Generator().manual_seed(0)
B, G, n, V = 2, 4, 3, 5
tokens = torch.randint(V, (B, n), generator=g)  # the images' ground-truth ids
noisy = contextual_noise(tokens, torch.rand(B, n, generator=g), torch.randint(V, (B, n), generator=g), xi=0.5)
logits = torch.randn(B, n, V, generator=g, requires_grad=True)  # a pretend AR's logits on the noised prefix
seqs = sample_from_logits(logits, torch.rand(B, G, n, generator=g))  # G draws per image: [B, G, n]
reward = -(seqs - tokens[:, None]).float().pow(2).mean(-1)  # stand-in for -(MSE + LPIPS) of the decoded draws
adv = losses.group_advantages(reward, clip=5.0)
logp_all = F.log_softmax(logits, -1)
logp = logp_all[:, None].expand(-1, G, -1, -1).gather(-1, seqs[..., None]).squeeze(-1)  # [B, G, n]
policy = losses.clipped_policy_loss(logp, logp.detach(), adv[..., None], clip=0.2)  # one update: old = current
ce = losses.ar_cross_entropy(logits, tokens)  # the prior term: clean ids given the noised prefix
kl = (logp_all.exp() * (logp_all - F.log_softmax(torch.randn(B, n, V, generator=g), -1))).sum(-1).mean()
print("ids", tokens.tolist(), "-> noised prefix", noisy.tolist())
print("rewards", [[round(v, 2) for v in r] for r in reward.tolist()], "\nadvantages", [[round(v, 2) for v in a] for a in adv.tolist()])
print(f"per group: |mean| <= {adv.mean(1).abs().max():.0e}, sd {[round(v, 3) for v in adv.std(1).tolist()]}")
grad = torch.autograd.grad(policy, logits, retain_graph=True)[0]
print(f"policy {policy:.1e} (ratio 1: the advantages cancel), |d policy / d logits| = {grad.norm():.3f}")
print(f"loss = {policy:.3f} + {pc.ce_weight:g} x CE {ce:.3f} + {pc.kl_weight:g} x KL {kl:.3f} = "
      f"{policy + pc.ce_weight * ce + pc.kl_weight * kl:.3f}")

# %% [markdown]
# ## Settings and protocol at this tier
#
# The AR is notebook 02's cpu-tier stage-2 prior of the 1D baseline (3 layers, width 128, over 8 tokens from a
# 256-code tokenizer on Fashion-MNIST; 300 steps of 128 images), one per seed, reused from `runs/cpu/`. Post-training
# reads 100 steps x 128 = 12,800 training images (23% of the 55,000-image training rest; paper V's 1% is of
# ImageNet's 1.28M) with the authors' G, clips, beta, KL weight and xi. **One change from the authors' values:**
# the learning rate. Their 1e-6 is the value for LlamaGen's 775M-1.4B parameters; the rate for the 0.56M-parameter AR here
# is chosen here on the validation split from a stated grid (1e-6 included). The reward is MSE + LPIPS where the LPIPS weights (VGG16)
# are cached, MSE alone otherwise, and results.json says which. Without Inception weights every Fréchet number is
# **FD-clf** (the Fréchet distance in the suite's Fashion-MNIST classifier features): compare across our rows only.
#
# **Protocol** (`tvclab.evaluation`). The learning rate is chosen by the validation gFD-clf (samples against the
# first N validation images); every reported number is on the test split: gFD-clf, precision and recall of N
# samples (temperature 1, no top-k, no guidance, the seed's fixed draw) against the first N test images, and the
# AR's teacher-forced cross-entropy on held-out test tokens. **pFD-clf** (prior-isolating): the same N samples
# against the tokenizer's own reconstructions of the same N test images (per seed, its own tokenizer); it is zero
# for a perfect prior whatever the decoder, and since post-training leaves the tokenizer alone, "before" and
# "after" share the reconstructions and the decoder. The main comparison has `n_seeds` seeds (5 at the cpu tier;
# each its own tokenizer, AR and post-training) with Student-t intervals over seeds ("t, n seeds"); the per-rate
# rows and the ablations have `n_seeds_rest` seeds (3 at the cpu tier), each paired with "before" or with its
# rate's plain post-training seed by seed. Verdicts come from `tvclab.claims`, with
# a Holm adjustment over all the notebook's claims.
#
# The next cell fixes the reference images and builds the `Study` every measurement goes through
# (`tvclab.studies.vapi`): `lab.before_runs` finds (or trains) notebook 02's stage-1 and stage-2 runs of a seed,
# `lab.posttrain_run` the post-training beside them, `lab.generation` one AR's test numbers, and
# `lab.tokenizer_prior` a seed's reconstructions for pFD-clf.

# %%
real_test = evaluation.reference_images(DATASET, "test", N_EVAL, image_size=base_cfg.data.image_size)
N_VAL = min(N_EVAL, data.validation_split(DATASET)["size"])  # the validation split may be smaller than N_EVAL
real_val = evaluation.reference_images(DATASET, "val", N_VAL, image_size=base_cfg.data.image_size)
lab = study.Study(NAME, base_cfg, RUN_TIER, TIER.trains_inline, DATASET, CLF, BOOT, real_test, real_val,
                  val_sample_seed=10_000)  # validation draws differ from the reported ones
before = {s: lab.before_runs(s) for s in SEEDS}
PRIOR = {s: lab.tokenizer_prior(before[s][0], s) for s in SEEDS}
print(f"stage-1/stage-2 runs ready after {time.time() - T0:.0f} s")

# %% [markdown]
# ## Choosing the learning rate on the validation split
#
# One post-training run per rate of the grid, seed `SEEDS[0]`; the criterion is the validation gFD-clf of its
# samples (lower is better), beside the stage-2 AR's own ("before"). The chosen rate is used for every row below.
# How to read the table: the first row is the AR before post-training. A rate is useful only if its validation
# gFD is below that row's. The reward and CE columns show what the rate did to the two terms of the objective
# (the reward up is better, the CE should not climb far).

# %%
s0 = SEEDS[0]
val_before = lab.generation(before[s0][1], real_val, lab.val_sample_seed)
lr_rows, lr_runs = study.lr_search(lab, before[s0][1], s0, LRS, val_before)
LR = study.chosen_lr(lr_rows, LRS)
METRIC = metrics.METRIC_LABELS[val_before["metric"]]
print(save_table(lr_rows, out_dir, "lr_search_validation", digits=4))
print(f"chosen on validation: posttrain.optim.lr = {LR:g} (val g{METRIC} "
      f"{min(r['val gFD'] for r in lr_rows[1:] if r['val gFD'] is not None):.3f}"
      f" vs {val_before['gfid']:.3f} before)")
results["lr_search"] = {"rows": lr_rows, "chosen": LR, "criterion": f"validation g{METRIC} (N = {N_VAL})"}
LR_SETS = study.lr_sets(LR)
LR_MOVE = study.moving_lr(lr_rows)  # the rate with the best validation reward: the one that moves the AR
print(f"the rate that moves the AR most toward its reward (best validation reward): {LR_MOVE:g}")
results["lr_search"]["moving"] = LR_MOVE

# %% [markdown]
# ## Main table: before and after, no guidance
#
# For every seed: the stage-2 AR ("before") and its post-trained copy at the chosen rate ("after"), on the test
# split. Means over seeds with 95% Student-t intervals; pFD-clf against the seed's own reconstructions; paper V's LlamaGen FIDs beside (ImageNet 256: not
# comparable in value, only in direction and size of the change). How to read it: compare the two rows column by
# column. V's claim is a lower gFD after. A lower pFD-clf says the gain is the prior's, since the decoder did not
# change. A test CE that barely moves says the prior term held the AR near its token-level likelihood. Intervals
# are over seeds (unpaired here); the paired claims at the end are the sharper test.

# %%
after = {s: lab.posttrain_run(s, LR_SETS) for s in SEEDS}
per_seed, grids = study.before_after(lab, before, after, PRIOR, s0)
summary = study.summaries(per_seed)
main_table = study.main_table(summary, len(SEEDS), METRIC, PAPER)
print(save_table(main_table, out_dir, "table1_before_after", digits=4))
results["main"] = {"per_seed": per_seed, "summary": summary, "lr": LR,
                   "paper_fid_without_cfg": {k: {"before": a, "after": b} for k, (a, b) in PAPER.items()}}

# %% [markdown]
# ## Every searched rate against "before" on the test split (`n_seeds_rest` seeds, paired)
#
# The search above reads the validation split and picks a rate; this is its finding. Each rate's post-trained AR
# against "before" on the test split, the same seeds on both sides (the search's runs of the first seed reused),
# so each rate gets a paired verdict in the claims below. Read it as a dose-response: if the gFD falls and then
# rises across the rates, the search had a real optimum to find; if every rate sits at or above "before", no rate
# of the grid helps at this scale. The authors' 1e-6 row shows what their rate does to a model of this size (the
# smoke tier searches one rate only). Two rates matter below: the one chosen by validation gFD (`LR`), and the one
# with the best validation reward (`LR_MOVE`), which moves the AR most toward what post-training optimises.

# %%
SEEDS3 = SEEDS[:n_seeds_rest]
before3 = [m for m in per_seed["before"] if m["seed"] in SEEDS3]
lr_test = study.rates_on_test(lab, sorted(lr_runs), SEEDS3, LR, per_seed, PRIOR)
lr_table = study.rates_table(lr_test, before3, METRIC)
print(save_table(lr_table, out_dir, "table3_rates_test", digits=4))
results["lr_test"] = {f"{lr:g}": rows for lr, rows in lr_test.items()}

# %% [markdown]
# The "before" numbers are notebook 02's: the same stage-2 run, N, reference images and sample seed. When notebook
# 02's results.json at this tier is present, the next cell compares them (`study.matches_notebook_02`); the
# largest difference should be 0, or at rounding level.

# %%
check = study.matches_notebook_02(Path(out_dir).parent / "02_wartok" / "results.json", tier, N_EVAL, per_seed["before"])
if check is not None:
    print(f"before vs notebook 02 (seeds {check['seeds']}): largest difference {check['max_abs_difference']}")
else:
    print("notebook 02's results.json at this tier and N is not there: nothing to compare")
results["before_matches_02"] = check

# %% [markdown]
# ## Ablations and the objective as the authors run it (`n_seeds_rest` seeds, paired)
#
# V's three ablations, at the chosen rate and at the rate that moves the AR: no contextual noise ($\xi = 0$), no
# prior term ($\beta = 0$, KL kept), the reconstruction reward alone ($\beta = 0$ and no KL). At the moving rate
# also the $\beta$ sweep and four variants of the objective (`study.objective_sets`):
#
# * **k3**: GRPO's estimator of the KL on the G sampled tokens, $\frac{\pi_{\rm base}}{\pi} - \log
#   \frac{\pi_{\rm base}}{\pi} - 1$, which the authors' code uses; ours by default is the exact KL summed over the
#   vocabulary. They agree in expected value, not in expected gradient (`losses.k3_kl`).
# * **several updates per batch**: with one optimiser step per sampled batch (the authors' setting) the PPO ratio is
#   1 wherever the gradient is taken, so the clip at 0.2 never binds; with several, the later updates take the ratio
#   against the first one's log-probabilities and the clip can act. (The advantage clip at 5 can never bind at
#   $G = 8$: a group-normalised advantage is at most $(G-1)/\sqrt{G} = 2.47$.)
# * **as the authors ship it**: their launch script (`LlamaGen/train_c2i_grpo.sh` in their repository) runs with
#   the KL term and the contextual noise both off; the values used here when they are on (KL 0.01, $\xi = 0.5$)
#   are their code's defaults for those switches.
# * **a perceptual reward that exists offline**: the LPIPS weights are not available here, so LPIPS drops out of
#   the reward; this row adds instead the squared distance between the classifier features (the FD-clf
#   classifier's) of the decoded draw and the image. It is ours, labelled so, and not LPIPS.
#
# How to read the table: every row is the same seeds as its rate's plain post-training ("after"), so the paired
# difference column is the sharp test. V reports that removing the prior term, or keeping the reward alone,
# degrades the result, so those rows' differences should be positive; the test CE column shows how far each
# drifted from "before".

# %%
LPIPS_OK = study.lpips_available(base_cfg.data.image_size)  # the reward's LPIPS term: weights cached or not
every = {**study.ablation_sets(pc, BETAS, LPIPS_OK), **study.objective_sets(pc)}
after_at = {LR: [m for m in per_seed["after"] if m["seed"] in SEEDS3], LR_MOVE: lr_test[LR_MOVE]}
abl = {rate: study.ablation_runs(lab, SEEDS3, rate, {k: v for k, v in every.items()
                                                     if rate == LR_MOVE or k in study.V_ABLATIONS},
                                 after_at[rate], PRIOR, pc) for rate in dict.fromkeys([LR, LR_MOVE])}
ablation_table = study.ablation_table(abl, before3, METRIC)
print(save_table(ablation_table, out_dir, "table2_ablations", digits=4))
results["ablations"] = {f"{rate:g}": arms for rate, arms in abl.items()}
results["lpips_reward"] = {"available": bool(LPIPS_OK),
                           "note": "reward = -(MSE + LPIPS)" if LPIPS_OK else
                           "LPIPS weights absent: reward = -MSE in every row but the classifier-feature one; the "
                           "MSE vs MSE + LPIPS ablation is not testable here"}
print(results["lpips_reward"]["note"])

# %% [markdown]
# ## What the training reward says about generation
#
# Post-training maximises the reward of *teacher-forced* draws: every token is drawn given the image's own
# earlier tokens. Generation draws every token given the AR's own earlier draws. This diagnostic puts the two
# side by side for seed `SEEDS[0]`: the mean reward of the teacher-forced draws, and of a free-running draw whose
# first half of tokens is the image's own and whose second half the AR draws itself
# (`posttrain.free_running_reward`). If post-training raises the first and not the second, the reward's gain does
# not reach the samples.

# %%
free_runs = {"before": before[s0][1], f"after, lr {LR:g}": after[s0], f"after, lr {LR_MOVE:g}": lr_runs[LR_MOVE]}
free = study.free_running(lab, before[s0][0], free_runs, s0, pc, pc.eval_images)
print(save_table(free, out_dir, "table4_free_running", digits=4))
results["free_running"] = free

# %% [markdown]
# ## Curves: reward, cross-entropy and gFD-clf against iterations
#
# The main run of seed `SEEDS[0]`: the training rows' mean reward of the G draws, the validation cross-entropy
# and mean reward the run logged at every evaluation step, and the test gFD-clf of the AR snapshot saved there
# (step 0 is the stage-2 AR; `study.gfd_by_step`).

# %%
run0 = after[s0]
trows, erows = evaluation.metrics_rows(run0, "train"), evaluation.validation_rows(run0)
curve_gfd = study.gfd_by_step(lab, run0, s0, per_seed, pc.optim.steps)

# %% [markdown]
# How to read the three panels: the reward should rise. The training reward is measured on noised prefixes and
# the validation reward on clean ones, so the two sit at different levels. The validation CE (the prior term)
# should stay near its step-0 value. The test gFD shows whether the reward's gain reaches the samples, and
# whether it was still moving at the last step.

# %%
fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
ax[0].plot([r["step"] for r in trows], [r["reward"] for r in trows], label="train (noised prefix)")
ax[0].plot([r["step"] for r in erows], [r["reward"] for r in erows], "o-", label="validation (clean prefix)")
ax[0].set(xlabel="post-training step", ylabel="mean reward  -(MSE [+ LPIPS])", title="reward")
ax[0].legend(fontsize=8)
ce0, ce_b = lr_rows[0]["val CE"], summary["before"]["ce"]  # the band: half-width of the test CE's t interval
ax[1].plot([0] + [r["step"] for r in erows], [0.0] + [r["gloss"] - ce0 for r in erows], "o-")
if ce_b["lo"] is not None:
    ax[1].axhspan(-(ce_b["hi"] - ce_b["lo"]) / 2, (ce_b["hi"] - ce_b["lo"]) / 2, alpha=0.2,
                  label=f"± half-width of the test CE's t interval over {len(SEEDS)} seeds")
    ax[1].legend(fontsize=8)
ax[1].set(xlabel="post-training step", ylabel="validation CE - step 0 (nats/token)", title="prior term")
steps_g, vals = list(curve_gfd), list(curve_gfd.values())
ax[2].errorbar(steps_g, [v[0] for v in vals], yerr=[[v[0] - v[1] for v in vals], [v[2] - v[0] for v in vals]],
               fmt="o-", capsize=3, label="bootstrap interval over samples")
ax[2].legend(fontsize=8)
ax[2].set(xlabel="post-training step", ylabel=f"test g{METRIC} (N = {N_EVAL})", title="generation")
fig.suptitle(f"VA-π post-training of the 1D baseline's AR, seed {s0}, lr {LR:g}")
fig.tight_layout()
save_figure(fig, out_dir, "fig1_curves")
plt.show()
results["curves"] = study.curves_results(trows, erows, curve_gfd)

# %% [markdown]
# ## Samples before and after (same seed, same draws)
#
# The first 64 test-split samples of seed `SEEDS[0]` before and after post-training. Both grids come from the same
# sample seed, so the same position in the two grids shows the same random draw. Look for sharper or more
# recognisable items after, and for any loss of variety (many tiles turning into the same item would mean the
# reward collapsed the prior).

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 5.2))
for a, (which, imgs) in zip(ax, grids.items()):
    a.imshow(study.sample_tile(imgs), cmap="gray")
    a.set_title(f"{which}: g{METRIC} {per_seed[which][0]['gfid']:.2f}")
    a.axis("off")
fig.tight_layout()
save_figure(fig, out_dir, "fig2_samples")
plt.show()

# %% [markdown]
# ## Claims
#
# Each verdict is computed by `tvclab.claims` from the numbers above, as a paired Student-t interval of the mean
# difference over seeds (the two sides share each seed's tokenizer and, for the ablations, its stage-2 AR and its
# draws of training images). The pFD-clf claim asks the headline
# of the prior alone (the decoder is the same before and after). **holm**: the verdict after Holm's adjustment over
# every claim with a p-value (the count is printed); **mde**: the smallest true difference the comparison had 80%
# power to see, from the seed sd; **effect**: paper V's relative change (LlamaGen-XL)
# beside the relative MDE.
#
# The claims, in order (`study.vapi_claims`), every one paired seed by seed: gFD lower after, pFD-clf lower
# after, the test CE within 0.05 nats/token of before; one claim per searched rate against before; V's three
# ablations at the chosen rate and at the moving rate; and at the moving rate the objective's variants against our
# default (k3, several updates, as the authors ship it, the classifier reward: not the paper's claims, marked as
# going beyond it). "Inconclusive" means the interval of the difference contains the threshold: the data do not
# decide, which is not the same as the claim failing; the mde column says how large an effect could have hidden.

# %%
verdicts = study.vapi_claims(per_seed, lr_test, abl, pc, N_EVAL, METRIC, LR, LR_MOVE, PAPER)
judged = claims.judge(verdicts)
print(f"{judged['n_claims']} claims judged; Holm over the {judged['claim_results'][0]['holm_m']} with a p-value")
print(save_table(judged["claims"], out_dir, "claims"))
results.update(judged)
if not LPIPS_OK:
    results["not_testable"] = ["MSE vs MSE + LPIPS reward: the LPIPS (VGG16) weights are not cached here"]
    print("not testable here: " + "; ".join(results["not_testable"]))

# %%
save_results(results, out_dir, provenance=provenance.collect(
    tier=tier, seeds=SEEDS, n={"frechet": N_EVAL, "posttrain_images": pc.optim.steps * pc.optim.batch_size,
                               "ce_test_images": base_cfg.stage2.eval_images},
    lpips_in_loss=losses.lpips_in_loss(), wall_time_s=time.time() - T0, validation=DATASET))
print(f"notebook done in {time.time() - T0:.0f} s; by phase (s): "
      + ", ".join(f"{k} {v:.0f}" for k, v in timing.breakdown(time.time() - T0).items()))
