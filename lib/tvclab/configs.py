"""Run configurations, one dataclass per concept, composed into one ``Config`` per (method, tier).

``get(name, tier)`` returns a fresh ``Config``; ``NAMES`` and ``TIERS`` list what exists; ``apply_overrides(cfg,
["tokenizer.width=64", ...])`` parses dotted ``--set`` keys to the field's type and fails with the list of valid keys.
Every numeric leaf has its valid range declared once in ``FIELD_RULES`` (sizes and step counts >= 1, rates > 0,
weights >= 0, probabilities in [0, 1], NaN and infinity never); ``Config.validate`` checks them all and names the
dotted field and its range in a one-line ``ConfigError``.

Sections (each model is built from its own section object; nanoGPT's ``GPTConfig`` passed whole). The core
sections are declared here; a method's section is declared by its ``MethodSpec`` in ``tvclab.methods`` and joins
``Config`` when the spec registers (``register_method``), in the stage the spec names:

==============  =====================================================================================
data            data set and image size
tokenizer       encoder/decoder transformer shape, token count, 1D or 2D (W §2.3; P §2)
quantizer       L2-normalised VQ or continuous latents, codebook, commitment / KL weight (W F.1; F §5.2)
decoder         deterministic or flow-matching decoder, tail dropout, tied timesteps (W §2.3, F.1)
reconstruction  the reconstruction loss weights l1 / l2 / LPIPS (W F.1)
wgf             (method ``wgf_dpd``) WGF-DPD: weight, target temperature, proxy and target AR (W §4.5-4.7, F.1)
prologue        (method ``prologue``) paper P's prologue tokens and their joint AR (P §2)
align           (method ``flow_alignment``) paper F's alignment of continuous latents to a frozen flow prior
                (F §4, §5.2, App. C.2)
optim           the stage-1 optimiser and loop cadence (``OptimConfig``, the one every stage uses)
evaluation      stage-1 evaluation sets and snapshots
stage2          the AR prior on frozen tokens: its ``ar`` shape, the flow head for continuous tokens (F App. C.4)
                and its own ``optim`` (W §2.2; P App. E)
sample          the sampler of the trained AR (``python -m tvclab.train sample``)
posttrain       (method ``vapi``) paper V's GRPO post-training of the stage-2 AR (its own stage)
runtime         where/how a run executes; never part of a run's identity
==============  =====================================================================================

Which sections define which stage is ``STAGE_SECTIONS`` (the nesting, not field-name prefixes), derived from
``STAGE_LAYOUT`` (each stage's core sections) and the registered methods: a run's identity for stage 1 is
``name``, ``tier``, ``seed`` and the stage-1 sections; stage 2 adds ``stage2``; ``sample`` adds ``sample``;
``posttrain`` adds ``posttrain``. ``FIELD_RULES`` is the core rules plus each method's ``rules``; ``validate``
runs the core cross-checks and each method's ``checks``.

Presets: ``PRESETS[name][tier]`` is one function per preset and tier, registered explicitly with ``preset(...)``
(here for the baselines, in a ``MethodSpec.presets`` for a method's own); each builds on a named base preset
(``base``: the core part here plus each method's ``MethodSpec.bases`` part for its own section). A new method
states its paper-tier preset (no method inherits paper W's CIFAR-10 values by name).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Callable, NamedTuple

from tvclab.tiers import TIERS  # noqa: E402  (one Tier object per tier: tvclab.tiers)


class ConfigError(ValueError):
    """A bad config name, tier, key or value; the message lists what is valid."""


# ------------------------------------------------------------------------------------------------ sections

@dataclass
class DataConfig:
    dataset: str = "fashion_mnist"  # README, "Data": the embedded default; 28x28 kept (patch 7 divides it)
    image_size: int = 28


@dataclass
class TokenizerConfig:
    kind: str = "1d"              # "1d" TiTok-style queries (W §2.3) | "2d" one token per patch (P)
    patch_size: int = 7           # cpu: 16 patches of 7x7 (NOTES: cost scales with tokens per image)
    width: int = 128
    enc_depth: int = 2
    dec_depth: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0        # W Table 5: MLP ratio 4 (GEGLU); cpu tier 2 (0.6x the step time, NOTES budget)
    n_tokens: int = 8             # latent tokens (1D); 2D uses one per patch


@dataclass
class QuantizerConfig:
    kind: str = "vq"              # "vq" L2-normalised VQ (W F.1 default) | "none" continuous tokens (paper F)
    codebook_size: int = 256
    code_dim: int = 12            # W F.1 / authors' code: code dim 12
    beta: float = 0.25            # VQ commitment weight inside the codebook loss (authors' code)
    commit_weight: float = 1.0    # weight of the VQ codebook + commitment loss in the total
    kl_weight: float = 0.0        # kind="none": > 0 adds a Gaussian (VAE) head with this KL weight
    init: str = "random"          # "random" unit vectors | "data": unit latents of the first training batch
    prob_tau: float = 1.0         # Prob-STE temperature of the VQ's distance logits -||u - c_k||^2 / tau, read by
                                  # WGF-DPD (W §4.5) and by P's visual routing (Fig. 5) (authors' VQ: 1.0)
    restart_every: int = 50       # > 0: every k steps, codes unused since the last check restart at latents of
                                  # random training images (dead-code restart, as common VQ libraries do); 0: off.
                                  # cpu tier: 50 (without it the cpu-tier 1D baseline used 37 of 256 codes);
                                  # paper tier: 0 (W F.1 states none)


@dataclass
class DecoderConfig:
    kind: str = "det"             # "det" | "fm" flow-matching decoder (W F.1, FlowMo-style)
    fm_steps: int = 10            # Euler steps when decoding with the flow-matching decoder (authors' code: 25)
    tail_dropout_p: float = 0.0   # W F.1: 0.5 for tail-dropout methods
    tied_timesteps: bool = False  # W F.1: cut-off set by the diffusion timestep, applied every step


@dataclass
class ReconstructionConfig:
    l1_weight: float = 0.1        # W F.1
    l2_weight: float = 1.0        # W F.1; flow-matching decoders: weight of the velocity MSE
    lpips_weight: float = 0.1     # W F.1; dropped with a notice when LPIPS weights are unavailable


@dataclass
class ARConfig:
    """A causal transformer over token ids (stage-2 prior, WGF-DPD proxy and target, P's joint AR)."""
    depth: int = 3
    width: int = 128
    heads: int = 4
    mlp_ratio: float = 2.0        # cpu tier: as the tokenizer (paper tiers: 4, W F.1; 8/3, P)
    dropout: float = 0.0


@dataclass
class FlowHeadConfig:
    """The per-token flow head of the continuous generator (paper F App. C.4: MAR-B with a flow head of 6 x 1024
    AdaLN layers, Euler 100 steps); a ``VelocityMLP`` conditioned on the causal transformer's output."""
    width: int = 256              # F App. C.4: 1024
    blocks: int = 3               # F App. C.4: 6
    sample_steps: int = 25        # F App. C.4: Euler, 100 steps
    n_t: int = 4                  # (x0, t) draws per token in training (MAR's diffusion batch multiplier: 4)


@dataclass
class OptimConfig:
    """One optimiser and loop cadence, used by every stage and by every other loop of the suite."""
    steps: int = 400              # cpu tier: 400 steps (0.9 epoch): notebook 02's 20 runs with seeds fit its budget
    batch_size: int = 128         # global batch (split across torchrun processes)
    lr: float = 1e-3
    lr_min: float = 1e-4
    schedule: str = "cosine"      # "cosine" (W: cosine to 3e-5) | "linear" (P: linear decay) | "constant"
    warmup_steps: int = 50
    optimizer: str = "adamw"      # "adamw" (decay on matrices only) | "adam"
    beta1: float = 0.5            # W / authors' code: betas (0.5, 0.95)
    beta2: float = 0.95
    weight_decay: float = 0.0     # authors' CIFAR code: 0 for encoder/decoder/AR
    grad_clip: float = 0.0        # 0: off
    log_every: int = 25
    eval_every: int = 50          # cpu tier: a validation row and a tokenizer snapshot every 50 steps (matched rows)
    ckpt_every: int = 250


@dataclass
class EvaluationConfig:
    eval_images: int = 256        # fixed validation batch (first validation images) for l1/l2/PSNR
    code_eval_images: int = 2000  # validation images for code usage / entropy / WGF surrogate
    test_images: int = 1000       # test images for the final reported l1/l2/PSNR and code statistics
    snapshots: bool = True        # save tokenizer snapshots (matched-rFID rows, W Table 1)
    snapshot_every: int = 10      # cpu tier: a snapshot every 10 steps, so a matched row lands within 5% of its
                                  # target (the rFD-clf curve falls ~3% per 10 steps there); 0: at every eval step


@dataclass
class Stage2Config:
    ar: ARConfig = field(default_factory=ARConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        steps=300, warmup_steps=50, log_every=25, eval_every=100, ckpt_every=300))
    flow_head: FlowHeadConfig = field(default_factory=FlowHeadConfig)  # continuous tokens only (paper F)
    class_cond: bool = False      # W CIFAR-10: unconditional; P ImageNet: class-conditional
    label_drop: float = 0.1       # CFG label dropout (P App. E; authors' W AR config)
    train_images: int = 0         # 0: the whole training rest
    tokenizer_step: int = 0       # 0: the final tokenizer; k: its stage-1 snapshot at step k (matched rFID)
    eval_images: int = 10000      # held-out images (validation during training, test at the end): gLoss / top-1


