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

from tvclab import claims, provenance, tiers, tvc
from tvclab.discrete_toy import CategoricalToy, run_instance_elbo, run_two_stage, run_wgf_dpd
from tvclab.report import save_figure, save_results, save_table

TIER = tiers.get(tier)  # the tier's seeds, N and settings (tvclab.tiers)

sns.set_theme(style="whitegrid", context="notebook")
rng = np.random.default_rng(seed)
SHAPES = [(2, 2), (3, 5), (6, 4), (12, 7)] if TIER.smoke else [(2, 2), (3, 5), (6, 4), (12, 7), (40, 16), (64, 64)]
TRIALS = 3 if TIER.smoke else 20
TOY_STEPS = 150 if TIER.smoke else 1000
SWEEP = [3.0] if TIER.smoke else [0.3, 1.0, 3.0]
TOL = 1e-10  # closed-form identities in float64: a few hundred roundings of O(1) logs stay below 1e-12
FD_TOL = 1e-8  # central finite differences in float64: rounding of about eps |f| / h with h down to 1e-5
FIT_TOL = 1e-8  # optimised to convergence (L-BFGS, float64): what is left is the optimiser's stopping tolerance
results: dict = {"tier": tier, "seed": seed, "tolerance": {"identity": TOL, "finite_differences": FD_TOL,
                                                           "optimisation": FIT_TOL}}
identity_rows: list[dict] = []


def check(name: str, section: str, residual: float, tol: float = TOL) -> None:
    """Record one check's worst residual over all random tables and print it. The verdict comes from
    ``tvclab.claims``: a residual is deterministic (exact=True), and the check holds when it is below ``tol``.
    Every residual here is a difference of separately computed non-zero quantities, so a wrong implementation
    makes it large (``tests/test_tvc.py`` feeds each check a broken input and sees it fail)."""
    verdict = claims.threshold(name, residual, tol, better="lower", exact=True, paper=section)["verdict"]
    identity_rows.append({"identity": name, "paper": section, "max_abs_residual": residual, "tolerance": tol,
                          "verdict": verdict, "holds": verdict == "holds"})
    print(f"{name:<56s} {section:<12s} max |residual| = {residual:.2e} (tol {tol:.0e})  "
          f"{'ok' if verdict == 'holds' else 'FAILS'}")


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
panels = {"likelihood": r"likelihood $\log\frac{p(x|z)}{q(x|z)}$", "prior": r"prior $\log\frac{p(z)}{q(z)}$",
          "posterior": r"posterior $\log\frac{p(z|x)}{q(z|x)}$", "log_data": r"$\log p_{\rm data}(x)$",
          "log_model": r"$\log p_\theta(x)$"}
fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), layout="constrained")
for ax, (key, title) in zip(axes.flat, panels.items()):
    sns.heatmap(terms[key], ax=ax, cmap="RdBu_r", center=0, cbar_kws={"shrink": 0.85})
    ax.set_title(title)
    ax.set_xlabel("z")
    ax.set_ylabel("x")
resid = terms["log_model"] - (terms["likelihood"] + terms["prior"] - terms["posterior"] + terms["log_data"])
ax = axes.flat[-1]
sns.heatmap(resid / 1e-15, ax=ax, cmap="RdBu_r", center=0, cbar_kws={"shrink": 0.85, "label": r"$\times 10^{-15}$"})
ax.set_title(f"residual, lhs - rhs (max {np.abs(resid).max():.1e})")
ax.set_xlabel("z")
ax.set_ylabel("x")
fig.suptitle("Theorem 3.1 on a 6x4 table: the terms vary with z, their combination does not")
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

