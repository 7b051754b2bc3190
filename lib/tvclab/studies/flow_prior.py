"""Notebook 03's experiment code (paper F §5.2-5.3 at autoencoder scale): what the notebook would otherwise define
inline, in the order it uses it. The reference numbers of F Tables 1 and 2; ``RowMetrics``, one seed's test numbers
of an autoencoder row (``Generation`` draws its generator's samples); the flow check of every target (Assumption 1,
``check_priors``); Table 1's rows (``table1``); Fig. 4's curves and correlations (``alignment_curves``,
``plot_alignment_curves``); the kNN NLL before and after alignment (``latents_of``, ``knn_before_after``); Table 2's
rows (``table2_row``); the sample grid (``plot_samples``); the claims and Table 2's one-seed descriptions
(``finding_claims``, ``discrete_claim``, ``table2_descriptions``). The flow priors themselves (training, cache, flow
check) are ``tvclab.flowprior``, which aligned training runs import; this module is the notebook's only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy import stats as sstats

from tvclab import claims, configs, evaluation, flowprior, metrics, train
from tvclab.report import row_cell as cell

TARGET_LABELS = {"low_level": "Low-level (ae_kl latents)", "semantic": "Semantic (classifier features)",
                 "discrete": "Discrete (baseline_1d codes)", "textual": "Textual (embedding table)"}
ROW_LABELS = {"ae": "AE", "ae_kl": "KL", **TARGET_LABELS}
HEADLINE = ("ae", "semantic", "low_level")  # the rows findings 1) and 2) compare: the headline seeds
PAPER_T1 = {  # F Table 1 (ImageNet 256, MAR-B): rFID, PSNR, FID w/o CFG, IS, precision, recall
    "ae": (1.13, 20.20, 15.08, 86.37, 0.60, 0.59), "ae_kl": (1.65, 22.59, 12.94, 91.86, 0.60, 0.58),
    "low_level": (1.22, 22.31, 12.04, 98.66, 0.56, 0.57), "semantic": (1.26, 23.07, 11.47, 101.74, 0.59, 0.59),
    "discrete": (2.99, 22.32, 24.63, 48.17, 0.55, 0.53), "textual": (0.85, 23.12, 11.89, 102.23, 0.55, 0.57)}
PAPER_T2A = {"random": (0.85, 23.12, 11.89, 102.23), "avgpool": (0.94, 22.98, 16.06, 60.37),
             "pca": (0.87, 23.14, 14.95, 83.59)}  # F Table 2(a), textual target: rFID, PSNR, FID, IS
PAPER_T2B = {0.001: (0.89, 22.78, 17.57, 75.20), 0.005: (1.02, 22.98, 16.93, 78.01), 0.01: (1.31, 23.12, 13.67, 82.13),
             0.05: (1.81, 21.82, 12.30, 92.48)}  # F Table 2(b): rFID, PSNR, FID, IS
STRONG = 0.7  # our reading of Fig. 4's "strong correlation" (Pearson), as notebook 01 reads Fig. 3(c)


def target_sets(target: str, extra: Sequence[str] = ()) -> list[str]:
    """The ``--set`` overrides of an aligned row: its target (F §5.2), then ``extra`` (Table 2's ablations)."""
    return [f"align.target={target}", *extra]


class Generation:
    """``n`` samples of an autoencoder's generator (stage 2: a causal AR with a per-token flow head, F App. C.4)
    and their generation metrics (FD-clf or FID with its interval over samples, precision / recall, IS where
    Inception is there): the ``generate`` of ``evaluation.fd_columns``. The first 12 samples of every stage-2 run
    are kept in ``samples`` for the notebook's sample grid."""

    def __init__(self, real_test: torch.Tensor, dataset: str, n: int, classifier=None, bootstrap: int = 0):
        self.real_test, self.dataset, self.n, self.classifier, self.bootstrap = real_test, dataset, n, classifier, bootstrap
        self.samples: dict[str, torch.Tensor] = {}

    def __call__(self, r) -> tuple[dict, torch.Tensor]:
        imgs = train.sample(r.stage2, self.n, seed=r.seed, progress=False)["images"]
        self.samples.setdefault(str(r.stage2), imgs[:12])
        g = metrics.generation_metrics(self.real_test, imgs, self.dataset, classifier_config=self.classifier, isc=True,
                                       kid=False, prc=True, bootstrap=self.bootstrap)
        m = g["metric"]
        return {"value": g[m], "lo": g.get(f"{m}_lo"), "hi": g.get(f"{m}_hi"), "all": g}, imgs


class RowMetrics:
    """One seed's test numbers of a Table 1 row (what ``evaluation.row_runner`` calls): rFD-clf and PSNR of the AE,
    the generation metrics of ``n`` samples of its generator (``Generation``), pFD-clf of the same samples against
    the AE's reconstructions and gFD - rFD, the generator's held-out flow-matching loss and, for aligned AEs, the
    final alignment loss (F eq. 5) and kNN NLL d log r_k (F §5.2) of held-out latents."""

    def __init__(self, real_test: torch.Tensor, dataset: str, n: int, classifier=None, bootstrap: int = 0):
        self.real_test, self.dataset, self.classifier, self.bootstrap = real_test, dataset, classifier, bootstrap
        self.generate = Generation(real_test, dataset, n, classifier, bootstrap)

    def __call__(self, r) -> dict:
        out, _, _, gen = evaluation.fd_columns(r, self.real_test, self.dataset, self.classifier, self.bootstrap,
                                               generate=self.generate)
        g = gen["all"]
        out.update({"metric": g["metric"], "fm_loss": evaluation.test_metrics(r.stage2)["fm_loss"]})
        out.update({k: float(v) for k, v in g.items() if k.startswith(("precision", "recall", "is_mean"))})
        t1 = evaluation.test_metrics(r.stage1)
        out.update({k: t1[k] for k in ("align_eval", "knn_nll") if k in t1})
        return out


def check_priors(base: configs.Config, targets: Sequence[str], trains_inline: bool = True
                 ) -> tuple[list[str], dict[str, str], dict[str, dict]]:
    """Train (or, at the paper tier, only load) the flow prior of every target and check it (``flowprior.flow_check``,
    Assumption 1). Returns (the targets kept, {dropped target: why}, {kept target: its check and the raw feature
    width}); a target whose features cannot be had here (``flowprior.TargetUnavailable``) is dropped with its reason."""
    kept, dropped, checks = [], {}, {}
    for target in targets:
        cfg_t = configs.apply_overrides(base, {"align.target": target})
        try:
            prior = (flowprior.load_flow_prior(cfg_t) if not trains_inline else
                     train.targets.ensure_flow_prior(cfg_t, progress=False))
        except train.targets.TargetUnavailable as e:
            dropped[target] = str(e)
            print(f"{target}: row dropped. {e}")
            continue
        kept.append(target)
        n_held = min(flowprior.HELD_OUT, len(prior.held_out))
        checks[target] = {**flowprior.flow_check(prior, n=n_held, k=base.align.knn_k),
                          "feature_dim": prior.projection.in_dim}
    return kept, dropped, checks


def flow_check_table(checks: dict[str, dict]) -> list[dict]:
    """One row per checked target: feature width -> latent width, the kNN NLL of the flow's samples, of held-out
    target samples and of the starting noise, and the gap flow - held-out (near 0: the flow learned its target)."""
    return [{"target": TARGET_LABELS[t], "feature width -> latent": f"{c['feature_dim']} -> {c['dim']}",
             "flow samples kNN NLL": c["flow_samples_knn_nll"], "held-out target kNN NLL": c["held_out_knn_nll"],
             "noise kNN NLL": c["noise_knn_nll"], "gap (flow - held-out)": c["gap"], "targets indexed": c["n_targets"]}
            for t, c in checks.items()]


interval_kind = evaluation.interval_kind  # Student t over a row's seeds, or none for one seed


def table1(rows: dict, dropped: dict[str, str], metric: str, pr: Sequence[str]) -> tuple[list[dict], dict]:
    """F Table 1 at this tier: every row's test numbers as mean [t interval over seeds] beside the paper's
    ImageNet columns, then a line for every dropped target (the paper's numbers only). Returns (the table's rows,
    {row: seeds, per-seed numbers, summaries, sets and first run directory} for results.json)."""
    table, record = [], {}
    for name, r in rows.items():
        p = PAPER_T1[name]
        table.append({"autoencoder": ROW_LABELS[name], f"r{metric}": cell(r, "rfid"), "PSNR": cell(r, "psnr"),
                      f"g{metric} w/o CFG": cell(r, "gfid"), "pFD-clf": cell(r, "pfd"),
                      f"g{metric} - r{metric}": cell(r, "gap"), **{k: cell(r, k) for k in pr},
                      "flow-head loss": cell(r, "fm_loss"), "seeds": len(r.seeds), "interval": interval_kind(r),
                      "paper rFID": p[0],
                      "paper PSNR": p[1], "paper FID w/o CFG": p[2], "paper IS": p[3], "paper Pre.": p[4],
                      "paper Rec.": p[5]})
        record[name] = {"seeds": r.seeds, "per_seed": r.per_seed, "summary": r.summary,
                        "sets": r.sets, "run": str(r.runs[0].stage1)}
    for t in dropped:
        table.append({"autoencoder": ROW_LABELS[t] + " (dropped: no offline embedding table)",
                      "paper rFID": PAPER_T1[t][0], "paper PSNR": PAPER_T1[t][1], "paper FID w/o CFG": PAPER_T1[t][2]})
    return table, record


def alignment_curves(aligned: dict, targets: Sequence[str]) -> tuple[dict, dict]:
    """F Fig. 4's data: for every target, the first seed's validation curves of the alignment loss (eq. 5, fixed
    draws) and the kNN NLL d log r_k of held-out latents against the AE step, and every seed's Pearson and
    Spearman correlation between the two over its curve. Returns ({target: curves}, {target: [per seed]})."""
    curves, corr = {}, {}
    for t in targets:
        per_seed = []
        for run in aligned[t].runs:
            ev = evaluation.validation_rows(run.stage1)
            steps = [r["step"] for r in ev]
            a, k = np.array([r["align_eval"] for r in ev]), np.array([r["knn_nll"] for r in ev])
            per_seed.append({"seed": run.seed, "points": len(ev), "pearson": float(sstats.pearsonr(a, k)[0]),
                             "spearman": float(sstats.spearmanr(a, k)[0])})
            curves.setdefault(t, {"steps": steps, "align": a.tolist(), "knn_nll": k.tolist()})
        corr[t] = per_seed
    return curves, corr


def plot_alignment_curves(axes, curves: dict, corr: dict, targets: Sequence[str]) -> None:
    """One panel per target: the alignment loss (left axis, circles) and the kNN NLL (right axis, squares) against
    the AE training step, the first seed's correlations in the corner."""
    for a, t in zip(axes, targets):
        c = curves[t]
        a.plot(c["steps"], c["align"], "o-", c="C0", ms=3, label="alignment loss")
        a.set(xlabel="AE training step", ylabel="alignment loss (val)", title=TARGET_LABELS[t])
        b = a.twinx()
        b.plot(c["steps"], c["knn_nll"], "s--", c="C3", ms=3, label="kNN NLL")
        b.set_ylabel(r"$d \log r_k$ (val)", color="C3")
        r0 = corr[t][0]
        a.text(0.02, 0.03, f"Pearson {r0['pearson']:.2f}, Spearman {r0['spearman']:.2f}", transform=a.transAxes,
               ha="left", va="bottom", fontsize=8, bbox=dict(facecolor="white", alpha=0.8, lw=0))


def correlation_table(corr: dict) -> list[dict]:
    """One row per target: the points per curve and every seed's Pearson and Spearman correlation."""
    return [{"target": TARGET_LABELS[t], "points per curve": c[0]["points"],
             "Pearson (per seed)": ", ".join(f"{s['pearson']:.3f}" for s in c),
             "Spearman (per seed)": ", ".join(f"{s['spearman']:.3f}" for s in c),
             "paper": "strong correlation (Fig. 4)"} for t, c in corr.items()]


def latents_of(run, n_latents: int) -> torch.Tensor:
    """The first ``n_latents`` token latents [n_latents, d] of the test images under a run's AE (the first
    images that hold that many tokens)."""
    n_images = -(-n_latents // run.config.tokenizer.n_tokens)
    return train.encode_dataset(run.stage1, "test", limit=n_images)["latents"].flatten(0, 1)[:n_latents]




def knn_before_after(base: configs.Config, targets: Sequence[str], plain, aligned: dict, n_latents: int) -> dict:
    """For every target: the mean kNN NLL d log r_k (F §5.2, k = ``align.knn_k``) of the test latents of every seed
    of the plain AE (``before``) and of the AE aligned to that target (``after``), against the target's samples."""
    out = {}
    for t in targets:
        index = metrics.KNNIndex(flowprior.load_flow_prior(configs.apply_overrides(base, {"align.target": t})).samples)
        before = [float(index.nll(latents_of(run, n_latents), base.align.knn_k).mean()) for run in plain.runs]
        after = [float(index.nll(latents_of(run, n_latents), base.align.knn_k).mean()) for run in aligned[t].runs]
        out[t] = {"before": before, "after": after}
    return out


def knn_table(knn: dict, n_latents: int) -> list[dict]:
    """One row per target: the seed means of the kNN NLL before and after alignment."""
    return [{"target": TARGET_LABELS[t], "AE latents (before)": f"{np.mean(v['before']):.3f}",
             "aligned latents (after)": f"{np.mean(v['after']):.3f}", "seeds": len(v["after"]),
             "latents": n_latents} for t, v in knn.items()]


def table2_row(label: str, m: dict, paper: tuple, metric: str) -> dict:
    """One F Table 2 point (one seed): rFD, PSNR, gFD with its interval over samples, pFD, gFD - rFD and the kNN NLL
    beside the paper's rFID, PSNR, FID and IS."""
    return {"setting": label, f"r{metric}": m["rfid"], "PSNR": m["psnr"], f"g{metric}": m["gfid"],
            f"g{metric} interval": f"[{m['gfid_lo']:.3f}, {m['gfid_hi']:.3f}]" if m["gfid_lo"] is not None else "",
            "pFD-clf": m["pfd"], f"g{metric} - r{metric}": m["gap"],
            "kNN NLL": m.get("knn_nll"), "seeds": 1, "paper rFID": paper[0], "paper PSNR": paper[1],
            "paper FID": paper[2], "paper IS": paper[3]}


def plot_samples(ax, rows: dict, samples: dict[str, torch.Tensor]) -> None:
    """A grid of 12 samples per row (``ax``: [rows, 12]), the first seed's, labelled on the left."""
    for i, (name, r) in enumerate(rows.items()):
        imgs = samples[str(r.runs[0].stage2)]
        for j in range(12):
            ax[i, j].imshow(imgs[j, 0].add(1).div(2).clamp(0, 1).numpy(), cmap="gray")
            ax[i, j].axis("off")
        ax[i, 0].set_title(ROW_LABELS[name], fontsize=7, loc="left")


def seeds_n(rows: dict, *names: str, n_eval: int) -> dict:
    """The ``n`` a claim states: the seeds of each compared row ("5 vs 5") and the Fréchet N."""
    return {"seeds": " vs ".join(str(len(rows[n].seeds)) for n in names), "N": n_eval}


def finding_claims(t: str, rows: dict, corr: dict, knn: dict, metric: str, n_eval: int, n_latents: int,
                   strong: float = STRONG) -> list[dict]:
    """The four claims of one target, each in the direction F Table 1's own two numbers show for it: 1) alignment
    costs (or improves) reconstruction, 2) it helps (or hurts) generation, Fig. 4's strong correlation (Pearson
    above ``strong``) and the kNN NLL below the plain AE's (§5.2). Welch intervals over seeds (different runs)."""
    vals = lambda name, key: rows[name].values(key)  # noqa: E731
    (r_ae, g_ae), (r_t, g_t) = PAPER_T1["ae"][0:3:2], PAPER_T1[t][0:3:2]
    r_up, g_up = r_t > r_ae, g_t > g_ae  # the paper's own direction for this target
    return [
        claims.compare(f"1) alignment to the {t} target {'costs' if r_up else 'improves'} reconstruction: "
                       f"r{metric} {'above' if r_up else 'below'} the plain AE's", vals(t, "rfid"), vals("ae", "rfid"),
                       better="higher" if r_up else "lower", paper=f"rFID {r_ae} -> {r_t} (Table 1)",
                       n=seeds_n(rows, t, "ae", n_eval=n_eval), paper_values=(r_t, r_ae)),
        claims.compare(f"2) alignment to the {t} target {'hurts' if g_up else 'helps'} generation: "
                       f"g{metric} {'above' if g_up else 'below'} the plain AE's", vals(t, "gfid"), vals("ae", "gfid"),
                       better="higher" if g_up else "lower", paper=f"FID {g_ae} -> {g_t} (Table 1)",
                       n=seeds_n(rows, t, "ae", n_eval=n_eval), paper_values=(g_t, g_ae)),
        claims.threshold(f"Fig. 4: alignment loss and kNN NLL correlate strongly (Pearson > {strong}) for {t}",
                         [c["pearson"] for c in corr[t]], strong, better="higher", paper="strong correlation",
                         n={"seeds": len(corr[t]), "points": corr[t][0]["points"]}),
        claims.compare(f"alignment brings the latents closer to the {t} target (kNN NLL below the plain AE's)",
                       knn[t]["after"], knn[t]["before"], better="lower",
                       paper="§5.2 (alignment quality measured by d log r_k)",
                       n={"seeds": f"{len(knn[t]['after'])} vs {len(knn[t]['before'])}", "latents": n_latents}),
    ]


def discrete_claim(rows: dict, n_eval: int) -> dict:
    """Finding 3): the low-dimensional discrete target generates worse than the semantic one (the paper's pair,
    LlamaGen VQ 8-dim against DINOv2, fixed in advance)."""
    return claims.compare("3) the low-dimensional discrete target generates worse than the semantic one",
                          rows["discrete"].values("gfid"), rows["semantic"].values("gfid"), better="higher",
                          paper="24.63 vs 11.47 FID (Table 1)", n=seeds_n(rows, "discrete", "semantic", n_eval=n_eval),
                          paper_values=(PAPER_T1["discrete"][2], PAPER_T1["semantic"][2]))


def one_seed_quantity(m: dict, key: str) -> dict:
    """One seed's number with its interval over samples, what the claims helper reads for a Table 2 point."""
    return {"value": m[key], "lo": m[f"{key}_lo"], "hi": m[f"{key}_hi"]}


def table2_descriptions(table2a: dict, table2b: dict, metric: str, n_eval: int) -> list[dict]:
    """Table 2's readings, one seed each (intervals over samples, never verdicts): (a) random projection against
    every other projection on gFD; (b) the largest weight against the smallest on gFD and on rFD."""
    q1 = one_seed_quantity
    out = [claims.compare(f"Table 2(a): random projection gives a lower g{metric} than {p}",
                          q1(table2a["random"], "gfid"), q1(table2a[p], "gfid"), better="lower",
                          paper=f"FID {PAPER_T2A['random'][2]} vs {PAPER_T2A[p][2]}", n={"seeds": 1, "N": n_eval},
                          paper_values=(PAPER_T2A["random"][2], PAPER_T2A[p][2]))
           for p in table2a if p != "random"]
    weights = list(table2b)
    lo_w, hi_w = weights[0], weights[-1]
    out += [
        claims.compare(f"Table 2(b): weight {hi_w:g} gives a lower g{metric} than {lo_w:g}", q1(table2b[hi_w], "gfid"),
                       q1(table2b[lo_w], "gfid"), better="lower",
                       paper=f"FID {PAPER_T2B[hi_w][2]} vs {PAPER_T2B[lo_w][2]}",
                       n={"seeds": 1, "N": n_eval}, paper_values=(PAPER_T2B[hi_w][2], PAPER_T2B[lo_w][2])),
        claims.compare(f"Table 2(b): weight {hi_w:g} gives a higher r{metric} than {lo_w:g}", q1(table2b[hi_w], "rfid"),
                       q1(table2b[lo_w], "rfid"), better="higher",
                       paper=f"rFID {PAPER_T2B[hi_w][0]} vs {PAPER_T2B[lo_w][0]}",
                       n={"seeds": 1, "N": n_eval}, paper_values=(PAPER_T2B[hi_w][0], PAPER_T2B[lo_w][0])),
    ]
    return out
