# %% [markdown]
# # 00 · Tripartite Variational Consistency, computed exactly
#
# Paper W (*Learning Discrete Autoregressive Priors with Wasserstein Gradient Flow*) organises latent-variable
# objectives around one identity, **Tripartite Variational Consistency** (TVC, Theorem 3.1). This notebook
# teaches it by exact computation: every distribution is a small table, every identity is evaluated in
# float64 and its residual printed, and every claim of §2–4 and App. D/E that can be checked on a table is
# checked. Nothing here is trained at scale; the whole notebook runs in seconds.
#
# Notation (paper W §3): the **data-anchored joint** $q(x,z) = p_{\rm data}(x)\,q(z\mid x)$, its latent
# marginal the **aggregate posterior** $q(z) = \sum_x q(x,z)$ and its Bayes inverse $q(x\mid z)$; the
# **model joint** $p(x,z) = p(z)\,p(x\mid z)$ with marginal $p_\theta(x)$ and posterior $p(z\mid x)$.
# The library functions are in `tvclab.tvc` (tables) and `tvclab.discrete_toy` (the small optimisations).

# %% tags=["parameters"]
tier: str = "cpu"  # smoke | cpu | paper; paper runs as cpu here, everything is exact and small
seed: int = 0  # RNG seed for the random tables and the toy optimisations
out_dir: str = "figures/00_tvc_derivations"  # where figures, tables and results.json go

# %%
import time

t_start = time.perf_counter()  # wall time for results.json's provenance
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from tvclab import claims, provenance, tvc
from tvclab.discrete_toy import CategoricalToy, run_instance_elbo, run_two_stage, run_wgf_dpd
from tvclab.report import save_figure, save_results, save_table

sns.set_theme(style="whitegrid", context="notebook")
rng = np.random.default_rng(seed)
SHAPES = [(2, 2), (3, 5), (6, 4), (12, 7)] if tier == "smoke" else [(2, 2), (3, 5), (6, 4), (12, 7), (40, 16), (64, 64)]
TRIALS = 3 if tier == "smoke" else 20
TOY_STEPS = 150 if tier == "smoke" else 1000
SWEEP = [3.0] if tier == "smoke" else [0.3, 1.0, 3.0]
TOL = 1e-10
results: dict = {"tier": tier, "seed": seed, "tolerance": TOL}
identity_rows: list[dict] = []


def check(name: str, section: str, residual: float) -> None:
    """Record one identity's worst residual over all random tables and print it. The verdict comes from
    ``tvclab.claims``: a residual is deterministic (exact=True), and the identity holds when it is below TOL."""
    verdict = claims.threshold(name, residual, TOL, better="lower", exact=True, paper=section)["verdict"]
    identity_rows.append({"identity": name, "paper": section, "max_abs_residual": residual, "verdict": verdict,
                          "holds": verdict == "holds"})
    print(f"{name:<48s} {section:<12s} max |residual| = {residual:.2e}  {'ok' if verdict == 'holds' else 'FAILS'}")


# %% [markdown]
# ## 1. Theorem 3.1 (TVC)
#
# Bayes' rule on both joints gives, for every $(x,z)$ with $q(x,z) > 0$ (App. D.5):
#
# $$\log p_\theta(x) = \underbrace{\log\frac{p(x\mid z)}{q(x\mid z)}}_{\text{likelihood}}
#  + \underbrace{\log\frac{p(z)}{q(z)}}_{\text{prior}}
#  - \underbrace{\log\frac{p(z\mid x)}{q(z\mid x)}}_{\text{posterior}} + \log p_{\rm data}(x).$$
#
# The left side does not depend on $z$, the right side's terms individually do: the identity says their
# $z$-dependence cancels. We draw random models and encoders (rows Dirichlet(1), and Dirichlet(0.1) for
# near-sparse tables) for several $|X|\times|Z|$ and take the worst residual.

# %%
worst = 0.0
for n_x, n_z in SHAPES:
    for conc in (1.0, 0.1):
        for _ in range(TRIALS):
            terms = tvc.tvc_terms(*tvc.random_problem(n_x, n_z, rng, conc))
            worst = max(worst, tvc.tvc_residual(terms))
check("Theorem 3.1: TVC identity", "W eq. 1", worst)