labels = [b[0] for b in bars]
elbo = np.array([b[1]["elbo"] for b in bars])
gap = np.array([b[1]["posterior_gap"] for b in bars])
ll = np.array([b[1]["log_likelihood"] for b in bars])
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
pos, width = np.arange(len(labels)), 0.38
axes[0].bar(pos - width / 2, ll, width, color="tab:green", label=r"$\mathbb{E}_x\log p_\theta(x)$")
axes[0].bar(pos + width / 2, elbo, width, color="tab:blue", label="ELBO")
axes[0].set_title("the ELBO lies below the log-likelihood")
axes[1].bar(pos, gap, 0.6, color="tab:orange", label=r"posterior gap $\mathbb{E}_x$KL$(q(z|x)\|p(z|x))$")
axes[1].scatter(pos, ll - elbo, color="k", marker="_", s=500, zorder=3, label=r"$\mathbb{E}\log p_\theta - $ ELBO")
axes[1].set_title("by exactly the posterior gap")
axes[1].set_ylim(0, 1.35 * max(gap.max(), (ll - elbo).max()))
for ax in axes:
    ax.set_xticks(pos, labels)
    ax.set_xlabel("random table |X| x |Z|")
    ax.set_ylabel("nats")
    ax.legend(fontsize=8, loc="lower left" if ax is axes[0] else "upper left")
fig.suptitle("App. D.2: ELBO + posterior gap = log-likelihood")
save_figure(fig, out_dir, "d2_elbo_gap")
results["elbo_gap"] = {"max_residual": worst}

# %% [markdown]
# ## 4. Corollary 3.2: any two consistencies imply the third (case 3 needs completeness)
#
# **Case 1 (likelihood + prior ⇒ posterior).** Set $p(z)=q(z)$ and $p(x\mid z)=q(x\mid z)$: then the model
# joint *is* the data-anchored joint, every TVC term is zero and $p_\theta = p_{\rm data}$.
#
# **Case 2 (likelihood + posterior ⇒ prior).** Keep $p(x\mid z)=q(x\mid z)$ and move the prior away,
# $p_a(z) = (1-a)\,q(z) + a\,r(z)$. Taking $\mathbb E_{q(x,z)}$ of Theorem 3.1 with a zero likelihood term gives
#
# $$\mathbb E_x\,\mathrm{KL}(q(z\mid x)\,\|\,p_a(z\mid x)) = \mathrm{KL}(q(z)\,\|\,p_a(z)) - \mathrm{KL}(p_{\rm data}\,\|\,p_{\theta,a}),$$
#
# three numbers computed separately (the Bayes posterior of the model, its prior, its marginal), all positive for
# $a>0$. We check the identity over the scan, and that the posterior gap is positive at every $a>0$: posterior
# consistency returns only with the prior (App. D.1).
#
# **Case 3 (posterior + prior ⇒ likelihood, if $\{q(x\mid z)\}_z$ is complete).** App. D.1 reduces it to
# $\sum_x q(x\mid z)\,r(x) = 1$ for all $z$, with $r = p_\theta/p_{\rm data}$. If the family is complete
# (the matrix $q(x\mid z)$ has a trivial null space), $r\equiv 1$. We test it by optimisation: fix
# $p(z)=q(z)$, start the decoder at random and minimise the posterior gap alone (L-BFGS, float64). With a
# complete family the likelihood gap must close with it; with an incomplete one ($|Z|<|X|$) the posterior gap
# closes but the fit ends at some other decoder of the family $q(x\mid z)\,r(x)$, with **exact prior and posterior
# consistency and $p_\theta \ne p_{\rm data}$**: the completeness condition matters. An explicit such model,
# $r = 1+\epsilon v$ with $v$ in the null space, is built too.

# %%
# Case 1
p_data, q_zx = example[2], example[3]
p_z1, p_xz1 = tvc.consistent_model(p_data, q_zx)
t1 = tvc.tvc_terms(p_z1, p_xz1, p_data, q_zx)
case1 = max(float(np.abs(t1[k][t1["support"]]).max()) for k in ("likelihood", "prior", "posterior"))
case1 = max(case1, float(np.abs(tvc.model_marginal(p_z1, p_xz1) - p_data).max()))
check("Cor. 3.2 case 1: lik + prior => posterior, p=p_data", "W Cor. 3.2", case1)

