"""Notebook 02's experiment code: paper W's wAR-Tok (WGF-DPD) against the AR-alignment baselines (W §5.1, App. B).

The notebook trains six 1D tokenizers that differ only in how they push their token distribution toward what an
AR prior can model (W §2.3, App. F.1), fits one AR prior of the same size on each (stage 2), and asks first whether
wAR-Tok's lower AR loss is more than "fewer codes": its rate R = gLoss x tokens (nats per image) against its PSNR,
beside a codebook-size sweep without WGF (``tvclab.frontier``). This module holds what the notebook would otherwise
define inline, in the order the notebook uses it:

- the paper's reference numbers (``PAPER_T1`` W Table 1, ``PAPER_T2`` Table 2, ``PAPER_T3`` App. B Table 3) and the
  row labels, the codebook sweep and the WGF-DPD search grid of a tier;
- ``RowMetrics``: one seed's test-split numbers (rFD, gFD, pFD, gLoss, rate, PSNR, codes), what
  ``evaluation.row_runner`` calls for every row and seed;
- the validation-split choice of the WGF-DPD weight and target temperature (``constant_anchor``, ``search_table``,
  ``choose_variant``);
- Table 3 at matched iterations (``quantity``, ``cell``, ``table3``), the frontier (``frontier_gaps``,
  ``plot_frontier``), Table 1 at matched reconstruction (``iterations_needed``, ``table1``), Fig. 1 (``ar_curves``,
  ``plot_ar_dynamics``), the claims' helpers and summaries (``best_row``, ``paper_pair``, ``fastest_fm_row``,
  ``gfd_minus_rfd``, ``wgf_cost_ratio``) and Table 2's ImageNet rows (``imagenet_row``, ``imagenet_commands``).

The method itself (W eq. 4 through prob-STE) is ``tvclab.losses.wgf_dpd_loss`` and ``tvclab.quantize.prob_ste``,
used by ``tvclab.objectives.wgf_dpd``; nothing here trains.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from tvclab import configs, data, evaluation, frontier, metrics, stats, train
from tvclab.metrics import psnr
from tvclab.report import interval_cell

# Paper W's CIFAR-10 numbers, for reading beside ours (never compared with FD-clf as if they were the same metric).
# App. B Table 3, matched 400K iterations: (rFID, gFID, gLoss).
PAPER_T3 = {"baseline_1d": (2.30, 52.53, 1.38), "tail_dropout": (3.35, 23.37, 0.93), "fm_decoder": (3.41, 38.63, 1.52),
            "fm_tail": (4.42, 22.76, 1.09), "fm_tail_tied": (6.49, 44.79, 1.37), "wartok": (3.06, 11.30, 0.34)}
# §5.1 Table 1, matched rFID ~5: (iterations, rFID, gFID, gLoss).
PAPER_T1 = {"baseline_1d": ("50K", 4.89, 44.42, 1.07), "tail_dropout": ("90K", 4.94, 17.60, 0.78),
            "fm_decoder": ("290K", 4.91, 38.68, 1.50), "fm_tail": ("350K", 5.07, 24.23, 1.13),
            "fm_tail_tied": ("500K", 5.01, 42.60, 1.41), "wartok": ("100K", 4.99, 14.50, 0.42)}
# §5.2 Table 2, ImageNet 256: (rFID, gFID, AR loss).
PAPER_T2 = {"baseline_1d": (2.05, 6.32, 7.89), "wartok": (2.35, 5.42, 7.07)}
# the rows "lower than every baseline" is tested against: Table 1's baselines and the K/16 control the paper lacks
BASELINES = ["baseline_1d", "tail_dropout", "fm_decoder", "fm_tail", "fm_tail_tied", "control_small_k"]
TABLE1_BASELINES = BASELINES[:-1]  # W Table 1's own rows, the candidates for "the strongest baseline"
TRAINED_MARGIN_DB = 2.0  # a baseline must beat the mean image's validation PSNR by this much to count as trained
FM_ROWS = ["fm_decoder", "fm_tail", "fm_tail_tied"]  # the flow-matching decoders (FlowMo, FlexTok, SelfTok)
ITERATION_SEEDS = ("wartok", "fm_tail_tied")  # the rows whose every seed the "fewer iterations" claim reads


def labels(k_control: int) -> dict[str, str]:
    """The display name of every row (W §2.3, App. F.1), the control row with its codebook size."""
    return {"baseline_1d": "1D tokenizer (TiTok)", "tail_dropout": "tail dropout", "fm_decoder": "FM decoder",
            "fm_tail": "FM + tail", "fm_tail_tied": "FM + tail + tied", "wartok": "wAR-Tok (WGF-DPD)",
            "control_small_k": f"1D, codebook K/16 = {k_control} (control)"}


def common_sets(dataset: str) -> list[str]:
    """The ``--set`` overrides every row shares: the data set, and its native image size when not Fashion-MNIST."""
    sets = [f"data.dataset={dataset}"]
    if dataset != "fashion_mnist":
        sets += [f"data.image_size={data.native_size(dataset)}"]
    return sets


def sweep_codebooks(k0: int, smoke: bool) -> list[int]:
    """The codebook sizes of the frontier sweep below the preset ``k0`` (docs/protocol.md, "Rate, not only loss"):
    K/32 ... K/2 (cpu: 8, 16, 32, 64, 128 under 256; wAR-Tok's rate lies between K = 64 and 256), only K/16 at the
    smoke tier; never below 2."""
    return sorted({max(2, k0 // f) for f in ((16,) if smoke else (32, 16, 8, 4, 2))})


WGF_WEIGHTS = (0.01, 0.03, 0.1, 0.3)  # the WGF-DPD curve at the cpu tier (W gives no weight)


def search_grid(w0: float, t0: float, smoke: bool) -> dict[str, tuple[float, float]]:
    """The WGF-DPD curve drawn against the codebook frontier and searched on the validation split,
    {"w<weight>_T<temperature>": (weight, temperature)}: the weights ``WGF_WEIGHTS`` (0.01 ... 0.3, a decade either
    side of the preset 0.1) at the preset target temperature ``t0``; the preset and 3x its weight at the smoke tier.
    W F.1 gives neither value ("a low temperature"); the temperature stays at the preset."""
    weights = (w0, w0 * 3) if smoke else WGF_WEIGHTS
    return {f"w{w:g}_T{t0:g}": (w, t0) for w in weights}


class RowMetrics:
    """One seed's test-split numbers, what ``evaluation.row_runner`` calls for every row and seed.

    The Fréchet columns come from ``evaluation.fd_columns`` (rFD of the reconstructions, gFD of the stage-2 AR's
    samples, pFD of the samples against the reconstructions, gFD - rFD), the rest from the runs' logged test and
    validation rows: gLoss (nats per token, W Table 1/3's AR loss), the rate gLoss x tokens (nats per image),
    teacher-forcing top-1 (W Fig. 1), codes used and token entropy, and the validation PSNR and rate that the WGF
    search reads. The first 64 samples of each stage-1 run directory are kept in ``samples`` (Fig. 2)."""

    def __init__(self, real_test: torch.Tensor, dataset: str, classifier=None, bootstrap: int = evaluation.BOOTSTRAP,
                 real_val: torch.Tensor | None = None):
        self.real_test, self.dataset, self.classifier, self.bootstrap = real_test, dataset, classifier, bootstrap
        self.real_val = real_val  # with it, also val_rfid and val_gfid: what "the strongest baseline" is chosen by
        self.samples: dict[Path, torch.Tensor] = {}

    def __call__(self, r: evaluation.SeedRuns) -> dict:
        fd, imgs, rf, _ = evaluation.fd_columns(r, self.real_test, self.dataset, self.classifier, self.bootstrap)
        self.samples.setdefault(r.stage1, imgs[:64])
        t1, t2 = evaluation.test_metrics(r.stage1), evaluation.test_metrics(r.stage2)
        v1, v2 = evaluation.validation_rows(r.stage1)[-1], evaluation.validation_rows(r.stage2)[-1]
        n_tok = r.config.tokenizer.n_tokens
        out = {**fd, "gloss": t2["gloss"], "rate": t2["gloss"] * n_tok,
               "top1": t2["top1"], "codes_used": t1["codes_used"], "token_entropy": t1["token_entropy"],
               "val_psnr": v1["psnr"], "val_rate": v2["gloss"] * n_tok, "val_gloss": v2["gloss"],
               "seconds_per_step": train.artifacts.seconds_per_step(r.stage1),
               "n": rf["n"], "features": rf["features"]}
        if self.real_val is not None:  # after every test-split draw, so the test numbers are the same without it
            out["val_rfid"] = evaluation.rfid(r.stage1, self.real_val, self.dataset, seed=r.seed,
                                              classifier_config=self.classifier, bootstrap=0)["value"]
            out["val_gfid"] = evaluation.frechet(self.real_val, imgs, self.dataset, self.classifier, 0)["value"]
        return out


# ------------------------------------------------------------------------------------ the WGF search (validation)

def constant_anchor(dataset: str, split: str, n: int, image_size: int | None = None) -> tuple[float, float]:
    """(rate 0, PSNR of the mean training image against the first ``n`` images of ``split``): the frontier's K = 1.
    A one-code tokenizer carries no information (rate 0) and decodes every image to one image, at best the mean."""
    mean = evaluation.reference_images(dataset, "train", 5000, image_size=image_size).mean(0, keepdim=True)
    imgs = evaluation.reference_images(dataset, split, n, image_size=image_size)
    return 0.0, float(psnr(mean.expand_as(imgs), imgs))


def points(r: evaluation.Row, rate: str = "rate", quality: str = "psnr") -> list[tuple[float, float]]:
    """A row's per-seed (rate, PSNR) pairs, what ``frontier.bootstrap_gap`` reads."""
    return list(zip(r.values(rate), r.values(quality)))


GAIN = "val PSNR gain over the frontier (dB)"


def search_table(search: Mapping[str, evaluation.Row], grid: Mapping[str, tuple[float, float]],
                 sweep: Mapping[int, evaluation.Row], anchor: tuple[float, float]) -> list[dict]:
    """One row per WGF-DPD variant: its validation rate and PSNR, and its PSNR gain over the codebook frontier at
    its own validation rate (``frontier.psnr_gain`` through the sweep's validation means and ``anchor``); None
    where the variant's rate lies outside the frontier."""
    val_sweep = {k: points(r, "val_rate", "val_psnr") for k, r in sweep.items()}
    out = []
    for key, r in search.items():
        g = frontier.bootstrap_gap(val_sweep, points(r, "val_rate", "val_psnr"), "psnr_gain", anchor=anchor)
        w, t = grid[key]
        out.append({"variant": key, "wgf.weight": w, "wgf.target_temperature": t,
                    "val rate (nats/image)": r.mean("val_rate"), "val PSNR": r.mean("val_psnr"), GAIN: g["value"]})
    return out


def choose_variant(rows: Sequence[dict], default: str) -> tuple[str, bool]:
    """(the variant with the largest validation PSNR gain, True), or (``default``, False) when no variant lies
    inside the frontier's validation rate range."""
    scored = [row for row in rows if row[GAIN] is not None]
    if not scored:
        return default, False
    return max(scored, key=lambda row: row[GAIN])["variant"], True


# --------------------------------------------------------------------------------- Table 3: matched iterations

def frechet_label(r: evaluation.Row) -> str:
    """"FID" with Inception weights, else "FD-clf" (the suite's classifier features): the metric of a row."""
    return metrics.METRIC_LABELS[r.per_seed[0]["metric"]]


def quantity(r: evaluation.Row, metric: str):
    """What the claims helper reads: per-seed values, or one Fréchet number with its interval over samples."""
    m = r.per_seed[0]
    if len(r.per_seed) == 1 and m.get(f"{metric}_lo") is not None:
        return {"value": m[metric], "lo": m[f"{metric}_lo"], "hi": m[f"{metric}_hi"]}
    return r.values(metric)


def cell(r: evaluation.Row, metric: str) -> str:
    """mean [interval] for a table cell: over seeds, or over samples for a one-seed Fréchet number."""
    q = quantity(r, metric)
    if isinstance(q, dict):
        return f"{q['value']:.3f} [{q['lo']:.3f}, {q['hi']:.3f}] (1 seed)"
    return interval_cell(r.summary[metric])


def interval_kind(r: evaluation.Row) -> str:
    """The interval of a row's cells: Student t over its seeds, or (one seed) over samples for Fréchet numbers."""
    return evaluation.interval_kind(r, "1 seed: none (Fréchet: bootstrap over samples)")


def table3(rows: Mapping[str, evaluation.Row], names: Mapping[str, str], metric: str) -> tuple[list[dict], dict]:
    """W App. B Table 3 at this tier: every row at the same stage-1 iterations. Returns (the table's rows, {row:
    {"matched_iterations": iterations, seeds, per-seed numbers and summaries}} for results.json)."""
    table, record = [], {}
    for row, r in rows.items():
        record[row] = {"matched_iterations": {"iters": r.runs[0].config.optim.steps, "seeds": r.seeds,
                                              "per_seed": r.per_seed, "summary": r.summary}}
        p = PAPER_T3.get(row, (None, None, None))
        table.append({"method": names[row], "seeds": len(r.seeds), "iters": r.runs[0].config.optim.steps,
                      f"r{metric}": cell(r, "rfid"), f"g{metric}": cell(r, "gfid"), "pFD-clf": cell(r, "pfd"),
                      f"g{metric} - r{metric}": cell(r, "gap"), "interval": interval_kind(r),
                      "gLoss (nats/token)": cell(r, "gloss"), "rate (nats/image)": cell(r, "rate"),
                      "top-1": cell(r, "top1"), "PSNR": cell(r, "psnr"), "codes used": cell(r, "codes_used"),
                      "token entropy": cell(r, "token_entropy"), "paper rFID": p[0], "paper gFID": p[1],
                      "paper gLoss": p[2]})
    return table, record


def frechet_record(r: evaluation.Row, n: int, bootstrap: int, dataset: str) -> dict:
    """results.json's description of the Fréchet numbers: metric, features, N, intervals, pFD and the reference."""
    m = r.per_seed[0]
    return {"metric": m["metric"], "label": frechet_label(r), "features": m["features"], "n": n,
            "interval": f"95% Student t over seeds (n in each row's 'interval'); one-seed rows: "
                        f"percentile bootstrap over samples ({bootstrap} resamples)",
            "pfd": "pFD-clf: AR samples against the tokenizer's reconstructions of the same test images "
                   "(classifier features); gap: gFD - rFD of the same seed",
            "reference": f"first {n} {dataset} test images (rFD: reconstructed vs original; gFD: AR samples)"}


# ----------------------------------------------------------------------------------- the rate-distortion frontier

def frontier_gaps(sweep: Mapping[int, evaluation.Row], wartok: evaluation.Row,
                  anchor: tuple[float, float]) -> tuple[dict, dict, dict]:
    """wAR-Tok's distance to the test-split codebook frontier, both ways (``tvclab.frontier``): (the rate it saves
    at its own PSNR, its PSNR gain at its own rate, results.json's "frontier" record)."""
    test_sweep = {k: points(r) for k, r in sweep.items()}
    gap = frontier.bootstrap_gap(test_sweep, points(wartok), "rate_saving", anchor=anchor)
    gap_psnr = frontier.bootstrap_gap(test_sweep, points(wartok), "psnr_gain", anchor=anchor)
    record = {"sweep": {str(k): {"rate": r.values("rate"), "psnr": r.values("psnr"), "rfid": r.values("rfid"),
                                 "codes_used": r.values("codes_used")} for k, r in sweep.items()},
              "wartok": {"rate": wartok.values("rate"), "psnr": wartok.values("psnr")},
              "rate_saving_at_equal_psnr": gap, "psnr_gain_at_equal_rate": gap_psnr, "anchor_test": anchor}
    return gap, gap_psnr, record


def plot_frontier(axes, sweep: Mapping[int, evaluation.Row], search: Mapping[str, evaluation.Row],
                  rows: Mapping[str, evaluation.Row], anchor: tuple[float, float], names: Mapping[str, str],
                  chosen: tuple[float, float], metric: str,
                  no_restart: Mapping[str, evaluation.Row] | None = None) -> None:
    """The two frontier panels: (a) PSNR and (b) rFD against the rate, the codebook sweep as a grey line with
    one-sd bars over seeds (and, in (a), the K = 1 anchor), the WGF-DPD weight curve as a red line (one-sd bars,
    each point labelled by its weight), wAR-Tok as a star, the other baselines as markers and, where given, the
    rows without the dead-code restart (``no_restart``: {"K=256" or a search key: row}) as hollow markers. One
    legend, outside the panels; point labels sit on alternating sides so neighbours do not overlap."""
    ks = sorted(sweep)
    for ax, key, label in ((axes[0], "psnr", "PSNR (dB, test)"), (axes[1], "rfid", f"r{metric} (test)")):
        xs = [sweep[k].mean("rate") for k in ks]
        ys = [sweep[k].mean(key) for k in ks]
        if key == "psnr":
            ax.plot([anchor[0], xs[0]], [anchor[1], ys[0]], ":", color="0.35")
            ax.plot(*anchor, "o", mfc="white", color="0.35", label="K = 1: the mean image (rate 0)")
        xe = [sweep[k].summary["rate"]["std"] or 0 for k in ks]
        ye = [sweep[k].summary[key]["std"] or 0 for k in ks]
        ax.errorbar(xs, ys, xerr=xe, yerr=ye, fmt="-o", color="0.35", capsize=3,
                    label="codebook sweep K (no WGF)")
        for i, (k, x, y) in enumerate(zip(ks, xs, ys)):
            ax.annotate(f"K={k}", (x, y), textcoords="offset points", xytext=(6, -13 if i % 2 else 6), fontsize=8,
                        color="0.35")
        order = sorted(search, key=lambda name: search[name].runs[0].config.wgf.weight)
        wx = [search[n].mean("rate") for n in order]
        wy = [search[n].mean(key) for n in order]
        ax.errorbar(wx, wy, xerr=[search[n].summary["rate"]["std"] or 0 for n in order],
                    yerr=[search[n].summary[key]["std"] or 0 for n in order], fmt="-x", color="tab:red", ms=7,
                    mew=2, capsize=2, label="WGF-DPD weight curve (K = 256)")
        for i, (n, x, y) in enumerate(zip(order, wx, wy)):
            ax.annotate(f"w={search[n].runs[0].config.wgf.weight:g}", (x, y), textcoords="offset points",
                        xytext=(-8, 8) if i % 2 else (6, -13), ha="right" if i % 2 else "left", fontsize=7,
                        color="tab:red")
        w = rows["wartok"]
        ax.errorbar(w.mean("rate"), w.mean(key), xerr=w.summary["rate"]["std"] or 0,
                    yerr=w.summary[key]["std"] or 0, fmt="*", color="tab:red", ms=15, capsize=3,
                    label=f"wAR-Tok (chosen on validation: w {chosen[0]:g}, T {chosen[1]:g})")
        for row, marker in (("tail_dropout", "s"), ("fm_decoder", "^"), ("fm_tail", "v"), ("fm_tail_tied", "D")):
            r = rows[row]
            ax.plot(r.mean("rate"), r.mean(key), marker, ms=7, label=names[row])
        for name, r in (no_restart or {}).items():
            color = "tab:red" if "wAR" in name else "0.35"
            ax.plot(r.mean("rate"), r.mean(key), "o", mfc="none", mec=color, ms=9, mew=1.5,
                    label=f"{name}, no dead-code restart")
        ax.set_xlabel("prior rate: gLoss x tokens (nats / image, test)")
        ax.set_ylabel(label)
    axes[0].set_title("(a) distortion as PSNR: higher is better")
    axes[1].set_title(f"(b) distortion as r{metric}: lower is better")
    handles, labels_ = axes[1].get_legend_handles_labels()
    h0, l0 = axes[0].get_legend_handles_labels()
    extra = [(h, lab) for h, lab in zip(h0, l0) if lab not in labels_]
    axes[1].legend(handles + [h for h, _ in extra], labels_ + [lab for _, lab in extra], fontsize=7,
                   loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


# ------------------------------------------------------------------------- paired switches: restart, trained target

PAIRED_COLUMNS = ("codes_used", "psnr", "rate", "gloss", "rfid", "pfd")


def paired_table(pairs: Mapping[str, tuple[evaluation.Row, evaluation.Row]], what: tuple[str, str],
                 columns: Sequence[str] = PAIRED_COLUMNS) -> tuple[list[dict], dict]:
    """One switch flipped on the same seeds: {label: (row with it, row without)} -> (a table with each side's mean
    and the paired difference "with - without" [t interval over the shared seeds] per column, results.json's
    record). The seeds must match one for one (same config otherwise, so the same initialisation and batches: the
    pairing is real); a pair with one seed is a description (no interval)."""
    table, record = [], {}
    for label, (a, b) in pairs.items():
        shared = [s for s in a.seeds if s in b.seeds]
        va = {c: [m[c] for m in a.per_seed if m["seed"] in shared] for c in columns}
        vb = {c: [m[c] for m in b.per_seed if m["seed"] in shared] for c in columns}
        diffs = {c: stats.difference(va[c], vb[c], paired=True) for c in columns}
        line = {"row": label, "seeds": len(shared)}
        for c in columns:
            d = diffs[c]
            line[f"{c} ({what[0]})"] = float(np.mean(va[c]))
            line[f"{c} ({what[1]})"] = float(np.mean(vb[c]))
            line[f"{c}: {what[0]} - {what[1]}"] = (f"{d['mean']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}]"
                                                   if d["lo"] is not None else f"{d['mean']:.3f} (1 seed)")
        line["interval"] = f"t paired, {len(shared)} seeds" if len(shared) > 1 else "1 seed: none"
        table.append(line)
        record[label] = {"seeds": shared, what[0]: va, what[1]: vb, "difference": diffs}
    return table, record


# ------------------------------------------------------------------------------ Table 1: matched reconstruction

def trained_pool(rows: Mapping[str, evaluation.Row], anchor_val: tuple[float, float],
                 among: Sequence[str] = TABLE1_BASELINES, margin_db: float = TRAINED_MARGIN_DB) -> tuple[list, dict]:
    """(the rows of ``among`` that are trained, {row: (validation PSNR, the mean image's, kept?)}): a baseline
    counts as trained when its validation PSNR (seed mean) beats the constant mean image's (``constant_anchor``) by
    at least ``margin_db`` dB. A row that barely beats what a one-code tokenizer decodes cannot stand for its
    method, so it stays out of "the strongest baseline" and out of the matched target (it is still shown). When no
    row passes (the smoke tier's few steps), the pool is the 1D baseline alone, the paper's reference row, and the
    record says so under "fallback"."""
    record = {r: (rows[r].mean("val_psnr"), anchor_val[1], rows[r].mean("val_psnr") >= anchor_val[1] + margin_db)
              for r in among if r in rows}
    pool = [r for r, (_, _, ok) in record.items() if ok]
    if not pool:
        print(f"no baseline beats the mean image by {margin_db:g} dB on validation: the pool falls back to the 1D "
              "baseline alone")
        return ["baseline_1d"], {**record, "fallback": "baseline_1d"}
    return pool, record


def iterations_needed(rows: Mapping[str, evaluation.Row], matched: dict, real_val: torch.Tensor, dataset: str,
                      classifier=None, seeded: Sequence[str] = ITERATION_SEEDS) -> dict[str, list[int | None]]:
    """The stage-1 iterations each row needs to come within the tolerance of the common validation target (W Table
    1's "Iters") on its smoothed curve: the first seed's from ``matched`` (``evaluation.matched_snapshots``), and for
    the rows in ``seeded`` every other seed's from its own snapshot curve, smoothed alike (None: that seed never
    reaches it)."""
    out = {}
    for row, r in rows.items():
        steps = [matched["steps"][row]]
        for run in (r.runs[1:] if row in seeded else []):
            curve = evaluation.smooth_curve(
                evaluation.snapshot_curve(run.stage1, real_val, dataset, run.seed, classifier), matched["smooth"])
            steps.append(evaluation.first_reaching(curve, matched["target"] * (1 + matched["tolerance"])))
        out[row] = steps
    return out


def matched_record(r: evaluation.Row, run: evaluation.SeedRuns, step: int, real_test: torch.Tensor, dataset: str,
                   tier: str, classifier=None, bootstrap: int = evaluation.BOOTSTRAP) -> dict:
    """One seed of a row at its matched snapshot ``step``: the same stage-2 AR trained on that snapshot's tokens
    (``stage2.tokenizer_step``), then rFD, gFD and pFD (with intervals over samples), gFD - rFD, gLoss, top-1,
    PSNR, codes used and token entropy on the test split."""
    from tvclab.train.stage1 import marginal_stats

    sets = evaluation.seed_sets(r.sets, run.seed) + (
        [f"stage2.tokenizer_step={step}"] if step != run.config.optim.steps else [])
    s2m = train.run("stage2", r.name, tier, sets, resume=True)
    recon = evaluation.reconstructions(run.stage1, real_test, seed=run.seed, step=step)
    rf = evaluation.rfid(run.stage1, real_test, dataset, step=step, seed=run.seed, classifier_config=classifier,
                         bootstrap=bootstrap, recon=recon)
    gf, imgs = evaluation.gfid(s2m, real_test, dataset, seed=run.seed, classifier_config=classifier,
                               bootstrap=bootstrap)
    prior = evaluation.prior_columns(imgs, recon, rf["value"], gf["value"], dataset, classifier, bootstrap)
    t2 = evaluation.test_metrics(s2m)
    codes = marginal_stats(train.encode_dataset(run.stage1, "test", step=step)["tokens"],
                           run.config.quantizer.codebook_size)
    return {"seed": run.seed, "iters": step, "rfid": rf["value"], "rfid_lo": rf["lo"], "rfid_hi": rf["hi"],
            "psnr": rf["psnr"], "gfid": gf["value"], "gfid_lo": gf["lo"], "gfid_hi": gf["hi"], **prior,
            "gloss": t2["gloss"], "top1": t2["top1"], "codes_used": codes["codes_used"],
            "token_entropy": codes["token_entropy"]}


def _cell(values: Sequence[float], one: dict | None = None, key: str = "") -> str:
    """A Table 1 cell: mean [t interval] over seeds, or one seed's value with its interval over samples."""
    if len(values) > 1:
        return interval_cell(stats.summarize(list(values)))
    if one is not None and one.get(f"{key}_lo") is not None:
        return f"{one[key]:.3f} [{one[f'{key}_lo']:.3f}, {one[f'{key}_hi']:.3f}] (1 seed)"
    return f"{values[0]:.3f} (1 seed)"


def table1(rows: Mapping[str, evaluation.Row], matched: dict, iters: Mapping[str, list], real_test: torch.Tensor,
           dataset: str, tier: str, names: Mapping[str, str], metric: str, classifier=None,
           bootstrap: int = evaluation.BOOTSTRAP, seeded: Sequence[str] = ()) -> tuple[list[dict], dict]:
    """W Table 1 at this tier: each row at its matched snapshot (``matched_record``), every seed for the rows in
    ``seeded`` (the headline pair: their seeds' own matched snapshots from ``iters``), the first seed otherwise; a
    row that never reaches the target is listed without numbers. Returns (the table's rows, {row: the
    "matched_rfid" record for results.json, with "per_seed" and the seed means})."""
    table, record = [], {}
    for row, r in rows.items():
        p = PAPER_T1.get(row, (None,) * 4)
        head = {"method": names[row], "iters (all seeds)": ", ".join(map(str, iters[row])),
                f"val r{metric} / target": matched["ratio"][row], "paper iters": p[0], "paper rFID": p[1],
                "paper gFID": p[2], "paper gLoss": p[3]}
        if matched["steps"][row] is None:
            record[row] = {"iters": None, "iters_per_seed": iters[row], "reached": False}
            table.append({**head, "seeds": 0, "interval": "target not reached within the run"})
            continue
        runs = [(run, s) for run, s in zip(r.runs, iters[row]) if s is not None] if row in seeded else \
            [(r.runs[0], matched["steps"][row])]
        per_seed = [matched_record(r, run, step, real_test, dataset, tier, classifier, bootstrap)
                    for run, step in runs]
        keys = ("rfid", "gfid", "pfd", "gap", "gloss", "top1", "psnr", "codes_used", "token_entropy")
        col = {k: [m[k] for m in per_seed] for k in keys}
        record[row] = {**per_seed[0], "iters_per_seed": iters[row], "val_rfid": matched["value"][row],
                       "val_rfid_raw": matched["raw"][row], "ratio_to_target": matched["ratio"][row],
                       "reached": True, "per_seed": per_seed, "seeds": [m["seed"] for m in per_seed],
                       "mean": {k: float(np.mean(v)) for k, v in col.items()}}
        one = per_seed[0] if len(per_seed) == 1 else None
        table.append({**head, "seeds": len(per_seed), "iters": ", ".join(str(m["iters"]) for m in per_seed),
                      f"test r{metric}": _cell(col["rfid"], one, "rfid"), f"test g{metric}": _cell(col["gfid"], one, "gfid"),
                      "test pFD-clf": _cell(col["pfd"], one, "pfd"), f"g{metric} - r{metric}": _cell(col["gap"]),
                      "interval": (f"t, {len(per_seed)} seeds" if len(per_seed) > 1
                                   else "1 seed: bootstrap over samples"),
                      "gLoss": _cell(col["gloss"]), "top-1": _cell(col["top1"]), "PSNR": _cell(col["psnr"]),
                      "codes used": _cell(col["codes_used"]), "token entropy": _cell(col["token_entropy"])})
    return table, record


def matched_values(record: Mapping[str, dict], row: str, metric: str):
    """What the claims helper reads at the matched snapshot: the per-seed values of a row with several seeds there,
    else its one Fréchet number with the interval over samples (or the bare number: no interval)."""
    m = record[row]["matched_rfid"]
    if len(m.get("per_seed", [])) > 1:
        return [s[metric] for s in m["per_seed"]]
    if m.get(f"{metric}_lo") is not None:
        return {"value": m[metric], "lo": m[f"{metric}_lo"], "hi": m[f"{metric}_hi"]}
    return {"value": m[metric]}


# ---------------------------------------------------------------------------------------- Fig. 1: AR dynamics

def ar_curves(rows: Mapping[str, evaluation.Row]) -> dict[str, dict[str, list]]:
    """Each row's stage-2 validation curves of its first seed, {row: {"step", "gloss", "top1"}} (W Fig. 1)."""
    out = {}
    for row, r in rows.items():
        ev = evaluation.validation_rows(r.runs[0].stage2)
        out[row] = {"step": [e["step"] for e in ev], "gloss": [e["gloss"] for e in ev], "top1": [e["top1"] for e in ev]}
    return out


def plot_ar_dynamics(axes, curves: Mapping[str, dict], names: Mapping[str, str], palette: Mapping[str, object]) -> None:
    """W Fig. 1's two panels: (a) gLoss and (b) top-1 against the stage-2 step, wAR-Tok drawn thicker and the K/16
    control dashed."""
    for row, c in curves.items():
        style = "-" if row != "control_small_k" else "--"
        for ax, key in zip(axes, ("gloss", "top1")):
            ax.plot(c["step"], c[key], style, color=palette[row], label=names[row], lw=2 if row == "wartok" else 1.3)
    axes[0].set_title("(a) AR loss on validation tokens")
    axes[0].set_ylabel("gLoss (nats / token)")
    axes[1].set_title("(b) teacher-forcing top-1 accuracy on validation tokens")
    axes[1].set_ylabel("top-1 accuracy")
    for ax in axes:
        ax.set_xlabel("stage-2 step")


# ---------------------------------------------------------------------------------------------------- claims

def best_row(rows: Mapping[str, evaluation.Row], metric: str, among: Sequence[str] = BASELINES) -> str:
    """The row of ``among`` with the lowest seed mean of ``metric`` **on the validation split** (``val_<metric>``,
    which ``RowMetrics`` records when given validation images): what "lower than every baseline" is tested against.
    The test split is only reported, never chosen on."""
    key = f"val_{metric}"
    missing = [m for m in among if key not in rows[m].summary]
    if missing:
        raise ValueError(f"best_row: no validation {metric!r} ({key}) in rows {missing}; build RowMetrics with "
                         "real_val so the strongest baseline is chosen on validation")
    return min(among, key=lambda m: rows[m].mean(key))


def paper_pair(column: int, table: Mapping[str, tuple] = PAPER_T3) -> tuple[float, float]:
    """(wAR-Tok's paper number, the best (lowest) baseline's) in ``column`` of a paper table: what the claims helper
    checks our comparison's direction against."""
    return table["wartok"][column], min(v[column] for k, v in table.items() if k != "wartok")


def reached(steps: Sequence[int | None]) -> list[int]:
    """The iterations of the seeds that reached the target (None: never)."""
    return [s for s in steps if s is not None]


def censored(steps: Sequence[int | None], budget: int) -> tuple[list[int], int]:
    """(every seed's iterations, a seed that never reached the target counted at the run's ``budget``; how many
    were so counted): for a row that never gets there within the run, the budget is a lower bound on what it needs."""
    return [budget if s is None else s for s in steps], sum(s is None for s in steps)


def fastest_fm_row(iters: Mapping[str, Sequence[int | None]], among: Sequence[str] = FM_ROWS) -> str:
    """The flow-matching row whose seeds need the fewest iterations on average (a row none of whose seeds reached the
    target counts as infinitely slow): W Table 1's fastest FM row is FlowMo, 290K."""
    return min(among, key=lambda r: np.mean(reached(iters[r]) or [np.inf]))


def gfd_minus_rfd(rows: Mapping[str, evaluation.Row]) -> dict:
    """gFD - rFD of every row (seed means), its mean and sd across rows and the range of gLoss: a small spread of
    gFD - rFD across rows whose gLoss differs means gFD follows the decoder more than the prior."""
    diff = [rows[r].mean("gfid") - rows[r].mean("rfid") for r in rows]
    return {"rows": {r: rows[r].mean("gfid") - rows[r].mean("rfid") for r in rows},
            "mean": float(np.mean(diff)), "std": float(np.std(diff)),
            "gloss_range": [min(rows[r].mean("gloss") for r in rows), max(rows[r].mean("gloss") for r in rows)]}


def wgf_cost_ratio(rows: Mapping[str, evaluation.Row]) -> dict:
    """wAR-Tok's stage-1 seconds per step over the 1D baseline's (W F.1: about 1.10, two extra AR forwards), the
    fastest seed of each: a run that shared the cores with another job has slower steps, never faster ones."""
    spp = {r: [m["seconds_per_step"] for m in rows[r].per_seed if m["seconds_per_step"]] for r in ("baseline_1d", "wartok")}
    return {"ratio": float(min(spp["wartok"]) / min(spp["baseline_1d"])),
            "seconds_per_step": spp, "paper": "about 1.10 (W F.1)",
            "note": "stage-1 training steps (evaluation excluded), fastest seed of each row; "
                    "python -m tvclab.bench wgf_overhead measures it in one process"}


# ------------------------------------------------------------------------------------- Table 2: ImageNet 256

IMAGENET_SETS = ["data.dataset=imagenet", "data.image_size=256", "tokenizer.patch_size=16",
                 "runtime.data_root=/path/to/imagenet"]


def imagenet_row(root: Path, name: str, label: str, n: int) -> dict | None:
    """W §5.2 Table 2's row of one finished paper-tier ImageNet run directory (stage 1 and ``stage2/``): rFID and
    gFID (FD-clf without Inception), pFD-clf, gFD - rFD and the AR loss beside the paper's; None when unfinished."""
    if not (train.artifacts.is_done(root) and train.artifacts.is_done(root / "stage2")):
        return None
    cfg2 = train.run_config(root)
    real_in = evaluation.reference_images("imagenet", "test", n, image_size=cfg2.data.image_size,
                                          root=cfg2.runtime.data_root or None)
    recon_in = evaluation.reconstructions(root, real_in)
    rf = evaluation.rfid(root, real_in, "imagenet", recon=recon_in)
    gf, imgs_in = evaluation.gfid(root / "stage2", real_in, "imagenet")
    prior_in = evaluation.prior_columns(imgs_in, recon_in, rf["value"], gf["value"], "imagenet")
    m = metrics.METRIC_LABELS[rf["metric"]]
    return {"method": label, f"r{m}": rf["value"], f"g{m}": gf["value"],
            "pFD-clf": prior_in["pfd"], f"g{m} - r{m}": prior_in["gap"],
            "AR loss": evaluation.test_metrics(root / "stage2")["gloss"], "N": rf["n"],
            "paper rFID": PAPER_T2[name][0], "paper gFID": PAPER_T2[name][1], "paper AR loss": PAPER_T2[name][2]}


def imagenet_commands(name: str) -> list[str]:
    """The ``torchrun`` command lines (8 GPUs) of config ``name``'s paper-tier ImageNet row: stage 1, stage 2 and
    the samples (W F.2)."""
    cfg2 = configs.apply_overrides(configs.get(name, "paper"), IMAGENET_SETS)
    out = Path(f"runs/paper/imagenet/{name}")
    return ["torchrun --standalone --nproc_per_node=8 -m" + train.command(stage, cfg2, out)[len("python -m"):]
            for stage in ("stage1", "stage2", "sample")]