example = tvc.random_problem(6, 4, np.random.default_rng(seed + 1))
terms = tvc.tvc_terms(*example)
panels = ["likelihood", "prior", "posterior", "log_data", "log_model"]
fig, axes = plt.subplots(1, 6, figsize=(17, 3.2))
for ax, key in zip(axes, panels):
    sns.heatmap(terms[key], ax=ax, cmap="RdBu_r", center=0, cbar=True, annot=False)
    ax.set_title(key)
    ax.set_xlabel("z")
    ax.set_ylabel("x")
resid = terms["log_model"] - (terms["likelihood"] + terms["prior"] - terms["posterior"] + terms["log_data"])
sns.heatmap(resid, ax=axes[-1], cmap="RdBu_r", center=0, cbar=True)
axes[-1].set_title(f"residual (max {np.abs(resid).max():.1e})")
fig.suptitle("Theorem 3.1 on a 6x4 table: terms vary with z, their combination does not")
save_figure(fig, out_dir, "thm3_1_terms")
results["theorem_3_1"] = {"max_residual": worst, "shapes": SHAPES, "trials_per_shape": 2 * TRIALS}

# %% [markdown]
# ## 2. The KL decomposition (§2.1, §4.1)
#
# The ELBO's prior term is **instance-wise**. Averaged over data it splits into mutual information plus the
# **distributional** prior divergence:
#
# $$\mathbb E_x\,\mathrm{KL}(q(z\mid x)\,\|\,p(z)) = \underbrace{H_q(Z) - H_q(Z\mid X)}_{I_q(X;Z)} + \mathrm{KL}(q(z)\,\|\,p(z)).$$
#
# So driving the instance-wise term to zero forces $I_q(X;Z)=0$ (posterior collapse), while only the second
# term is needed for prior consistency. This is the argument for WGF-DPD's distributional objective (eq. 2).

# %%
worst = 0.0
for n_x, n_z in SHAPES:
    for _ in range(TRIALS):
        p_z, _, p_data, q_zx = tvc.random_problem(n_x, n_z, rng)
        d = tvc.kl_decomposition(p_z, p_data, q_zx)
        worst = max(worst, abs(d["instance_kl"] - (d["H_Z"] - d["H_Z_given_X"] + d["marginal_kl"])))
check("KL decomposition: E KL = I(X;Z) + KL(q(z)||p(z))", "W §2.1, §4.1", worst)
results["kl_decomposition"] = {"max_residual": worst, "example": tvc.kl_decomposition(example[0], example[2], example[3])}

# %% [markdown]
# ## 3. ELBO plus the posterior gap (App. D.2)
#
# Taking $\mathbb E_{q(x,z)}$ of Theorem 3.1 and regrouping gives the familiar variational identity
#
# $$\mathbb E_{x}\log p_\theta(x) = \underbrace{\mathbb E_x\big[\mathbb E_{q(z\mid x)}\log p(x\mid z) - \mathrm{KL}(q(z\mid x)\,\|\,p(z))\big]}_{\text{ELBO}}
#   + \underbrace{\mathbb E_x\,\mathrm{KL}(q(z\mid x)\,\|\,p(z\mid x))}_{\text{posterior-consistency gap}}.$$

# %%
worst = 0.0
bars = []
for n_x, n_z in SHAPES:
    for _ in range(TRIALS):
        e = tvc.elbo_decomposition(*tvc.random_problem(n_x, n_z, rng))
        worst = max(worst, abs(e["log_likelihood"] - e["elbo"] - e["posterior_gap"]))
        if len(bars) < 6 and _ == 0:
            bars.append((f"{n_x}x{n_z}", e))
check("ELBO + posterior gap = E log p_theta(x)", "W App. D.2", worst)

fig, ax = plt.subplots(figsize=(7, 3.4))
labels = [b[0] for b in bars]
elbo = np.array([b[1]["elbo"] for b in bars])
gap = np.array([b[1]["posterior_gap"] for b in bars])
ll = np.array([b[1]["log_likelihood"] for b in bars])
ax.bar(labels, elbo, color="tab:blue", label="ELBO")
ax.bar(labels, gap, bottom=elbo, color="tab:orange", label="posterior gap")
ax.scatter(labels, ll, color="k", marker="_", s=600, zorder=3, label=r"$\mathbb{E}\log p_\theta(x)$")
ax.set_ylabel("nats")
ax.set_title("App. D.2: the ELBO falls short of the log-likelihood by exactly the posterior gap")
ax.legend(loc="lower left", fontsize=8)
save_figure(fig, out_dir, "d2_elbo_gap")
results["elbo_gap"] = {"max_residual": worst}