# Case 2: prior scan; the identity posterior gap = prior gap - KL(p_data || p_theta) at every a
r_z = rng.dirichlet(np.ones(len(p_z1)))
scan_a = np.linspace(0, 1, 21)
scan = {"a": scan_a.tolist(), "prior_gap": [], "posterior_gap": [], "data_kl": []}
for a in scan_a:
    for k, v in tvc.case2_gaps(p_data, q_zx, (1 - a) * p_z1 + a * r_z).items():
        scan[k].append(v)
case2_resid = max(abs(po - (pr - dk)) for po, pr, dk in zip(scan["posterior_gap"], scan["prior_gap"], scan["data_kl"]))
check("Cor. 3.2 case 2: posterior gap = prior gap - KL(p_data||p)", "W App. D.1", case2_resid)
case2_min_gap = min(g for a, g in zip(scan_a, scan["posterior_gap"]) if a > 0)
case2_claim = claims.threshold("Cor. 3.2 case 2: with likelihood consistency the posterior gap is > 0 at every a > 0 "
                               "(smallest over the scan)", case2_min_gap, 1e3 * TOL, better="higher", exact=True,
                               paper="W Cor. 3.2, App. D.1")
print(f"smallest posterior gap at a > 0: {case2_min_gap:.2e} nats -> {case2_claim['verdict']}")

# Case 3: posterior consistency fitted from a random decoder, complete (|Z| >= |X|) vs incomplete (|Z| < |X|)
case3 = {}
for label, (n_x, n_z) in {"complete": (4, 6), "incomplete": (6, 3)}.items():
    _, _, pd_c, qzx_c = tvc.random_problem(n_x, n_z, rng)
    fit3 = tvc.fit_posterior_consistency(pd_c, qzx_c, seed=seed)
    row = {"X": n_x, "Z": n_z, "null_space_dim": tvc.completeness_null_space(tvc.consistent_model(pd_c, qzx_c)[1]).shape[1],
           **{f"fit_{k}": v for k, v in fit3.items()}}
    row.update(dict.fromkeys(("counterexample_max_abs_r_minus_1", "prior_term", "posterior_term", "likelihood_term",
                              "data_kl")))  # an explicit counterexample exists only for an incomplete family
    if row["null_space_dim"] > 0:
        p_z3, p_xz3, r = tvc.case3_counterexample(pd_c, qzx_c)
        t3 = tvc.tvc_terms(p_z3, p_xz3, pd_c, qzx_c)
        s = t3["support"]
        row.update(counterexample_max_abs_r_minus_1=float(np.abs(r - 1).max()),
                   prior_term=float(np.abs(t3["prior"][s]).max()),
                   posterior_term=float(np.abs(t3["posterior"][s]).max()),
                   likelihood_term=float(np.abs(t3["likelihood"][s]).max()),
                   data_kl=float(tvc.kl(pd_c, tvc.model_marginal(p_z3, p_xz3))))
    case3[label] = row
com, inc = case3["complete"], case3["incomplete"]
check("Cor. 3.2 case 3 (complete): posterior fit closes the likelihood gap", "W App. D.1",
      max(com["fit_posterior_gap"], com["fit_likelihood_gap"]), FIT_TOL)
check("Cor. 3.2 case 3 (incomplete): posterior fit closes the posterior gap", "W App. D.1", inc["fit_posterior_gap"],
      FIT_TOL)
check("Cor. 3.2 case 3 (incomplete): counterexample, prior+post exact", "W App. D.1",
      max(inc["prior_term"], inc["posterior_term"]))
case3_claim = claims.threshold("Cor. 3.2 case 3 needs completeness: with |Z| < |X| the posterior-consistent fit keeps "
                               "a likelihood gap (nats)", inc["fit_likelihood_gap"], 1e3 * FIT_TOL, better="higher",
                               exact=True, paper="W App. D.1")
print(f"incomplete family: the fit ends with posterior gap {inc['fit_posterior_gap']:.1e} but likelihood gap "
      f"{inc['fit_likelihood_gap']:.3f} nats (KL(p_data || p_theta) = {inc['fit_data_kl']:.3f}) -> {case3_claim['verdict']}; "
      f"complete family: likelihood gap {com['fit_likelihood_gap']:.1e}")