@dataclass
class SampleConfig:
    n: int = 1000
    batch: int = 500
    temperature: float = 1.0
    top_k: int = 0
    cfg: float = 1.0              # 1: no guidance
    seed: int = 0


@dataclass
class RuntimeConfig:
    device: str = "auto"          # auto: cuda when available (one GPU per process under torchrun), else cpu
    data_root: str = ""           # folder handed to tvclab.data.load (empty: TVCLAB_DATA / defaults)
    num_workers: int = 0          # DataLoader workers for data sets not held in memory (ImageNet)
    # torch.compile the training forward (stage 1: tokenizer + objectives; stage 2: the AR).
    # `python -m tvclab.bench throughput --compile` prints the break-even step count: on 2 CPU cores 45-271 steps
    # with inductor's cache warm, more than a cpu-tier run from a cold one (54 s for the first compile). It changes
    # results at float rounding level (fused kernels round differently), so it is off in every preset
    # (docs/throughput.md).
    compile: bool = False


# ------------------------------------------------------------------------------------------------ valid ranges

@dataclass(frozen=True)
class Range:
    """The valid values of a numeric field: finite, ``>= lo`` (``> lo`` with ``lo_open``), ``<= hi`` (``< hi`` with
    ``hi_open``); ``note`` says what a boundary value means (e.g. "0: off")."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    note: str = ""

    def ok(self, v) -> bool:
        if v != v or v in (float("inf"), float("-inf")):  # NaN and infinity are never a size, a rate or a weight
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return self.hi is None or (v < self.hi if self.hi_open else v <= self.hi)

    def describe(self, kind: type) -> str:
        what = "an int" if kind is int else "a finite float"
        if self.lo is not None and self.hi is not None:
            lo, hi = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
            rng = f"in {lo}{_bound(self.lo)}, {_bound(self.hi)}{hi}"
        elif self.lo is not None:
            rng = f"{'>' if self.lo_open else '>='} {_bound(self.lo)}"
        elif self.hi is not None:
            rng = f"{'<' if self.hi_open else '<='} {_bound(self.hi)}"
        else:
            rng = ""
        return f"{what} {rng}".strip() + (f" ({self.note})" if self.note else "")


def _bound(x) -> str:
    """A range's bound as written: ints in full (4294967295, not 4.29497e+09), other numbers with ``:g``."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def show(v) -> str:
    """A value in a message: ``repr``, except ints of more than 16 digits (``1.000e+30``, not 31 digits)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**16:
        from decimal import Decimal

        return f"{Decimal(v):.3e}"
    return repr(v)


INT64 = 2**63  # every int leaf must fit a signed 64-bit integer (torch's, numpy's)


COUNT = Range(1)                        # a size, a depth, a step count, a cadence: >= 1
RATE = Range(0, lo_open=True)           # a learning rate, a temperature, a ratio: > 0
WEIGHT = Range(0)                       # a loss weight, a decay: >= 0 (0: term off)
PROBABILITY = Range(0, 1)
BETA = Range(0, 1, hi_open=True)        # Adam betas and dropout rates: [0, 1)
ANY_INT = Range()                       # any int (a 64-bit one: ``check_ranges`` refuses more)
SEED = Range(0, 2**32 - 1)              # seeds: what torch, numpy and the named streams all accept


def off(note: str) -> Range:
    """A count where 0 has a meaning (``note``, e.g. "0: off")."""
    return Range(0, note=note)


FIELD_RULES: dict[type, dict[str, Range]] = {
    DataConfig: {"image_size": Range(8, 1024)},   # tvclab.data's image sizes
    TokenizerConfig: {"patch_size": COUNT, "width": COUNT, "enc_depth": COUNT, "dec_depth": COUNT, "heads": COUNT,
                      "mlp_ratio": RATE, "n_tokens": COUNT},
    QuantizerConfig: {"codebook_size": Range(2), "code_dim": COUNT, "beta": WEIGHT, "commit_weight": WEIGHT,
                      "kl_weight": Range(0, note="0: no Gaussian head"), "restart_every": off("0: off"),
                      "prob_tau": RATE},
    DecoderConfig: {"fm_steps": COUNT, "tail_dropout_p": PROBABILITY},
    ReconstructionConfig: {"l1_weight": WEIGHT, "l2_weight": WEIGHT, "lpips_weight": WEIGHT},
    ARConfig: {"depth": COUNT, "width": COUNT, "heads": COUNT, "mlp_ratio": RATE, "dropout": BETA},
    FlowHeadConfig: {"width": COUNT, "blocks": COUNT, "sample_steps": COUNT, "n_t": COUNT},
    OptimConfig: {"steps": COUNT, "batch_size": COUNT, "lr": RATE, "lr_min": WEIGHT, "warmup_steps": off("0: none"),
                  "beta1": BETA, "beta2": BETA, "weight_decay": WEIGHT, "grad_clip": Range(0, note="0: off"),
                  "log_every": COUNT, "eval_every": COUNT, "ckpt_every": COUNT},
    EvaluationConfig: {"eval_images": COUNT, "code_eval_images": COUNT, "test_images": COUNT,
                       "snapshot_every": off("0: at every evaluation step")},
    Stage2Config: {"label_drop": PROBABILITY, "train_images": off("0: the whole training rest"),
                   "tokenizer_step": off("0: the final tokenizer"), "eval_images": COUNT},
    SampleConfig: {"n": COUNT, "batch": COUNT, "temperature": RATE, "top_k": off("0: off"),
                   "cfg": Range(0, note="1: no guidance"), "seed": SEED},
    RuntimeConfig: {"num_workers": off("0: load in the main process")},
}


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_ranges(obj, rules: dict[type, dict[str, Range]] = FIELD_RULES, prefix: str = "") -> list[str]:
    """Every numeric leaf of dataclass ``obj`` (nested sections included) outside its ``rules`` range, as
    "dotted.key = value: must be ...". A numeric field without a rule is reported too (declare it)."""
    errors = []
    own = rules.get(type(obj), {})
    for f in fields(obj):
        v, key = getattr(obj, f.name), f"{prefix}{f.name}"
        if is_dataclass(v):
            errors += check_ranges(v, rules, f"{key}.")
        elif is_number(v):
            rule = own.get(f.name)
            kind = type(f.default) if is_number(f.default) else type(v)
            if rule is None:
                errors.append(f"{key} has no declared range (add it to configs.FIELD_RULES)")
            elif isinstance(v, int) and not -INT64 <= v < INT64:
                errors.append(f"{key} = {show(v)} is invalid: it does not fit a 64-bit integer; it must be "
                              f"{rule.describe(kind)}")
            elif not rule.ok(v):
                errors.append(f"{key} = {show(v)} is invalid: it must be {rule.describe(kind)}")
    return errors


class _ConfigBase:
    """What every ``Config`` does; the class itself is assembled from the core sections and the registered methods'
    sections (``_build``), so a method's section is one ``MethodSpec``, not a field added here."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def flat(self) -> dict[str, object]:
        """Every leaf as ``{"tokenizer.width": 128, ...}``."""
        return flatten(self.to_dict())

    def group(self, stage: str) -> dict:
        """The leaves that define a run of ``stage`` and of the stages it reads (``STAGE_SECTIONS``)."""
        if stage not in STAGE_SECTIONS:
            raise ConfigError(f"unknown stage {stage!r}; stages with a config group: {', '.join(STAGE_SECTIONS)}")
        sections = set(IDENTITY)
        s = stage
        while s:
            sections |= set(STAGE_SECTIONS[s])
            s = STAGE_PARENT.get(s)
        return {k: v for k, v in self.flat().items() if k.split(".")[0] in sections}

    def validate(self) -> "Config":
        """The field ranges, the core sections' cross-checks, then each registered method's ``checks``."""
        def need(ok, msg):
            if not ok:
                raise ConfigError(f"config {self.name}/{self.tier}: {msg}")
        t, q, d = self.tokenizer, self.quantizer, self.decoder
        bad = check_ranges(self)
        need(not bad, "; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""))
        need(self.tier in TIERS, f"tier must be one of {', '.join(TIERS)}")
        need(t.kind in ("1d", "2d"), "tokenizer.kind must be '1d' or '2d'")
        need(q.kind in ("vq", "none"), "quantizer.kind must be 'vq' or 'none'")
        need(d.kind in ("det", "fm"), "decoder.kind must be 'det' or 'fm'")
        need(not d.tied_timesteps or d.kind == "fm", "decoder.tied_timesteps needs decoder.kind=fm")
        need(0.0 <= d.tail_dropout_p <= 1.0, "decoder.tail_dropout_p must be in [0, 1]")
        need(self.data.image_size % t.patch_size == 0, "data.image_size must be a multiple of tokenizer.patch_size")
        for where, shape in _sections_of(self, (TokenizerConfig, ARConfig)):
            need(shape.width % shape.heads == 0,
                 f"{where}.width ({shape.width}) must be a multiple of {where}.heads ({shape.heads})")
        for spec in METHODS.values():
            for msg in spec.early_checks(self):
                need(False, msg)
        for where, o in _sections_of(self, (OptimConfig,)):
            need(o.schedule in ("cosine", "linear", "constant"), f"{where}.schedule must be cosine, linear or constant")
            need(o.optimizer in ("adamw", "adam"), f"{where}.optimizer must be 'adamw' or 'adam'")
            for every in ("eval_every", "ckpt_every"):
                v, base = getattr(o, every), o.log_every
                need(v > 0 and base > 0 and v % base == 0,
                     f"{where}.{every} ({v}) must be a positive multiple of {where}.log_every ({base})")
        need(q.codebook_size >= 2 and t.n_tokens >= 1, "quantizer.codebook_size >= 2 and tokenizer.n_tokens >= 1")
        need(q.init in ("random", "data"), "quantizer.init must be 'random' or 'data'")
        need(q.restart_every >= 0, "quantizer.restart_every must be >= 0 (0: off)")
        for spec in METHODS.values():
            for msg in spec.checks(self):
                need(False, msg)
        need(valid_device(self.runtime.device),
             f"runtime.device = {self.runtime.device!r} is invalid: it must be auto, cpu, cuda, cuda:N (N = 0, 1, "
             f"...) or mps")
        for spec in METHODS.values():
            for msg in spec.late_checks(self):
                need(False, msg)
        return self


def is_config(obj) -> bool:
    """Whether ``obj`` is a ``Config`` (of any assembly: ``Config`` is rebuilt when a method registers)."""
    return isinstance(obj, _ConfigBase)


def _sections_of(obj, kinds: tuple[type, ...], prefix: str = ""):
    """(dotted name, section) of every nested section of ``obj`` whose type is one of ``kinds``, in field order."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        if is_dataclass(v):
            if isinstance(v, kinds):
                yield f"{prefix}{f.name}", v
            yield from _sections_of(v, kinds, f"{prefix}{f.name}.")


DEVICES = ("auto", "cpu", "cuda", "mps")  # runtime.device; also cuda:N


def valid_device(device: str) -> bool:
    """Whether ``runtime.device`` names a device kind the suite runs on (``auto``, ``cpu``, ``cuda``, ``cuda:N``,
    ``mps``); whether this machine has it is checked when the run starts (``tvclab.train.faults``)."""
    if device in DEVICES:
        return True
    kind, _, index = device.partition(":")
    return kind == "cuda" and index.isdigit() and index.isascii()


# ------------------------------------------------------------------------------------------------ methods

@dataclass(frozen=True)
class CrossPaperRow:
    """One row of notebook 06's cross-paper table (``tvclab.crosspaper.methods``)."""
    key: str                       # the row's name ("wgf_dpd")
    config: str                    # the preset it runs
    label: str
    paper: str                     # the paper's own gain over its own baseline (its data, not ours)
    sets: tuple[str, ...] = ()     # fixed overrides
    chosen: tuple[str, ...] = ()   # methods whose settings chosen on validation it takes (``methods(**chosen)``)
    posttrain: bool = False        # the generator is post-trained (paper V) after stage 2
    order: float = 100.0           # position in the table (the papers' rows first, new methods after them)


class TokenGroup(NamedTuple):
    """One group of the token sequence a tokenizer emits and an AR models: ``n`` tokens from a codebook of ``vocab``
    codes of ``dim`` dimensions (Prob-STE temperature ``tau`` for a method's own group). ``token_groups`` lays the
    groups end to end: every method's (e.g. paper P's prologue) before the visual tokens."""
    name: str
    n: int
    vocab: int
    dim: int = 0
    tau: float = 1.0


@dataclass(frozen=True)
class MethodSpec:
    """Everything the torch-free side knows of one method, declared in one module (``tvclab.methods``): its config
    section (a dataclass) and the valid ranges of its fields, the stage whose run identity it joins, its
    cross-checks, its presets (name -> ``{"smoke", "cpu", "paper": () -> dict, "method": dict}``, as ``preset``),
    its additions to the base presets (``bases``: base name -> () -> dict of its own section's keys) and its
    cross-paper rows. Registering it (``register_method``) adds the section to ``Config``, its fields to
    ``FIELD_RULES``, the section to ``STAGE_SECTIONS[stage]`` and its presets to ``PRESETS``."""
    name: str
    paper: str                                            # the paper and section it reproduces ("W §4.5-4.7")
    section: str | None = None                            # its Config field (None: no section of its own)
    config: type | None = None                            # the section's dataclass
    stage: str = "stage1"                                 # the stage whose identity the section joins
    rules: dict = field(default_factory=dict)             # {dataclass: {field: Range}} (nested ones included)
    check: Callable | None = None                         # check(cfg) -> messages, after the core checks
    early_check: Callable | None = None                   # ... before the optimisers' checks
    late_check: Callable | None = None                    # ... after the device check
    presets: dict = field(default_factory=dict)
    bases: dict = field(default_factory=dict)
    rows: tuple[CrossPaperRow, ...] = ()
    tokens: Callable | None = None                        # tokens(cfg) -> its TokenGroups before the visual ones
    frozen: Callable | None = None                        # frozen(cfg) -> the parts it freezes ("decoder", ...)

    def checks(self, cfg) -> list[str]:
        return list(self.check(cfg)) if self.check else []

    def early_checks(self, cfg) -> list[str]:
        return list(self.early_check(cfg)) if self.early_check else []

    def late_checks(self, cfg) -> list[str]:
        return list(self.late_check(cfg)) if self.late_check else []


METHODS: dict[str, MethodSpec] = {}

IDENTITY = ("name", "tier", "seed")
CORE_SECTIONS: dict[str, type] = {
    "data": DataConfig, "tokenizer": TokenizerConfig, "quantizer": QuantizerConfig, "decoder": DecoderConfig,
    "reconstruction": ReconstructionConfig, "optim": OptimConfig, "evaluation": EvaluationConfig,
    "stage2": Stage2Config, "sample": SampleConfig, "runtime": RuntimeConfig}
# each stage's core sections: (before its methods' sections, after them)
STAGE_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stage1": (("data", "tokenizer", "quantizer", "decoder", "reconstruction"), ("optim", "evaluation")),
    "stage2": (("stage2",), ()),
    "sample": (("sample",), ()),
    "posttrain": ((), ()),
}
STAGE_PARENT: dict[str, str | None] = {"stage1": None, "stage2": "stage1", "sample": "stage2", "posttrain": "stage2"}
RUNTIME_SECTIONS = ("runtime",)
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {}   # derived: ``_build``
_CORE_RULES = dict(FIELD_RULES)