# %% [markdown]
# ## 4. Corollary 3.2: any two consistencies imply the third (case 3 needs completeness)
#
# **Case 1 (likelihood + prior ⇒ posterior).** Set $p(z)=q(z)$ and $p(x\mid z)=q(x\mid z)$: then the model
# joint *is* the data-anchored joint, every TVC term is zero and $p_\theta = p_{\rm data}$.
#
# **Case 2 (likelihood + posterior ⇒ prior).** Keep $p(x\mid z)=q(x\mid z)$ and move the prior away,
# $p_a(z) = (1-a)\,q(z) + a\,r(z)$. If the posterior were consistent for some $a>0$ the prior would have to be
# too (App. D.1): the scan shows the posterior gap and the prior gap vanish together, only at $a=0$.
#
# **Case 3 (posterior + prior ⇒ likelihood, if $\{q(x\mid z)\}_z$ is complete).** App. D.1 reduces it to
# $\sum_x q(x\mid z)\,r(x) = 1$ for all $z$, with $r = p_\theta/p_{\rm data}$. If the family is complete
# (the matrix $q(x\mid z)$ has a trivial null space), $r\equiv 1$. If not (e.g. $|Z|<|X|$), any
# $r = 1+\epsilon v$ with $v$ in the null space gives a model with **exact prior and posterior consistency
# that is not the data distribution**: the completeness condition matters.

# %%
# Case 1
p_data, q_zx = example[2], example[3]
p_z1, p_xz1 = tvc.consistent_model(p_data, q_zx)
t1 = tvc.tvc_terms(p_z1, p_xz1, p_data, q_zx)
case1 = max(float(np.abs(t1[k][t1["support"]]).max()) for k in ("likelihood", "prior", "posterior"))
case1 = max(case1, float(np.abs(tvc.model_marginal(p_z1, p_xz1) - p_data).max()))
check("Cor. 3.2 case 1: lik + prior => posterior, p=p_data", "W Cor. 3.2", case1)

# Case 2: prior scan
r_z = rng.dirichlet(np.ones(len(p_z1)))
scan_a = np.linspace(0, 1, 21)
scan = {"a": scan_a.tolist(), "prior_gap": [], "posterior_gap": []}
for a in scan_a:
    p_a = (1 - a) * p_z1 + a * r_z
    scan["prior_gap"].append(float(tvc.kl(p_z1, p_a)))
    scan["posterior_gap"].append(float(np.sum(p_data * tvc.kl(q_zx, tvc.model_posterior(p_a, p_xz1)))))
zero_post = [a for a, g in zip(scan_a, scan["posterior_gap"]) if g < TOL]
check("Cor. 3.2 case 2: posterior gap = 0 only at a = 0", "W Cor. 3.2", abs(float(scan["posterior_gap"][0])))
assert zero_post == [0.0], zero_post

# Case 3: complete (|Z| >= |X|, full rank) vs incomplete (|Z| < |X|)
case3 = {}
for label, (n_x, n_z) in {"complete": (4, 6), "incomplete": (6, 3)}.items():
    _, _, pd_c, qzx_c = tvc.random_problem(n_x, n_z, rng)
    qz_c, qxz_c = tvc.consistent_model(pd_c, qzx_c)
    null_dim = tvc.completeness_null_space(qxz_c).shape[1]
    row = {"X": n_x, "Z": n_z, "null_space_dim": null_dim}
    if null_dim == 0:
        # the only r with sum_x q(x|z) r(x) = 1 for all z is r = 1 (least squares recovers it exactly)
        r, *_ = np.linalg.lstsq(qxz_c, np.ones(n_z), rcond=None)
        row.update(max_abs_r_minus_1=float(np.abs(r - 1).max()), data_kl=0.0)
    else:
        p_z3, p_xz3, r = tvc.case3_counterexample(pd_c, qzx_c)
        t3 = tvc.tvc_terms(p_z3, p_xz3, pd_c, qzx_c)
        s = t3["support"]
        row.update(max_abs_r_minus_1=float(np.abs(r - 1).max()),
                   prior_term=float(np.abs(t3["prior"][s]).max()),
                   posterior_term=float(np.abs(t3["posterior"][s]).max()),
                   likelihood_term=float(np.abs(t3["likelihood"][s]).max()),
                   data_kl=float(tvc.kl(pd_c, tvc.model_marginal(p_z3, p_xz3))))
    case3[label] = row