print(save_table([{"family": k, **v} for k, v in case3.items()], out_dir, "cor3_2_case3"))

fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
axes[0].plot(scan_a, scan["prior_gap"], "o-", label=r"prior gap KL$(q(z)\|p_a(z))$")
axes[0].plot(scan_a, scan["posterior_gap"], "s-", label=r"posterior gap $\mathbb{E}_x$KL$(q(z|x)\|p_a(z|x))$")
axes[0].plot(scan_a, scan["data_kl"], "^-", label=r"KL$(p_{data}\|p_{\theta,a})$ = prior gap - posterior gap")
axes[0].set_xlabel("a (prior moved away from q(z))")
axes[0].set_ylabel("nats")
axes[0].set_title("Case 2: with likelihood consistency,\nposterior and prior gaps vanish together")
axes[0].legend(fontsize=8)
keys = [("fit_posterior_gap", "posterior gap"), ("fit_likelihood_gap", "likelihood gap"),
        ("fit_data_kl", r"KL$(p_{data}\|p_\theta)$")]
pos, width = np.arange(len(keys)), 0.38
for j, (label, row) in enumerate(case3.items()):
    axes[1].bar(pos + (j - 0.5) * width, [max(row[k], 1e-17) for k, _ in keys], width,
                color=["tab:green", "tab:red"][j], label=f"{label} family (|X|={row['X']}, |Z|={row['Z']})")
axes[1].set_yscale("log")
axes[1].set_xticks(pos, [name for _, name in keys])
axes[1].set_ylabel("nats after the fit (log scale; 1e-17 = zero)")
axes[1].set_title("Case 3: p(z) = q(z), decoder fitted to posterior consistency\nfrom a random start")
axes[1].legend(fontsize=8)
save_figure(fig, out_dir, "cor3_2_cases")
results["corollary_3_2"] = {"case1_max_term": case1, "case2_scan": scan, "case2_identity_residual": case2_resid,
                            "case2_min_posterior_gap": case2_min_gap, "case3": case3}

# %% [markdown]
# ## 5. Two-stage training is an instance of TVC (App. D.4)
#
# Stage 1 fits the decoder by reconstruction, whose optimum is likelihood consistency $p(x\mid z)=q(x\mid z)$;
# stage 2 freezes the encoder and fits the prior by $\min \mathrm{KL}(q(z)\,\|\,p(z))$, prior consistency.
# By Corollary 3.2 case 1 the posterior gap then closes by itself and $p_\theta = p_{\rm data}$. We run both
# stages by gradient descent on exact tables (a fixed random stochastic encoder, |X| = 8, |Z| = 5) and track
# the three gaps and $\mathrm{KL}(p_{\rm data}\,\|\,p_\theta)$.

# %%
steps2 = (60, 60) if TIER.smoke else (400, 400)
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
#
# Three checks by central finite differences along the simplex's tangent directions $u_k = e_k - \tfrac1K\mathbf 1$
# (on the simplex a score is defined only up to a constant in every entry): the closed-form score against the
# log-density at a random one-hot $z$; the particle gradient against the surrogate's right side
# $\mathrm{KL}(q_\phi\|p) - \mathrm{KL}(q_\phi\|q_\psi)$ as a function of an interior $q_\phi$ (each KL is
# non-linear in $q_\phi$; their difference is not); and the gradient that the library's `wgf_dpd_loss` (the
# loss of Algorithm 1 line 5) injects into the one-hot codes, against the same closed form.

# %%
import torch

from tvclab.losses import wgf_dpd_loss


def wgf_loss_of(z: np.ndarray, log_q: np.ndarray, log_p: np.ndarray) -> float:
    """``wgf_dpd_loss`` as a function of one code vector z (one sequence, one token)."""
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)[None, None]  # noqa: E731
    return float(wgf_dpd_loss(t(z), t(log_q), t(log_p)))