def _build() -> None:
    """(Re)assemble ``Config``, ``STAGE_SECTIONS``, ``FIELD_RULES`` and ``NAMES`` from the core and ``METHODS``. The
    field order is the identity's: per stage, its leading core sections, its methods' sections in registration
    order, its trailing core sections; the runtime last."""
    global Config, NAMES
    types = {**CORE_SECTIONS, **{m.section: m.config for m in METHODS.values() if m.section}}
    layout = {}
    for st, (head, tail) in STAGE_LAYOUT.items():
        own = tuple(m.section for m in METHODS.values() if m.section and m.stage == st)
        layout[st] = head + own + tail
    spec = [("name", str, field(default="baseline_1d")), ("tier", str, field(default="cpu")),
            ("seed", int, field(default=0))]
    for sec in [s for secs in layout.values() for s in secs] + list(RUNTIME_SECTIONS):
        spec.append((sec, types[sec], field(default_factory=types[sec])))
    cls = dataclasses.make_dataclass("Config", spec, bases=(_ConfigBase,))
    cls.__module__, cls.__qualname__ = __name__, "Config"
    cls.__doc__ = "One run's configuration: the identity, the core sections and every registered method's section."
    Config = cls
    STAGE_SECTIONS.clear()
    STAGE_SECTIONS.update(layout)
    FIELD_RULES.clear()
    FIELD_RULES.update(_CORE_RULES)
    for m in METHODS.values():
        FIELD_RULES.update(m.rules)
    FIELD_RULES[Config] = {"seed": SEED}
    NAMES = tuple(PRESETS)