check("Cor. 3.2 case 3 (complete): r = 1 is forced", "W App. D.1", case3["complete"]["max_abs_r_minus_1"])
inc = case3["incomplete"]
check("Cor. 3.2 case 3 (incomplete): prior+post exact", "W App. D.1", max(inc["prior_term"], inc["posterior_term"]))
print(f"incomplete family: likelihood term up to {inc['likelihood_term']:.3f} nats, "
      f"KL(p_data || p_theta) = {inc['data_kl']:.4f} > 0  -> case 3 fails without completeness")
print(save_table([{"family": k, **v} for k, v in case3.items()], out_dir, "cor3_2_case3"))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(scan_a, scan["prior_gap"], "o-", label=r"prior gap KL$(q(z)\|p_a(z))$")
axes[0].plot(scan_a, scan["posterior_gap"], "s-", label=r"posterior gap $\mathbb{E}_x$KL$(q(z|x)\|p_a(z|x))$")
axes[0].set_xlabel("a (prior moved away from q(z))")
axes[0].set_ylabel("nats")
axes[0].set_title("Case 2: with likelihood consistency,\nposterior and prior gaps vanish together")
axes[0].legend(fontsize=8)
names = ["prior term", "posterior term", "likelihood term", "KL(p_data||p_theta)"]
vals = [inc["prior_term"], inc["posterior_term"], inc["likelihood_term"], inc["data_kl"]]
axes[1].bar(names, vals, color=["tab:green", "tab:green", "tab:red", "tab:red"])
axes[1].set_title(f"Case 3, incomplete family (|X|={inc['X']}, |Z|={inc['Z']}):\n"
                  "prior & posterior exact, yet p_theta != p_data")
axes[1].tick_params(axis="x", rotation=15)
save_figure(fig, out_dir, "cor3_2_cases")
results["corollary_3_2"] = {"case1_max_term": case1, "case2_scan": scan, "case3": case3}

# %% [markdown]
# ## 5. Two-stage training is an instance of TVC (App. D.4)
#
# Stage 1 fits the decoder by reconstruction, whose optimum is likelihood consistency $p(x\mid z)=q(x\mid z)$;
# stage 2 freezes the encoder and fits the prior by $\min \mathrm{KL}(q(z)\,\|\,p(z))$, prior consistency.
# By Corollary 3.2 case 1 the posterior gap then closes by itself and $p_\theta = p_{\rm data}$. We run both
# stages by gradient descent on exact tables (a fixed random stochastic encoder, |X| = 8, |Z| = 5) and track
# the three gaps and $\mathrm{KL}(p_{\rm data}\,\|\,p_\theta)$.

# %%
steps2 = (60, 60) if tier == "smoke" else (400, 400)
_, _, pd_2, qzx_2 = tvc.random_problem(8, 5, np.random.default_rng(seed + 2), 0.5)
two = run_two_stage(pd_2, qzx_2, steps=steps2, seed=seed)
fig, ax = plt.subplots(figsize=(8, 3.6))
for key, lab in [("likelihood_gap", r"likelihood gap $\mathbb{E}_{q(z)}$KL$(q(x|z)\|p(x|z))$"),
                 ("prior_gap", r"prior gap KL$(q(z)\|p(z))$"),
                 ("posterior_gap", r"posterior gap $\mathbb{E}_x$KL$(q(z|x)\|p(z|x))$"),
                 ("data_kl", r"KL$(p_{data}\|p_\theta)$")]:
    ax.semilogy(np.maximum(two[key], 1e-16), label=lab)
ax.axvline(steps2[0], color="k", ls=":", lw=1)
ax.text(steps2[0] * 0.5, 1.5, "stage 1: decoder", ha="center")
ax.text(steps2[0] * 1.5, 1.5, "stage 2: prior", ha="center")
ax.set_xlabel("optimisation step")
ax.set_ylabel("nats (log scale)")
ax.set_title("App. D.4: two-stage training closes the posterior gap without ever targeting it")
ax.legend(fontsize=8, loc="lower left")
save_figure(fig, out_dir, "d4_two_stage")
results["two_stage"] = {k: two[k][-1] for k in ("likelihood_gap", "prior_gap", "posterior_gap", "data_kl")}
results["two_stage"]["after_stage1"] = {k: two[k][steps2[0] - 1] for k in ("likelihood_gap", "prior_gap", "posterior_gap", "data_kl")}
print(results["two_stage"])

