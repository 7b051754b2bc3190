"""The cross-paper comparison of notebook 06: the four methods on one setting (issue "cross-paper comparison").

Every row is a config of the suite with the *same backbone*: data, the tokenizer's shape (kind, patch, width,
depths, heads, MLP ratio, tokens), the stage-2 AR's shape and every stage's step and batch budget
(``BACKBONE``; ``check_backbone`` fails on a difference). What differs is the method:

- ``plain``: the 1D two-stage baseline (paper W's TiTok row), the reference;
- ``wgf_dpd``: WGF-DPD (paper W), tokenizer-side prior matching, at the setting notebook 02 chose on validation;
- ``flow_prior``: paper F's alignment of continuous latents to a flow prior (semantic target), with F's generator
  for continuous tokens (a causal AR with a per-token flow head: not the discrete AR of the other rows);
- ``prologue``: paper P's prologue tokens on the same 1D tokenizer (P uses a 2D one; here the backbone is shared);
- ``vapi``: paper V's post-training of the plain baseline's AR (tokenizer unchanged), at notebook 05's lr;
- ``wgf_vapi``: WGF-DPD's tokenizer and VA-pi post-training of its AR, the combination no paper runs.

Run directories are the notebooks' own where the config is the same (the runner returns at once for a finished
run): ``plain`` and ``wgf_dpd`` are notebook 02's, ``vapi`` notebook 05's, ``flow_prior`` notebook 03's.

The second half is notebook 06's orchestration, so the notebook reads as a report: the validation choices of
notebooks 02 and 05 (``chosen_in``, ``chosen_sets``), the codebook sweep (``codebook_sweep``), the paper-tier
commands (``paper_tier_commands``), one seed's Table X1 numbers (``RowEvaluator``), the cost column
(``stage1_cost``), Table X1 (``table_x1``), the frontier (``codebook_frontier``) and the claims
(``headline_claims``, ``frontier_claims``).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

from . import configs

BACKBONE = ("data.", "tokenizer.", "stage2.ar.", "optim.steps", "optim.batch_size", "stage2.optim.steps",
            "stage2.optim.batch_size", "stage2.train_images", "posttrain.optim.steps", "posttrain.optim.batch_size")


class Method(NamedTuple):
    config: str              # the preset
    sets: tuple[str, ...]    # its overrides
    posttrain: bool          # the generator is post-trained (paper V) after stage 2
    label: str
    paper: str               # the paper's own gain over its own baseline (its data, not ours)


def methods(wgf_sets: Sequence[str] = (), post_sets: Sequence[str] = (), **chosen: Sequence[str]) -> dict[str, Method]:
    """The rows: the plain reference, then every registered method's rows (``configs.MethodSpec.rows``) in their
    ``order``. A row takes the settings chosen on validation for the methods it names (``chosen``, by method name;
    ``wgf_sets`` / ``post_sets``: those of WGF-DPD and VA-pi, chosen by notebooks 02 and 05; empty: the presets')."""
    picked = {"wgf_dpd": tuple(wgf_sets), "vapi": tuple(post_sets), **{k: tuple(v) for k, v in chosen.items()}}
    rows = sorted((r for spec in configs.METHODS.values() for r in spec.rows), key=lambda r: r.order)
    out = {"plain": Method("baseline_1d", (), False, "plain two-stage (1D)", "reference")}
    for r in rows:
        sets = tuple(s for name in r.chosen for s in picked.get(name, ())) + r.sets
        out[r.key] = Method(r.config, sets, r.posttrain, r.label, r.paper)
    return out


def run_sets(m: Method, tier: str) -> list[str]:
    """The overrides of row ``m`` at ``tier``: the plain row's backbone where the method's preset differs (at the
    paper tier each paper has its own preset; W's CIFAR-10 one is the shared backbone), then the method's own.
    Where the presets agree (smoke, cpu) nothing is added, so the run directories are the notebooks' own."""
    shared = backbone(configs.get("baseline_1d", tier))
    own = backbone(configs.get(m.config, tier))
    return [f"{k}={v}" for k, v in shared.items() if own[k] != v] + list(m.sets)


def config(m: Method, tier: str, seed: int = 0) -> configs.Config:
    return configs.apply_overrides(configs.get(m.config, tier), run_sets(m, tier) + [f"seed={seed}"])


def stages(m: Method) -> tuple[str, ...]:
    """The stages row ``m`` runs, in order."""
    return ("stage1", "stage2") + (("posttrain",) if m.posttrain else ())


def inventory(runs: dict[str, tuple[Method, Sequence[int]]], tier: str) -> dict[str, list[str]]:
    """Which stage runs of ``runs`` (``{label: (method, seeds)}``) are finished already and which are still to
    train: ``{"reused": ["plain+vapi seed 0 stage1", ...], "to_train": [...]}``, one entry per run directory (rows
    that share a stage, such as VA-pi and the plain row's stage 1, are listed together). Read-only: it looks for each
    stage's done marker where ``train.run`` puts it. The runner returns at once for those whose marker holds the
    same config, and stops with RunConflictError for one with another (a run this list calls "reused" then does
    not pass silently)."""
    from .train import STAGES, stage_dir

    seen: dict = {}  # stage directory -> [labels, seed, stage, finished]
    for label, (m, seeds) in runs.items():
        for seed in seeds:
            cfg = config(m, tier, seed)
            for st in stages(m):
                sdir = stage_dir(st, cfg)[1]
                if sdir in seen:
                    seen[sdir][0].append(label)
                else:
                    seen[sdir] = [[label], seed, st, (sdir / STAGES[st].marker(cfg)).exists()]
    out: dict[str, list[str]] = {"reused": [], "to_train": []}
    for labels, seed, st, done in seen.values():
        out["reused" if done else "to_train"].append(f"{'+'.join(labels)} seed {seed} {st}")
    return out


def backbone(cfg: configs.Config) -> dict:
    """The leaves every row must share."""
    return {k: v for k, v in cfg.flat().items() if any(k == b or (b.endswith(".") and k.startswith(b))
                                                       for b in BACKBONE)}


def check_backbone(rows: dict[str, Method], tier: str) -> dict:
    """The shared backbone of ``rows`` at ``tier``; raises naming the row and the fields that differ."""
    ref_name = next(iter(rows))
    ref = backbone(config(rows[ref_name], tier))
    for name, m in rows.items():
        b = backbone(config(m, tier))
        diff = {k: (ref.get(k), b.get(k)) for k in set(ref) | set(b) if ref.get(k) != b.get(k)}
        if diff:
            raise ValueError(f"row {name!r} does not share the backbone of {ref_name!r} at tier {tier}: "
                             + ", ".join(f"{k} {a!r} vs {v!r}" for k, (a, v) in sorted(diff.items())))
    return ref


# ------------------------------------------------------------------------------------------------ notebook 06
# The orchestration of notebook 06, in the order the notebook calls it: the settings other notebooks chose, the
# codebook sweep, the paper-tier commands, one seed's Table X1 numbers, the cost column, Table X1 itself, the
# codebook frontier and the claims. Every function keeps the order of the draws the notebook made when this code
# lived in it (the reconstructions before the samples, the test samples before the validation ones), so the numbers
# are the same.

PAPER_GFD = {"wgf_dpd": (11.30, 52.53), "flow_prior": (11.47, 15.08), "prologue": (10.75, 21.01),
             "vapi": (9.23, 15.55)}
"""Each paper's (method, its own baseline) gFID, as ``methods`` quotes them (``Method.paper``): W Table 3 (CIFAR-10),
F Table 1 (ImageNet, MAR-B, DINOv2 target), P Table 1 (ImageNet, no guidance), V (LlamaGen-XL, no guidance). The
claims check only their direction (paper's method below paper's baseline), never our numbers against them."""

VAL_SAMPLE_SEED = 10_000
"""Validation samples are drawn with seed ``VAL_SAMPLE_SEED + seed``, apart from the test samples' ``seed``."""


def chosen_in(notebook: str, key: str, tier: str, figures=None):
    """A setting another notebook chose on the validation split at ``tier``: ``results[key]["chosen"]`` of its
    ``results.json`` under ``figures`` (default ``paths.FIGURES``). None when that notebook has not run, has no such
    search, or ran at another tier (then the presets stand: a choice made at one tier is not carried to another)."""
    from pathlib import Path

    from . import paths
    from .report import load_results

    try:
        res = load_results(Path(figures if figures is not None else paths.FIGURES) / notebook)
    except FileNotFoundError:
        return None
    return res.get(key, {}).get("chosen") if res.get("tier") == tier else None


def chosen_sets(wgf: dict | None, lr: float | None) -> tuple[list[str], list[str]]:
    """The overrides of the validation choices: notebook 02's WGF-DPD ``{"weight", "target_temperature"}`` (paper W
    §4.5-4.7; ``wgf.*``) and notebook 05's post-training learning rate (paper V; a constant schedule, so ``lr`` and
    ``lr_min`` both). ``None``: no override, the preset's value."""
    wgf_sets = ([f"wgf.weight={wgf['weight']:g}", f"wgf.target_temperature={wgf['target_temperature']:g}"]
                if wgf else [])
    post_sets = [f"posttrain.optim.lr={lr:g}", f"posttrain.optim.lr_min={lr:g}"] if lr else []
    return wgf_sets, post_sets


def describe_choices(wgf: dict | None, lr: float | None) -> str:
    """One line: where the WGF-DPD setting and the post-training lr come from."""
    w = f"notebook 02 chose {wgf} on validation" if wgf else "the preset (notebook 02 has not run at this tier)"
    p = f"notebook 05 chose {lr:g} on validation" if lr else "the preset (notebook 05 has not run at this tier)"
    return f"WGF-DPD setting: {w}; post-training lr: {p}"


def codebook_sweep(tier: str, smoke: bool) -> tuple[int, list[int], dict[str, Method]]:
    """The reference frontier of Fig. X1 (paper W §5: "above the frontier" is judged against it): the plain baseline
    with a smaller codebook, K0 // f for f in (32, 16, 8, 4) (smoke: 16 only), notebook 02's sweep sizes so its run
    directories are reused. Returns (K0, the smaller sizes ascending, ``{"plain K=k": Method}``)."""
    k0 = configs.get("baseline_1d", tier).quantizer.codebook_size
    ks = sorted({max(2, k0 // f) for f in ((16,) if smoke else (32, 16, 8, 4))})
    return k0, ks, {f"plain K={k}": Method("baseline_1d", (f"quantizer.codebook_size={k}",), False, f"K={k}", "-")
                    for k in ks}


def paper_tier_commands(rows: dict[str, Method]) -> list[dict]:
    """One table row per method at the paper tier (paper W's CIFAR-10 backbone, shared by every row): its encoder,
    decoder and generator sizes in millions of parameters (models built on the meta device: no memory, no weights)
    and the ``torchrun`` commands of its stages, which produce the run directories the notebook renders at
    ``tier = "paper"``."""
    import torch

    from . import data, train
    from .models import Tokenizer
    from .models.blocks import count_params

    out = []
    for m in rows.values():
        cfg = config(m, "paper")
        root = train.default_run_dir(cfg)
        with torch.device("meta"):
            tok = Tokenizer.from_config(cfg, data.channels(cfg.data.dataset))
            counts = tok.param_counts()
            prior = train.stage2.build_prior(cfg, tok.n_tokens, data.num_classes(cfg.data.dataset))
        cmds = [train.command(st, cfg, root) for st in stages(m)]
        out.append({"row": m.label, "encoder (M)": f"{counts['encoder'] / 1e6:.1f}",
                    "decoder (M)": f"{counts['decoder'] / 1e6:.1f}",
                    "generator (M)": f"{count_params(prior) / 1e6:.1f}", "commands": " ; ".join(cmds)})
    return out


class RowEvaluator:
    """One seed's Table X1 numbers for any row: ``RowEvaluator(...)(name)`` is the ``evaluate`` callback of
    ``evaluation.tier_row`` for row ``name``.

    For one seed ``r`` of row ``name`` it computes, on the test split unless said otherwise:

    - the generator: the post-trained AR (paper V) for a post-trained row, else the stage-2 prior;
    - ``rfid`` / ``psnr``: the tokenizer's reconstructions of the test images against them (no interval over
      samples: Table X1's intervals are over seeds). Reconstructions and rFD are kept per (stage-1 run, seed), so a
      post-trained row reuses the ones of the row whose tokenizer it shares (VA-pi: plain's; WGF-DPD + VA-pi:
      WGF-DPD's) and pFD-clf compares with the very same images;
    - ``gfid`` (with its interval over samples), precision / recall: ``n_eval`` samples against the test images;
    - ``pfd`` / ``gap``: ``evaluation.prior_columns``, the samples against the reconstructions (the prior alone) and
      gFD - rFD of the same seed;
    - ``val_gfid``: samples of their own seed (``VAL_SAMPLE_SEED + seed``) against the validation images, what the
      "best method" claim selects on;
    - ``gloss`` (held-out CE, nats per token, prologue and visual tokens for paper P), ``rate`` = gloss x sequence
      length (nats per image) and ``codes_used``; the flow-prior row (paper F's continuous tokens) has ``fm_loss``
      instead;
    - stage-1 seconds per step as recorded, post-training seconds, and parameter counts.

    ``samples`` keeps the first 10 test samples of every (row, seed) for Fig. X2."""

    def __init__(self, rows: dict[str, Method], tier: str, real_test, real_val, dataset: str, clf, boot: int,
                 n_eval: int):
        self.rows, self.tier, self.real_test, self.real_val = rows, tier, real_test, real_val
        self.dataset, self.clf, self.boot, self.n_eval = dataset, clf, boot, n_eval
        self.samples: dict = {}  # (row, seed) -> the first 10 test samples
        self.recon: dict = {}    # (stage-1 run, seed) -> (reconstructions, rFD dict)

    def __call__(self, name: str):
        return lambda r: self.seed_metrics(name, r)

    def seed_metrics(self, name: str, r) -> dict:
        from . import evaluation, metrics, train
        from .models.blocks import count_params

        m = self.rows[name]
        gen = (train.run("posttrain", m.config, self.tier, evaluation.seed_sets(run_sets(m, self.tier), r.seed))
               if m.posttrain else r.stage2)
        if (r.stage1, r.seed) not in self.recon:
            recon = evaluation.reconstructions(r.stage1, self.real_test, seed=r.seed)  # rFD and pFD share them
            self.recon[(r.stage1, r.seed)] = (recon, evaluation.rfid(
                r.stage1, self.real_test, self.dataset, seed=r.seed, classifier_config=self.clf, bootstrap=0,
                recon=recon))
        recon, rf = self.recon[(r.stage1, r.seed)]
        imgs = train.sample(gen, self.n_eval, seed=r.seed, progress=False)["images"]
        self.samples.setdefault((name, r.seed), imgs[:10])
        g = metrics.generation_metrics(self.real_test, imgs, self.dataset, classifier_config=self.clf, isc=False,
                                       kid=False, prc=True, bootstrap=self.boot)
        key = g["metric"]
        t1, t2 = evaluation.test_metrics(r.stage1), evaluation.test_metrics(gen)
        length = r.config.tokenizer.n_tokens + configs.prefix_tokens(r.config)  # P: prologue + visual tokens
        out = {"rfid": rf["value"], "psnr": rf["psnr"], "gfid": g[key], "gfid_lo": g.get(f"{key}_lo"),
               "gfid_hi": g.get(f"{key}_hi"), "metric": key,
               "seconds_per_step": train.artifacts.seconds_per_step(r.stage1),
               "posttrain_s": (train.artifacts.seconds_per_step(gen) * r.config.posttrain.optim.steps
                               if m.posttrain else 0.0)}
        out.update({k: float(v) for k, v in g.items() if k.startswith(("precision", "recall"))})
        out.update(evaluation.prior_columns(imgs, recon, rf["value"], g[key], self.dataset, self.clf, self.boot))
        val = train.sample(gen, len(self.real_val), seed=VAL_SAMPLE_SEED + r.seed, progress=False)["images"]
        out["val_gfid"] = evaluation.frechet(self.real_val, val, self.dataset, self.clf, 0)["value"]
        if "gloss" in t2:
            out.update(gloss=t2["gloss"], rate=t2["gloss"] * length, codes_used=t1.get("codes_used"))
        else:
            out["fm_loss"] = t2["fm_loss"]
        tok = train.load_tokenizer(r.stage1)
        out.update({f"params_{k}": v for k, v in tok.param_counts().items()})
        out["params_generator"] = count_params(train.load_prior(gen)[0])
        return out


def evaluate_rows(rows: dict[str, Method], tier: str, seeds, evaluator) -> dict:
    """``{name: evaluation.Row}``: every row trained (or reused) and evaluated over ``seeds``, in ``rows``' order."""
    from . import evaluation

    return {name: evaluation.tier_row(m.config, tier, run_sets(m, tier), seeds, evaluate=evaluator(name))
            for name, m in rows.items()}


def metric_names(rows_eval: dict) -> tuple[str, list[str]]:
    """The Fréchet metric's name in the tables ("FID" with Inception weights, else "FD-clf") and the precision /
    recall columns the rows carry (their F-scores left out)."""
    from . import metrics

    first = rows_eval["plain"].per_seed[0]
    metric = metrics.METRIC_LABELS[first["metric"]]
    return metric, [k for k in first if k.startswith(("precision", "recall")) and not k.startswith("f_")]


def stage1_owner(rows: dict[str, Method], tier: str) -> dict[str, str]:
    """The row whose tokenizer each row uses: a post-trained row trains none of its own (VA-pi uses plain's, WGF-DPD
    + VA-pi WGF-DPD's), so rows that share a stage-1 run directory map to the first of them."""
    from .train import stage_dir

    stage1 = {n: stage_dir("stage1", config(m, tier))[1] for n, m in rows.items()}
    return {n: next(o for o in rows if stage1[o] == stage1[n]) for n in rows}


def stage1_cost(rows_eval: dict, rows: dict[str, Method], tok_of: dict[str, str], tier: str, trains_inline: bool,
                smoke: bool, seed: int = 0) -> dict:
    """Table X1's cost column: a stage-1 step of each tokenizer against the plain baseline's. ``recorded_ratio``:
    the runs' own recorded step times (fastest seed of each row) over plain's, taken at different times.
    ``ratio``: below the paper tier the tokenizers timed side by side in this process
    (``bench.step_ratio.stage1_step_ratios``: rounds in alternating order, median ratio; ``{"ratio", "ms",
    "batch"}`` each); at the paper tier, where nothing paper-sized is built inline, the recorded ratios stand in."""
    base_step = min(rows_eval["plain"].values("seconds_per_step"))
    recorded = {n: min(rows_eval[n].values("seconds_per_step")) / base_step for n in rows_eval}
    owners = dict.fromkeys(tok_of.values())
    if not trains_inline:
        return {"ratio": {n: {"ratio": recorded[n]} for n in owners}, "source": "recorded",
                "recorded_ratio": recorded}
    from .bench import step_ratio

    own = {n: config(rows[n], tier) for n in owners}
    step = step_ratio.stage1_step_ratios(own, "plain", rounds=2 if smoke else 10, warmup=1 if smoke else 2, seed=seed)
    return {"ratio": step, "source": "measured side by side", "recorded_ratio": recorded}


def describe_cost(cost: dict, rows: dict[str, Method]) -> str:
    if cost["source"] == "recorded":
        return "paper tier: the cost column is the ratio of the runs' recorded step times (fastest seed of each)"
    return "stage-1 step, side by side: " + ", ".join(f"{rows[n].label} {v['ms']:.0f} ms ({v['ratio']:.2f}x)"
                                                     for n, v in cost["ratio"].items())


def table_x1(rows_eval: dict, rows: dict[str, Method], cost: dict, tok_of: dict[str, str], metric: str,
             pr: Sequence[str]) -> list[dict]:
    """Table X1, one dict per row: mean [t interval over seeds] of rFD, PSNR, gFD, pFD-clf, gFD - rFD, precision /
    recall, gLoss (or paper F's flow-matching loss), rate and codes used; the stage-1 step cost against plain (of the
    row's tokenizer), the post-training seconds, parameter counts, the seeds and the paper's own gain."""
    import numpy as np

    from .report import row_cell as cell

    table = []
    for name, r in rows_eval.items():
        m, ps = rows[name], r.per_seed[0]
        table.append({
            "method": m.label, f"r{metric}": cell(r, "rfid"), "PSNR": cell(r, "psnr"), f"g{metric}": cell(r, "gfid"),
            "pFD-clf": cell(r, "pfd"), f"g{metric} - r{metric}": cell(r, "gap"), **{k: cell(r, k) for k in pr},
            "gLoss (nats/token)": (cell(r, "gloss") if "gloss" in r.summary
                                   else f"flow-matching loss {cell(r, 'fm_loss')}"),
            "rate (nats/image)": cell(r, "rate", 2), "codes used": cell(r, "codes_used", 0),
            "stage-1 step / plain": f"{cost['ratio'][tok_of[name]]['ratio']:.2f}",
            "post-training (s)": f"{np.mean(r.values('posttrain_s')):.0f}" if m.posttrain else "-",
            "params enc / dec / generator (M)": f"{ps['params_encoder'] / 1e6:.2f} / {ps['params_decoder'] / 1e6:.2f}"
                                                f" / {ps['params_generator'] / 1e6:.2f}",
            "seeds": len(r.seeds), "interval": f"t, {len(r.seeds)} seeds" if len(r.seeds) > 1 else "1 seed: none",
            "paper's own gain": m.paper})
    return table


def results_rows(rows_eval: dict, rows: dict[str, Method], tier: str) -> dict:
    """What results.json keeps of every row: label, preset, overrides, seeds, per-seed numbers, summaries."""
    return {name: {"label": rows[name].label, "config": rows[name].config, "sets": run_sets(rows[name], tier),
                   "seeds": r.seeds, "per_seed": r.per_seed, "summary": r.summary} for name, r in rows_eval.items()}


def codebook_frontier(sweep: dict[str, Method], ks: Sequence[int], tier: str, seeds, plain_row, n_tokens: int,
                      k0: int) -> dict[int, list[tuple[float, float]]]:
    """``{K: [(rate, psnr) per seed]}``: the codebook sweep's points on the rate-distortion plane (rate = gLoss x
    tokens, nats per image; PSNR of the reconstructions, dB), the smaller codebooks from their runs' logged test rows
    and K0 from the plain row of Table X1."""
    from . import evaluation

    rows_k = {k: evaluation.tier_row("baseline_1d", tier, run_sets(sweep[f"plain K={k}"], tier), seeds) for k in ks}
    out = {k: [(m["gloss"] * n_tokens, m["psnr"]) for m in r.per_seed] for k, r in rows_k.items()}
    out[k0] = list(zip(plain_row.values("rate"), plain_row.values("psnr")))
    return out


def frontier_line(sweep: dict) -> list[tuple[float, float, int]]:
    """The frontier as drawn: (mean rate, mean PSNR, K) of every sweep point, sorted by rate."""
    import numpy as np

    return sorted((float(np.mean([p[0] for p in v])), float(np.mean([p[1] for p in v])), k) for k, v in sweep.items())


def seed_err(s: dict):
    """Matplotlib's asymmetric error bar ``[[mean - lo], [hi - mean]]`` of a summary over seeds; None when it has no
    interval (one seed)."""
    return None if s["lo"] is None else [[s["mean"] - s["lo"]], [s["hi"] - s["mean"]]]


def validation_order(rows_eval: dict) -> list[str]:
    """The rows by mean validation gFD (over seeds), best first: the "best method" claim chooses on validation and
    is judged on the test split."""
    return sorted(rows_eval, key=lambda n: rows_eval[n].mean("val_gfid"))


def headline_claims(rows_eval: dict, rows: dict[str, Method], tok_of: dict[str, str], metric: str, nseed: dict,
                    order: Sequence[str]) -> list[dict]:
    """The claims on the test split, each a ``claims.compare`` (Student t over seeds; paired where two rows share a
    tokenizer seed by seed, i.e. a post-trained row and the row whose AR it post-trains; Welch otherwise):

    1. the best method on validation gFD has a lower test gFD than the runner-up (no paper compares the four);
    2. each method lowers gFD against the plain two-stage baseline, as its paper says it does against its own
       (the paper's two numbers, ``PAPER_GFD``, checked for direction);
    3. each method lowers pFD-clf (the prior alone) against plain;
    4. WGF-DPD + VA-pi beats WGF-DPD alone, and VA-pi alone (no paper runs the combination)."""
    from . import claims

    vals = lambda n, k: rows_eval[n].values(k)
    ps = lambda n: rows_eval[n].mean("psnr")
    paired = lambda a, b: tok_of[a] == tok_of[b]
    best, second = [n for n in order if n != "plain"][:2]
    others = [n for n in rows_eval if n != "plain"]
    return [
        claims.compare(f"of the methods, the one with the lowest validation g{metric} ({rows[best].label}, PSNR "
                       f"{ps(best):.2f} dB) has a lower test g{metric} than the runner-up on validation "
                       f"({rows[second].label}, PSNR {ps(second):.2f} dB)", vals(best, "gfid"), vals(second, "gfid"),
                       better="lower", paper="no paper compares the four", n=nseed, paired=paired(best, second)),
        *[claims.compare(f"{rows[n].label} lowers g{metric} against the plain baseline (PSNR {ps(n):.2f} vs "
                         f"{ps('plain'):.2f} dB)", vals(n, "gfid"), vals("plain", "gfid"), better="lower",
                         paper=rows[n].paper, n=nseed, paired=paired(n, "plain"), paper_values=PAPER_GFD.get(n))
          for n in others],
        *[claims.compare(f"{rows[n].label} lowers pFD-clf against the plain baseline", vals(n, "pfd"),
                         vals("plain", "pfd"), better="lower", paper="not reported (pFD-clf is this suite's)",
                         n=nseed, paired=paired(n, "plain")) for n in others],
        claims.compare(f"WGF-DPD + VA-pi gives a lower g{metric} than WGF-DPD alone", vals("wgf_vapi", "gfid"),
                       vals("wgf_dpd", "gfid"), better="lower", paper="not run by any paper", n=nseed,
                       paired=paired("wgf_vapi", "wgf_dpd")),
        claims.compare(f"WGF-DPD + VA-pi gives a lower g{metric} than VA-pi alone", vals("wgf_vapi", "gfid"),
                       vals("vapi", "gfid"), better="lower", paper="not run by any paper", n=nseed,
                       paired=paired("wgf_vapi", "vapi")),
    ]


def frontier_claims(rows_eval: dict, rows: dict[str, Method], sweep: dict, n_seeds: int) -> tuple[dict, list[dict]]:
    """For every row with a discrete prior and a tokenizer of its own (a post-trained row keeps plain's or WGF-DPD's,
    so its point is theirs): its PSNR gain over the codebook frontier at equal rate (``frontier.bootstrap_gap``, a
    percentile bootstrap over the seeds of every point) and the claim that it is > 0 (``claims.threshold``; paper W
    §5 claims it for WGF-DPD). Returns ({row: gap}, [claims])."""
    from . import claims, frontier

    gaps, out = {}, []
    for n in [n for n in rows_eval if "rate" in rows_eval[n].summary and n != "plain" and not rows[n].posttrain]:
        pts = list(zip(rows_eval[n].values("rate"), rows_eval[n].values("psnr")))
        gaps[n] = frontier.bootstrap_gap(sweep, pts, "psnr_gain")
        out.append(claims.threshold(f"{rows[n].label} sits above the codebook frontier (PSNR gain at equal rate > 0)",
                                    gaps[n], 0.0, better="higher",
                                    paper="W §5: above the frontier (its claim)" if n == "wgf_dpd" else "not claimed",
                                    n={"seeds": n_seeds}))
    return gaps, out