def register_method(spec: MethodSpec) -> MethodSpec:
    """Add a method: its section to ``Config`` (and to ``STAGE_SECTIONS[spec.stage]``), its field rules, its
    presets. A name or section registered twice is an error, unless it is the same spec (a re-import)."""
    old = METHODS.get(spec.name)
    if old is not None and old != spec:
        raise ConfigError(f"a method named {spec.name!r} is already registered ({old.paper})")
    if spec.section and (spec.section in CORE_SECTIONS or spec.section in IDENTITY or any(
            m.section == spec.section and m.name != spec.name for m in METHODS.values())):
        raise ConfigError(f"method {spec.name}: the config section {spec.section!r} is taken")
    if spec.stage not in STAGE_LAYOUT:
        raise ConfigError(f"method {spec.name}: unknown stage {spec.stage!r}; stages: {', '.join(STAGE_LAYOUT)}")
    METHODS[spec.name] = spec
    for name, p in spec.presets.items():
        preset(name, **p)
    _build()
    return spec


def token_groups(cfg, n_visual: int) -> tuple[TokenGroup, ...]:
    """The token sequence of ``cfg``: every registered method's groups (``MethodSpec.tokens``, those with n > 0),
    then the ``n_visual`` visual tokens of the quantizer's codebook."""
    groups = tuple(g for m in METHODS.values() if m.tokens for g in m.tokens(cfg) if g.n > 0)
    return groups + (TokenGroup("visual", n_visual, cfg.quantizer.codebook_size, cfg.quantizer.code_dim),)