# %% [markdown]
# ## 6. The surrogate decomposition (§4.7) and the categorical score (§4.5)
#
# WGF-DPD cannot evaluate $\log q_\phi(z)$, so it uses a proxy $q_\psi$. The quantity it descends is
#
# $$\mathbb E_{q_\phi(z)}\big[\log q_\psi(z) - \log p(z)\big] = \mathrm{KL}(q_\phi\,\|\,p) - \mathrm{KL}(q_\phi\,\|\,q_\psi),$$
#
# the true prior divergence minus the proxy's error. For a one-hot $z$ and $\log P(z\mid\mathbf p)=\sum_k z_k\log p_k$
# the **categorical score** is $\nabla_z \log P = \log\mathbf p$ (§4.5), so the particle gradient of eq. 4 is
# $\log\mathbf Q_\psi - \log\mathbf P_\theta$, injected through the probability straight-through estimator.

# %%
worst_s, worst_c = 0.0, 0.0
for n_z in (2, 5, 16, 100):
    for _ in range(TRIALS):
        q_phi, q_psi, p = (rng.dirichlet(np.ones(n_z)) for _ in range(3))
        s = tvc.surrogate_decomposition(q_phi, q_psi, p)
        worst_s = max(worst_s, abs(s["surrogate"] - (s["kl_q_p"] - s["kl_q_proxy"])))
        worst_c = max(worst_c, float(np.abs(tvc.categorical_score(p) - np.log(p)).max()))
check("Surrogate: E[log q_psi - log p] = KL - KL", "W §4.7", worst_s)
check("Categorical score: grad_z log P(z|p) = log p", "W §4.5", worst_c)
results["surrogate"] = {"max_residual": worst_s}
results["categorical_score"] = {"max_residual": worst_c}

# %% [markdown]
# ## 7. A WGF-DPD particle flow against instance-wise ELBO matching (§4.1–4.6)
#
# A categorical toy with $N=64$ data points (uniform $p_{\rm data}$), $K=16$ codes and a skewed target prior
# $p(z)\propto e^{-k/4}$. The encoder is a table of per-$x$ logits, the decoder a table $p(x\mid z)$.
#
# * **WGF-DPD** (Algorithm 1 in miniature): hard codes through `prob_ste`, reconstruction $-\log p(x\mid z_x)$,
#   the prior-matching signal $\log Q_\psi - \log P$ through `wgf_dpd_loss`, and a proxy $q_\psi$ (a free
#   categorical) trained by cross-entropy on the detached codes so that it tracks the aggregate posterior.
#   The codes are particles; the flow moves them so that their histogram $q(z)$ approaches $p(z)$.
# * **Instance-wise ELBO matching**: soft $q(z\mid x)$, expected reconstruction plus
#   $w\,\mathbb E_x\mathrm{KL}(q(z\mid x)\,\|\,p(z))$, which by §2 also pays for $I(X;Z)$.
#
# Both use the same prior weight $w$, learning rate and initial logits. We plot $\mathrm{KL}(q(z)\,\|\,p(z))$
# and $I(X;Z)$ (exact) during training, then repeat the final values over a few weights.

# %%
toy = CategoricalToy(steps=TOY_STEPS, seed=seed)
wgf = run_wgf_dpd(toy)
inst = run_instance_elbo(toy)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for hist, lab, c in [(wgf, "WGF-DPD (distributional)", "tab:blue"), (inst, "instance-wise ELBO matching", "tab:red")]:
    axes[0].plot(hist["marginal_kl"], color=c, label=lab)
    axes[1].plot(hist["mutual_information"], color=c, label=lab)
h_p = float(tvc.entropy(toy.target_prior().numpy()))
axes[1].axhline(h_p, color="gray", ls="--", lw=1, label=f"H(p) = {h_p:.2f}")
axes[0].set_title(r"prior divergence KL$(q(z)\|p(z))$")
axes[1].set_title(r"mutual information $I(X;Z)$")
for ax in axes:
    ax.set_xlabel("step")
    ax.set_ylabel("nats")
    ax.legend(fontsize=8)