worst_s, worst_c, worst_pg, worst_lib = 0.0, 0.0, 0.0, 0.0
for n_z in (2, 5, 16, 100):
    for _ in range(TRIALS):
        q_phi, q_psi, p = (rng.dirichlet(np.ones(n_z)) for _ in range(3))
        s = tvc.surrogate_decomposition(q_phi, q_psi, p)
        worst_s = max(worst_s, abs(s["surrogate"] - (s["kl_q_p"] - s["kl_q_proxy"])))
        z = np.eye(n_z)[rng.integers(n_z)]
        particle_grad = tvc.categorical_score(q_psi) - tvc.categorical_score(p)
        worst_c = max(worst_c, tvc.tangent_score_residual(lambda v: tvc.categorical_log_density(v, p), z,
                                                          tvc.categorical_score(p)))
        kl_difference = lambda v: float(tvc.kl(v, p) - tvc.kl(v, q_psi))  # noqa: E731
        worst_pg = max(worst_pg, tvc.tangent_score_residual(kl_difference, q_phi, particle_grad, h=0.5 * q_phi.min()))
        worst_lib = max(worst_lib, tvc.tangent_score_residual(lambda v: wgf_loss_of(v, np.log(q_psi), np.log(p)), z,
                                                              particle_grad))
check("Surrogate: E[log q_psi - log p] = KL - KL", "W §4.7", worst_s)
check("Categorical score: FD of log P(z|p) on the simplex = log p", "W §4.5", worst_c, FD_TOL)
check("Particle gradient: FD of KL(q||p) - KL(q||q_psi) = log q_psi - log p", "W §4.5, §4.7", worst_pg, FD_TOL)
check("wgf_dpd_loss injects log q_psi - log p into the codes (FD)", "W eq. 4, Alg. 1", worst_lib, FD_TOL)
results["surrogate"] = {"max_residual": worst_s}
results["categorical_score"] = {"max_residual_score": worst_c, "max_residual_particle_gradient": worst_pg,
                                "max_residual_wgf_dpd_loss": worst_lib}

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
# Both use the same encoder family (softmax of per-$x$ logits at temperature $\tau = 1$), the same prior weight
# $w$, learning rate and initial logits, and both are **measured alike**: every step we read the same two things off
# each encoder, the **hard codes** $z_x=\arg\max$ (what a tokenizer emits; then $I(X;Z) = H(q(z))$) and the
# **soft posterior**, and compute $\mathrm{KL}(q(z)\,\|\,p(z))$ and $I(X;Z)$ exactly for each. Same logits, so the
# same starting values for both methods. We plot the training curves, then repeat the end values over a few weights.

# %%
toy = CategoricalToy(steps=TOY_STEPS, seed=seed)
wgf = run_wgf_dpd(toy)
inst = run_instance_elbo(toy)
h_p = float(tvc.entropy(toy.target_prior().numpy()))
fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
for hist, lab, c in [(wgf, "WGF-DPD (distributional)", "tab:blue"), (inst, "instance-wise ELBO matching", "tab:red")]:
    for readout, ls in (("hard", "-"), ("soft", ":")):
        axes[0].plot(hist[f"marginal_kl_{readout}"], color=c, ls=ls, label=f"{lab}, {readout} codes")
        axes[1].plot(hist[f"mutual_information_{readout}"], color=c, ls=ls, label=f"{lab}, {readout} codes")
axes[1].axhline(h_p, color="gray", ls="--", lw=1, label=f"H(p) = {h_p:.2f}: the most a code with q(z) = p carries")
axes[0].set_title(r"prior divergence KL$(q(z)\|p(z))$")
axes[1].set_title(r"mutual information $I(X;Z)$")
for ax in axes:
    ax.set_xlabel("step")
    ax.set_ylabel("nats")
    ax.legend(fontsize=7)
fig.suptitle(f"§4.1: WGF-DPD aligns the aggregate posterior and keeps I(X;Z); instance-wise matching collapses it "
             f"(w = {toy.weight:g}, same start)")