def prefix_tokens(cfg) -> int:
    """How many tokens the methods' groups put before the visual tokens (0: the visual tokens alone)."""
    return sum(g.n for g in token_groups(cfg, 0)[:-1])


def frozen(cfg) -> frozenset[str]:
    """The parts of the tokenizer the enabled methods freeze (``MethodSpec.frozen``): "decoder", "codebook" and
    "encoder" name the visual tokenizer's; a frozen part is neither trained nor refreshed (reconstruction, the
    quantiser's loss and codebook upkeep read this)."""
    return frozenset(p for m in METHODS.values() if m.frozen for p in m.frozen(cfg))


def register_stage_sections(stage: str, sections: tuple[str, ...], parent: str) -> None:
    """A later stage names the core Config sections that define it and its parent (a method's section joins a
    stage through its ``MethodSpec.stage``)."""
    STAGE_LAYOUT[stage] = (tuple(sections), ())
    STAGE_PARENT[stage] = parent
    _build()



def flatten(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def keys() -> list[str]:
    """Every dotted key of ``Config``."""
    return list(Config().flat())


# Keys renamed since run directories were first written: old name -> new name. A saved config.json or done.json
# is read through ``migrate``, so a finished run stays readable (and reusable) after the rename.
RENAMED = {"wgf.tau": "quantizer.prob_tau"}  # the VQ's Prob-STE temperature, read by WGF-DPD and P's routing


def migrate(flat: dict) -> dict:
    """A flat ``{dotted key: value}`` of a saved run with ``RENAMED`` keys under their current names."""
    return {RENAMED.get(k, k): v for k, v in flat.items()}


# ------------------------------------------------------------------------------------------------ presets

Preset = Callable[[], dict]
PRESETS: dict[str, dict[str, Preset]] = {}
BASES: dict[str, Preset] = {}  # the core sections' part of each base preset, by name (``base``)


def preset(name: str, *, smoke: Preset, cpu: Preset, paper: Preset, method: dict | None = None) -> None:
    """Register preset ``name``: a preset per tier (dotted overrides of the defaults) plus the method's own
    changes, applied on top of every tier."""
    delta = dict(method or {})
    PRESETS[name] = {t: (lambda fn=fn: {**fn(), **delta}) for t, fn in (("smoke", smoke), ("cpu", cpu), ("paper", paper))}


def base_preset(name: str):
    """Decorator: the core sections' overrides of base preset ``name``."""
    def wrap(fn: Preset) -> Preset:
        BASES[name] = fn
        return fn
    return wrap


def base(name: str) -> dict:
    """Base preset ``name`` (``smoke``, ``cpu``, ``paper_w``, ``paper_p``, ``paper_f``, ``f_cpu``, ``f_smoke``): the
    core sections' overrides, then each registered method's additions for its own section (``MethodSpec.bases``)."""
    out = dict(BASES[name]())
    for m in METHODS.values():
        if name in m.bases:
            out.update(m.bases[name]())
    return out


@base_preset("cpu")
def _cpu() -> dict:
    """The dataclass defaults are the cpu tier (Fashion-MNIST 28x28, patch 7 -> 16 patches, 8 tokens, width 128)."""
    return {}


SMALL_AR = dict(depth=1, width=32, heads=2)  # every AR at the smoke tier


@base_preset("smoke")
def _smoke() -> dict:
    """Tiny, seconds: tests and the notebooks' smoke runs (the numbers mean nothing)."""
    return {
        "tokenizer.width": 32, "tokenizer.enc_depth": 1, "tokenizer.dec_depth": 1, "tokenizer.heads": 2,
        "tokenizer.n_tokens": 4, "quantizer.codebook_size": 32, "quantizer.code_dim": 8, "decoder.fm_steps": 2,
        **{f"stage2.ar.{k}": v for k, v in SMALL_AR.items()},
        "quantizer.restart_every": 4,
        "optim.batch_size": 16, "optim.steps": 8, "optim.warmup_steps": 2, "optim.log_every": 2,
        "optim.eval_every": 4, "optim.ckpt_every": 2,
        "evaluation.eval_images": 32, "evaluation.code_eval_images": 64, "evaluation.test_images": 32,
        "evaluation.snapshot_every": 2,
        "stage2.optim.steps": 8, "stage2.optim.batch_size": 16, "stage2.optim.warmup_steps": 2,
        "stage2.optim.log_every": 2, "stage2.optim.eval_every": 4, "stage2.optim.ckpt_every": 4,
        "stage2.train_images": 512, "stage2.eval_images": 64, "sample.n": 8, "sample.batch": 8,
    }


@base_preset("paper_w")
def _paper_w_cifar10() -> dict:
    """Paper W, CIFAR-10 (Table 5, App. F.1; values the text lost from the authors' code)."""
    big = dict(width=512, heads=8, mlp_ratio=4.0)
    return {
        "data.dataset": "cifar10", "data.image_size": 32, "tokenizer.patch_size": 4,  # 32x32, patch 4: 64 patches
        "tokenizer.width": 512, "tokenizer.enc_depth": 10, "tokenizer.dec_depth": 10,  # Table 5: 10 layers x 512
        "tokenizer.heads": 8, "tokenizer.mlp_ratio": 4.0,                               # 8 heads, MLP ratio 4
        "tokenizer.n_tokens": 64, "quantizer.codebook_size": 1024, "quantizer.code_dim": 12,  # authors' code
        "quantizer.restart_every": 0,                                                   # W F.1 states no restart
        "decoder.fm_steps": 25,                                                         # authors' code: 25 steps
        "reconstruction.l1_weight": 0.1, "reconstruction.l2_weight": 1.0, "reconstruction.lpips_weight": 0.1,  # F.1
        "optim.steps": 400_000, "optim.batch_size": 512,                                # F.1: 400K at batch 512
        "optim.lr": 1.5e-4, "optim.lr_min": 3e-5, "optim.schedule": "cosine", "optim.warmup_steps": 0,  # authors'
        "optim.beta1": 0.5, "optim.beta2": 0.95, "optim.weight_decay": 0.0,             # authors' code
        "optim.log_every": 100, "optim.eval_every": 25_000, "optim.ckpt_every": 5_000,
        "evaluation.eval_images": 400, "evaluation.code_eval_images": 5_000, "evaluation.test_images": 10_000,
        "evaluation.snapshot_every": 0,                                                 # at the eval steps only
        **{f"stage2.ar.{k}": v for k, v in {**big, "depth": 13}.items()},               # F.1: 50M AR (13 x 512)
        "stage2.optim.steps": 400_000, "stage2.optim.batch_size": 512, "stage2.optim.lr": 1.5e-4,
        "stage2.optim.lr_min": 3e-5, "stage2.optim.warmup_steps": 0, "stage2.optim.log_every": 100,
        "stage2.optim.eval_every": 25_000, "stage2.optim.ckpt_every": 5_000, "stage2.eval_images": 5_000,
        "sample.n": 50_000, "sample.batch": 1000,                                       # FID-50K (W §5)
    }


@base_preset("paper_p")
def _paper_p_imagenet() -> dict:
    """Paper P, ImageNet 256, Base tokenizer + Base AR (Table A4, App. E; authors' code where the text lost values)."""
    ar_b = dict(depth=12, width=768, heads=12, mlp_ratio=8 / 3)
    return {
        "data.dataset": "imagenet", "data.image_size": 256, "tokenizer.patch_size": 16, "tokenizer.kind": "2d",
        "tokenizer.width": 768, "tokenizer.enc_depth": 12, "tokenizer.dec_depth": 12, "tokenizer.heads": 12,
        "tokenizer.mlp_ratio": 8 / 3,                                                   # Table A4 B: 12 x 768
        "quantizer.codebook_size": 16384, "quantizer.code_dim": 14,                     # P §2; authors' z_dim 14
        "quantizer.restart_every": 0,                                                   # P App. E states none
        "reconstruction.l1_weight": 1.0, "reconstruction.l2_weight": 1.0, "reconstruction.lpips_weight": 1.0,
        "optim.steps": 750_000, "optim.batch_size": 256,                                # App. E: 150 epochs
        "optim.lr": 1e-4, "optim.lr_min": 1e-5, "optim.schedule": "linear", "optim.warmup_steps": 20_000,
        "optim.beta1": 0.0, "optim.beta2": 0.99, "optim.log_every": 100, "optim.eval_every": 50_000,
        "optim.ckpt_every": 5_000, "evaluation.eval_images": 200, "evaluation.code_eval_images": 5_000,
        "evaluation.test_images": 10_000, "evaluation.snapshot_every": 0,
        **{f"stage2.ar.{k}": v for k, v in ar_b.items()}, "stage2.ar.dropout": 0.1,     # Table A4 AR-B: 115M
        "stage2.class_cond": True, "stage2.label_drop": 0.1,                            # App. E
        "stage2.optim.grad_clip": 1.0, "stage2.optim.weight_decay": 3e-2,
        "stage2.optim.steps": 1_000_000, "stage2.optim.batch_size": 512,                # App. E: 400 epochs
        "stage2.optim.lr": 4e-4, "stage2.optim.lr_min": 1e-5, "stage2.optim.schedule": "linear",
        "stage2.optim.warmup_steps": 62_500, "stage2.optim.beta1": 0.9, "stage2.optim.beta2": 0.96,
        "stage2.optim.log_every": 100, "stage2.optim.eval_every": 100_000, "stage2.optim.ckpt_every": 5_000,
        "stage2.eval_images": 10_000, "sample.n": 50_000, "sample.batch": 250, "runtime.num_workers": 8,
    }


@base_preset("paper_f")
def _paper_f_imagenet() -> dict:
    """Paper F, ImageNet 256 (§5.2, App. C.2-C.4, Table 3; authors' code where the text lost values): ViT-L
    encoder and decoder (~391M each, §5.2), 64 continuous tokens x 32 (patch 16), a MAR-B-sized causal AR with a
    6 x 1024 flow head (the flow prior's shape: ``tvclab.methods.alignment``)."""
    return {
        "data.dataset": "imagenet", "data.image_size": 256, "tokenizer.patch_size": 16, "tokenizer.kind": "1d",
        "tokenizer.width": 1024, "tokenizer.enc_depth": 24, "tokenizer.dec_depth": 24, "tokenizer.heads": 16,
        "tokenizer.mlp_ratio": 4.0, "tokenizer.n_tokens": 64,                            # §5.2: ViT-L, 64 tokens
        "quantizer.kind": "none", "quantizer.code_dim": 32, "quantizer.restart_every": 0,  # §5.2: 64 x 32
        "reconstruction.l1_weight": 0.0, "reconstruction.l2_weight": 1.0, "reconstruction.lpips_weight": 1.0,
        # authors' code (flowae-adv-...-l-64.yaml): 20 epochs at 256, lr 1e-4 cosine, betas (0.9, 0.95), wd 1e-4,
        # clip 1.0; Table 3: warmup 2.5k
        "optim.steps": 100_000, "optim.batch_size": 256, "optim.lr": 1e-4, "optim.lr_min": 0.0,
        "optim.schedule": "cosine", "optim.warmup_steps": 2_500, "optim.beta1": 0.9, "optim.beta2": 0.95,
        "optim.weight_decay": 1e-4, "optim.grad_clip": 1.0, "optim.log_every": 100, "optim.eval_every": 5_000,
        "optim.ckpt_every": 5_000, "evaluation.eval_images": 400, "evaluation.code_eval_images": 5_000,
        "evaluation.test_images": 10_000, "evaluation.snapshot_every": 0,
        # MAR-B with a flow head (App. C.4; authors' mar script: 400 epochs, batch 64 x 8, blr 1e-4 -> lr 2e-4,
        # warmup 100 epochs, diffusion batch mul 4, 100 Euler steps); a causal AR of MAR-B's size here
        "stage2.ar.depth": 24, "stage2.ar.width": 768, "stage2.ar.heads": 12, "stage2.ar.mlp_ratio": 4.0,
        "stage2.flow_head.width": 1024, "stage2.flow_head.blocks": 6, "stage2.flow_head.sample_steps": 100,
        "stage2.flow_head.n_t": 4, "stage2.class_cond": True, "stage2.label_drop": 0.1,
        "stage2.optim.steps": 1_000_000, "stage2.optim.batch_size": 512, "stage2.optim.lr": 2e-4,
        "stage2.optim.lr_min": 2e-4, "stage2.optim.schedule": "constant", "stage2.optim.warmup_steps": 250_000,
        "stage2.optim.beta1": 0.9, "stage2.optim.beta2": 0.999, "stage2.optim.log_every": 100,
        "stage2.optim.eval_every": 50_000, "stage2.optim.ckpt_every": 5_000, "stage2.eval_images": 10_000,
        "sample.n": 50_000, "sample.batch": 256, "runtime.num_workers": 8,
    }


@base_preset("f_cpu")
def _f_cpu() -> dict:
    """Paper F at the cpu tier (ours): the 1D tokenizer of the cpu tier with 8 continuous tokens of 16 dims (16
    divides the classifier's 128 features for the average-pooling projection, Table 2(a)); a validation row every
    25 steps, so each Fig. 4 curve has 16 points; no tokenizer snapshots (F has no matched rows)."""
    return {"quantizer.kind": "none", "quantizer.code_dim": 16, "quantizer.restart_every": 0,
            "optim.eval_every": 25, "evaluation.snapshots": False}


@base_preset("f_smoke")
def _f_smoke() -> dict:
    return {**base("smoke"), **base("f_cpu"), "optim.eval_every": 2, "quantizer.code_dim": 8,
            "stage2.flow_head.width": 32, "stage2.flow_head.blocks": 1, "stage2.flow_head.sample_steps": 2}


def cpu_tier() -> dict:
    return base("cpu")


def smoke_tier() -> dict:
    return base("smoke")


def paper_w_cifar10() -> dict:
    return base("paper_w")


def paper_p_imagenet() -> dict:
    return base("paper_p")


def paper_f_imagenet() -> dict:
    return base("paper_f")


def f_cpu() -> dict:
    return base("f_cpu")


def f_smoke() -> dict:
    return base("f_smoke")


# Paper W's Table 1 rows (§2.3, F.1), paper P's 2D baseline and paper F's plain and KL autoencoders (§5.2, Table 1);
# each states its paper-tier preset. The methods' own presets (wartok, prologue, ae_aligned, ...) are in their
# ``tvclab.methods`` modules.
preset("baseline_1d", smoke=smoke_tier, cpu=cpu_tier, paper=paper_w_cifar10)
preset("tail_dropout", smoke=smoke_tier, cpu=cpu_tier, paper=paper_w_cifar10,
       method={"decoder.tail_dropout_p": 0.5})                                          # W F.1: p = 0.5
preset("fm_decoder", smoke=smoke_tier, cpu=cpu_tier, paper=paper_w_cifar10,
       method={"decoder.kind": "fm"})                                                   # W F.1: FlowMo-style
preset("fm_tail", smoke=smoke_tier, cpu=cpu_tier, paper=paper_w_cifar10,
       method={"decoder.kind": "fm", "decoder.tail_dropout_p": 0.5})
preset("fm_tail_tied", smoke=smoke_tier, cpu=cpu_tier, paper=paper_w_cifar10,
       method={"decoder.kind": "fm", "decoder.tail_dropout_p": 1.0, "decoder.tied_timesteps": True})  # SelfTok
preset("baseline_2d", smoke=smoke_tier, cpu=cpu_tier, paper=paper_p_imagenet,
       method={"tokenizer.kind": "2d"})                                                 # P's 2D tokenizer
preset("ae", smoke=f_smoke, cpu=f_cpu, paper=paper_f_imagenet)
preset("ae_kl", smoke=f_smoke, cpu=f_cpu, paper=paper_f_imagenet,
       method={"quantizer.kl_weight": 1e-4})  # F's KL row; the weight is not stated (ours, SoftVQ-like small)
_build()



def get(name: str, tier: str = "cpu") -> Config:
    """The configuration of method ``name`` at ``tier`` (a fresh dataclass instance)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown config {name!r}; valid names: {', '.join(NAMES)}")
    if tier not in TIERS:
        raise ConfigError(f"unknown tier {tier!r}; valid tiers: {', '.join(TIERS)}")
    cfg = Config(name=name, tier=tier)
    _assign(cfg, PRESETS[name][tier](), where=f"preset {name}/{tier}")
    return cfg.validate()


# ------------------------------------------------------------------------------------------------ overrides

def parse_value(key: str, text: str, like):
    """``text`` as the type of ``like`` (bool, int, float or str); an int is read exactly (``_parse_int``)."""
    t = type(like)
    try:
        if t is bool:
            low = text.strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            return low in ("1", "true", "yes", "on")
        if t is int:
            return _parse_int(key, text, like)
        if t is float:
            return float(text)
        return text
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(f"--set {key}={text}: expected {_a(t)} (current value {like!r})") from None


def _parse_int(key: str, text: str, like: int) -> int:
    """``text`` as an int, read exactly (``1e3`` and ``3.0`` are ints, ``1e30`` is 10**30, not a float's
    approximation, which ``check_ranges`` then refuses naming the field's range); a fraction, NaN or infinity
    raises ValueError, a number of more than 1000 digits ConfigError (it is not built)."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(text)
    if d.adjusted() >= 1000:
        raise ConfigError(f"--set {key}={text}: {d:.3e} does not fit a 64-bit integer; expected an int "
                          f"(current value {like!r})")
    return int(d)


def check_unique(overrides) -> None:
    """Raise ConfigError when a key appears twice in ``["key=value", ...]`` (the CLI's ``--set``), naming the key
    and its values: which one was meant is not for the suite to guess."""
    seen: dict[str, list[str]] = {}
    for o in overrides or []:
        k, v = _split(o)
        seen.setdefault(k, []).append(v)
    twice = {k: vs for k, vs in seen.items() if len(vs) > 1}
    if twice:
        k, vs = next(iter(twice.items()))
        more = (f" (and {len(twice) - 1} more key{'s' if len(twice) > 2 else ''} given twice)" if len(twice) > 1
                else "")
        raise ConfigError(f"--set {k} is given {len(vs)} times ({', '.join(map(repr, vs))}){more}: give each key "
                          f"once")


MAX_SUGGESTIONS = 5


def suggest_keys(key: str, n: int = MAX_SUGGESTIONS) -> list[str]:
    """At most ``n`` valid dotted keys close to an unknown ``key``: first those whose leaf is the key's leaf (``lr``
    -> ``optim.lr``, ``stage2.optim.lr``, ...), then difflib's closest spellings (``difflib.get_close_matches``,
    ratio >= 0.6), then, when neither finds any, the first keys of the same section."""
    import difflib

    valid = [k for k in keys() if k not in ("name", "tier")]
    leaf, section = key.split(".")[-1], key.split(".")[0]
    out = sorted((k for k in valid if k.split(".")[-1] == leaf), key=lambda k: k.count("."))  # shallowest first
    out += [k for k in difflib.get_close_matches(key, valid, n=n, cutoff=0.6) if k not in out]
    if not out:
        out = [k for k in valid if k.split(".")[0] == section]
    return out[:n]


def keys_in(section: str | None = None) -> list[str]:
    """The valid dotted ``--set`` keys, all of them or those of one section (``optim``, ``stage2.optim``, ...)."""
    valid = [k for k in keys() if k not in ("name", "tier")]
    if not section:
        return valid
    picked = [k for k in valid if k == section or k.startswith(section + ".")]
    if not picked:
        sections = sorted({k.rsplit(".", 1)[0] for k in valid if "." in k})
        raise ConfigError(f"no config section {section!r}; sections: {', '.join(sections)}")
    return picked


def check_keys(overrides) -> None:
    """Raise the unknown-key error (with suggestions) for the first ``key=value`` of ``overrides`` whose key no
    config has; values are checked later, against the chosen preset."""
    valid = set(keys())
    for item in overrides:
        key = str(item).split("=", 1)[0].strip()
        if key and key not in valid:
            raise _unknown(key)


def _unknown(key: str) -> ConfigError:
    near = suggest_keys(key)
    section = key.split(".")[0] if "." in key else None
    where = section if section and any(k.startswith(section + ".") for k in keys()) else None
    guess = f"did you mean {', '.join(near)}?" if near else "no valid key is close to it"
    return ConfigError(f"unknown config key {key!r}; {guess} "
                       f"(python -m tvclab.train --list-keys {where or '[SECTION]'} lists the valid keys)")


def _assign(cfg: Config, changes: dict, where: str = "--set") -> None:
    """Set dotted keys in place, with type checks."""
    for key, value in changes.items():
        *path, leaf = key.split(".")
        obj = cfg
        for part in path:
            if not hasattr(obj, part) or not is_dataclass(getattr(obj, part)):
                raise _unknown(key)
            obj = getattr(obj, part)
        if not is_dataclass(obj) or leaf not in {f.name for f in fields(obj)} or is_dataclass(getattr(obj, leaf)):
            raise _unknown(key)
        like = getattr(obj, leaf)
        if isinstance(value, str) and not isinstance(like, str):
            value = parse_value(key, value, like)
        else:
            value = _coerce(key, value, like)
        setattr(obj, leaf, value)


def apply_overrides(cfg: Config, overrides) -> Config:
    """Apply ``["section.key=value", ...]`` (or a dict) to a copy of ``cfg``; unknown keys or bad types raise
    ConfigError naming the key and listing the valid ones."""
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in (overrides or [])]
    changes = dict(items)
    for k in changes:
        if k in ("name", "tier"):
            raise ConfigError(f"{k!r} cannot be overridden; pick the config with --config / --tier")
    new = from_dict(cfg.to_dict())
    _assign(new, changes)
    return new.validate()


def _split(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError(f"--set expects section.key=value (e.g. tokenizer.width=64), got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _coerce(key, value, like):
    t = type(like)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, t) or (t is int and isinstance(value, bool)):
        raise ConfigError(f"{key}={value!r}: expected {_a(t)} (current value {like!r})")
    return value


def from_dict(d: dict) -> Config:
    """A Config from a saved config.json (nested); unknown keys are an error naming them (another version's run)."""
    flat = migrate(flatten(d))
    extra = sorted(set(flat) - set(keys()))
    if extra:
        raise ConfigError(f"config.json has keys this version does not know: {', '.join(extra)} (a run directory "
                          "of an older layout: regenerate it, see README 'Run directories')")
    cfg = Config(name=d.get("name", "baseline_1d"), tier=d.get("tier", "cpu"))
    _assign(cfg, {k: v for k, v in flat.items() if k not in ("name", "tier")}, where="config.json")
    return cfg


def _a(t: type) -> str:
    return {"int": "an int", "float": "a float", "bool": "a bool (true/false)", "str": "a string"}.get(t.__name__, t.__name__)