fig.suptitle(f"§4.1: WGF-DPD aligns the aggregate posterior and keeps I(X;Z); instance-wise matching collapses it (w = {toy.weight:g})", y=1.04)
save_figure(fig, out_dir, "s4_wgf_particle_flow")

sweep_rows = []
for w in SWEEP:
    cfg = CategoricalToy(steps=TOY_STEPS, seed=seed, weight=w)
    a, b = (wgf, inst) if w == toy.weight else (run_wgf_dpd(cfg), run_instance_elbo(cfg))
    for name, h in (("WGF-DPD", a), ("instance ELBO", b)):
        sweep_rows.append({"method": name, "weight": w, "KL(q(z)||p(z)) start": h["marginal_kl"][0],
                           "KL(q(z)||p(z)) end": h["marginal_kl"][-1], "I(X;Z) start": h["mutual_information"][0],
                           "I(X;Z) end": h["mutual_information"][-1]})
print(save_table(sweep_rows, out_dir, "s4_wgf_vs_elbo"))
results["particle_flow"] = {"config": vars(toy), "rows": sweep_rows, "target_entropy": h_p}

# %% [markdown]
# **Reading.** With the same prior weight $w=3$, WGF-DPD lowers $\mathrm{KL}(q(z)\,\|\,p(z))$ while the codes
# stay distinct per data point, so $I(X;Z)$ stays near its starting value; instance-wise matching reaches a
# smaller marginal divergence by making $q(z\mid x)$ itself approach $p(z)$, and $I(X;Z)$ goes to zero. The
# sweep table is the honest fine print: at a small weight ($w=0.3$) instance-wise matching keeps (even gains)
# information and ends with a *lower* marginal divergence than WGF-DPD in the same number of steps, because hard
# codes move only when an argmax flips; at $w=1$ (the true ELBO) the collapse is partial on this toy. The
# collapse is the price of enforcing prior consistency instance-wise, and it grows with the weight that
# enforces it. The histogram of 64 hard-coded particles cannot represent $p(z)$ exactly, so WGF-DPD's
# divergence stops above zero.

# %% [markdown]
# **Claims.** Each verdict comes from `tvclab.claims`: the toy is seeded and exact, so its end values are
# deterministic numbers compared with a bound (`exact=True`); "ours" is the end value, the bound a fraction of the
# start value.

# %%
toy_n = {"data_points": toy.n_data, "codes": toy.n_codes, "steps": TOY_STEPS}
kl_wgf, mi_wgf, mi_inst = wgf["marginal_kl"], wgf["mutual_information"], inst["mutual_information"]
claim_results = [
    claims.threshold(f"WGF-DPD lowers KL(q(z)||p(z)) below half its start ({kl_wgf[0]:.3f})", kl_wgf[-1],
                     0.5 * kl_wgf[0], better="lower", exact=True, paper="W §4.1 (no number)", n=toy_n),
    claims.threshold(f"WGF-DPD keeps I(X;Z) high (>= 90% of its start {mi_wgf[0]:.3f})", mi_wgf[-1],
                     0.9 * mi_wgf[0], better="higher", inclusive=True, exact=True, paper="W §4.1 (no number)",
                     n=toy_n),
    claims.threshold(f"instance-wise matching collapses I(X;Z) (< 10% of its start {mi_inst[0]:.3f})", mi_inst[-1],
                     0.1 * mi_inst[0], better="lower", exact=True, paper="W §2.1, §4.1 (no number)", n=toy_n),
]
print(save_table(claims.table(claim_results), out_dir, "claims"))
print(save_table(identity_rows, out_dir, "identities", digits=3))
results["identities"] = identity_rows
results["claims"] = claim_results
run_n = {"theorem_3_1_tables": len(SHAPES) * 2 * TRIALS, "kl_decomposition_tables": len(SHAPES) * TRIALS,
         "elbo_gap_tables": len(SHAPES) * TRIALS, "case2_scan_points": len(scan_a),
         "surrogate_draws": 4 * TRIALS, "categorical_score_draws": 4 * TRIALS,
         "two_stage_steps": list(steps2), "particle_flow": toy_n, "particle_flow_sweep_weights": len(SWEEP)}
save_results(results, out_dir, provenance=provenance.collect(
    tier=tier, seeds=[seed], n=run_n, lpips_in_loss=None, wall_time_s=time.perf_counter() - t_start))