save_figure(fig, out_dir, "s4_wgf_particle_flow")

sweep_rows = []
for w in SWEEP:
    cfg = CategoricalToy(steps=TOY_STEPS, seed=seed, weight=w)
    a, b = (wgf, inst) if w == toy.weight else (run_wgf_dpd(cfg), run_instance_elbo(cfg))
    for name, h in (("WGF-DPD", a), ("instance ELBO", b)):
        sweep_rows.append({"method": name, "weight": w} | {
            f"{label} {readout} {when}": h[f"{key}_{readout}"][idx]
            for key, label in (("marginal_kl", "KL(q(z)||p(z))"), ("mutual_information", "I(X;Z)"))
            for readout in ("hard", "soft") for when, idx in (("start", 0), ("end", -1))})
print(save_table(sweep_rows, out_dir, "s4_wgf_vs_elbo"))
results["particle_flow"] = {"config": vars(toy), "rows": sweep_rows, "target_entropy": h_p}

# %% [markdown]
# **Reading.** With the same prior weight $w=3$ and the same start, WGF-DPD lowers $\mathrm{KL}(q(z)\,\|\,p(z))$
# while the codes stay distinct per data point, so $I(X;Z)$ stays near $H(p)$; instance-wise matching makes
# $q(z\mid x)$ itself approach $p(z)$ for every $x$: its soft posterior matches $p$ exactly and carries nothing,
# and its hard codes all become the mode of $p$ (so their marginal divergence *rises*). The sweep table is the fine
# print: at a small weight ($w=0.3$) instance-wise matching keeps its information and ends with a *lower* marginal
# divergence than WGF-DPD in the same number of steps, because hard codes move only when an argmax flips; at $w=1$
# (the true ELBO) the collapse is partial on this toy. The collapse is the price of enforcing prior consistency
# instance-wise, and it grows with the weight that enforces it. A histogram of 64 hard-coded particles cannot
# represent $p(z)$ exactly, so WGF-DPD's divergence stops above zero.

# %% [markdown]
# **Claims.** Each verdict comes from `tvclab.claims`: the toy is seeded and exact, so its end values are
# deterministic numbers compared with a bound (`exact=True`). All three are read off the hard codes of both methods
# (the same readout, the same start). The bounds and why: the divergence claim asks for at least half of the start
# divergence removed (the paper gives no number). The information bounds are fractions of $H(p)$, not of the start:
# a code whose marginal *is* $p$ carries at most $I(X;Z) \le H(q(z)) = H(p)$, so $H(p)$ is what perfect
# distributional matching keeps, and a bound above it would fail a method that matched $p$ exactly. "Keeps" is at
# least 90% of that ceiling, "collapses" under 10% of it.

# %%
toy_n = {"data_points": toy.n_data, "codes": toy.n_codes, "steps": TOY_STEPS, "readout": "hard codes (argmax)"}
kl_wgf, mi_wgf, mi_inst = wgf["marginal_kl_hard"], wgf["mutual_information_hard"], inst["mutual_information_hard"]
claim_results = [
    claims.threshold(f"WGF-DPD lowers KL(q(z)||p(z)) below half its start ({kl_wgf[0]:.3f})", kl_wgf[-1],
                     0.5 * kl_wgf[0], better="lower", exact=True, paper="W §4.1 (no number)", n=toy_n),
    claims.threshold(f"WGF-DPD keeps I(X;Z) (>= 90% of H(p) = {h_p:.3f}, the ceiling of a prior-consistent code; "
                     f"start {mi_wgf[0]:.3f})", mi_wgf[-1], 0.9 * h_p, better="higher", inclusive=True, exact=True,
                     paper="W §4.1 (no number)", n=toy_n),
    claims.threshold(f"instance-wise matching collapses I(X;Z) (< 10% of H(p); same start {mi_inst[0]:.3f})",
                     mi_inst[-1], 0.1 * h_p, better="lower", exact=True, paper="W §2.1, §4.1 (no number)", n=toy_n),
    case2_claim,
    case3_claim,
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
