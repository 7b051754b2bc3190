"""Run configurations: one ``Config`` dataclass instance per (method, tier), with the papers' values cited.

``get(name, tier)`` returns it; ``NAMES`` and ``TIERS`` list what exists; ``apply_overrides(cfg, ["k=v", ...])``
parses ``--set`` values to the field's type and fails with the list of valid keys.

Methods (paper W §2.3 / Table 1 rows, App. F.1; paper P's 2D baseline):

=============  =====================================================================================
baseline_1d    1D tokenizer (TiTok-style learnable queries), deterministic decoder, L2-normalised VQ
tail_dropout   + tail dropout with p = 0.5, SelfTok-like cut-off schedule (W F.1)
fm_decoder     flow-matching decoder (noise queries, v-prediction, AdaRMSNorm timestep; W F.1, FlowMo)
fm_tail        flow-matching decoder + tail dropout p = 0.5
fm_tail_tied   flow-matching decoder + tail dropout at every step, cut-off set by the timestep (SelfTok)
wartok         baseline_1d + WGF-DPD (W §4.5-4.7, Algorithm 1): proxy AR q_psi, fixed random target p_theta
baseline_2d    paper P's 2D tokenizer: one token per patch (P Table A4, App. E at the paper tier)
=============  =====================================================================================

Tiers (SPEC "Scale tiers"): ``smoke`` (tiny, seconds; tests), ``cpu`` (Fashion-MNIST 28x28, patch 7 -> 16 patches,
8 latent tokens, width 128, 2+2 layers, batch 128, 1000 steps: about 3-4 minutes on 2 cores), ``paper`` (the
papers' tables: W Table 5 / F.1 on CIFAR-10; P Table A4 / App. E on ImageNet 256 for baseline_2d).

Field groups, by name: ``ar_*`` configure stage 2 (the AR prior on frozen tokens), ``sample_*`` the sampler,
``RUNTIME_KEYS`` where/how a run executes (never part of a run's identity); everything else is stage 1.
"""
import dataclasses
from dataclasses import dataclass, fields

TIERS = ("smoke", "cpu", "paper")
RUNTIME_KEYS = ("device", "data_root", "num_workers")


class ConfigError(ValueError):
    """A bad config name, tier, key or value; the message lists what is valid."""


@dataclass
class Config:
    # ------------------------------------------------------------------ identity
    name: str = "baseline_1d"
    tier: str = "cpu"
    seed: int = 0
    # ------------------------------------------------------------------ runtime (not part of a run's identity)
    device: str = "auto"          # auto: cuda when available (one GPU per process under torchrun), else cpu
    data_root: str = ""           # folder handed to tvclab.data.load (empty: TVCLAB_DATA / defaults)
    num_workers: int = 0          # DataLoader workers for data sets not held in memory (ImageNet)
    # ------------------------------------------------------------------ data
    dataset: str = "fashion_mnist"  # SPEC "Data": the embedded default; 28x28 kept (patch 7 divides it)
    image_size: int = 28
    # ------------------------------------------------------------------ tokenizer
    kind: str = "1d"              # "1d" TiTok-style queries (W §2.3) | "2d" one token per patch (P)
    patch_size: int = 7           # cpu: 16 patches of 7x7 (NOTES: cost scales with tokens per image)
    width: int = 128
    enc_depth: int = 2
    dec_depth: int = 2
    heads: int = 4
    mlp_ratio: float = 2.0        # W Table 5: MLP ratio 4 (GEGLU); cpu tier 2 (0.6x the step time, NOTES budget)
    n_tokens: int = 8             # latent tokens (1D); 2D uses one per patch
    codebook_size: int = 256
    code_dim: int = 12            # W F.1 / authors' code: code dim 12
    quantizer: str = "vq"         # "vq" L2-normalised VQ (W F.1 default) | "none" continuous tokens (paper F)
    vq_beta: float = 0.25         # commitment weight (authors' code)
    commit_weight: float = 1.0    # weight of the VQ codebook+commitment loss in the total
    kl_weight: float = 0.0        # quantizer="none": > 0 adds a Gaussian (VAE) head with this KL weight
    decoder: str = "det"          # "det" | "fm" flow-matching decoder (W F.1, FlowMo-style)
    fm_steps: int = 10            # Euler steps when decoding with the flow-matching decoder (authors' code: 25)
    tail_dropout_p: float = 0.0   # W F.1: 0.5 for tail-dropout methods
    tied_timesteps: bool = False  # W F.1: cut-off set by the diffusion timestep, applied every step
    # paper P prologue tokens (0: none); P §2 / SPEC: 16 tokens, codebook 1024, Prob-STE tau 0.1, AR weight 3.0,
    # visual dropout 0.5, compact joint AR 7 x 512
    n_prologue: int = 0
    prologue_codebook_size: int = 1024
    prologue_code_dim: int = 0    # 0: same as code_dim
    prologue_tau: float = 0.1
    prologue_ar_weight: float = 3.0
    visual_dropout: float = 0.5
    joint_ar_depth: int = 2
    joint_ar_width: int = 128
    joint_ar_heads: int = 4
    # ------------------------------------------------------------------ reconstruction loss (W F.1)
    l1_weight: float = 0.1
    l2_weight: float = 1.0        # flow-matching decoders: weight of the velocity MSE
    lpips_weight: float = 0.1     # dropped with a notice when LPIPS weights are unavailable
    # ------------------------------------------------------------------ WGF-DPD (W §4.5-4.7, Algorithm 1, F.1)
    wgf_weight: float = 0.0       # 0: off; wartok 0.1 (not stated in W; ours: 1.0 gave a gradient ~6x the
                                  # reconstruction one at the cpu tier and lower PSNR in a 500-step pilot)
    wgf_tau: float = 1.0          # temperature of the distance logits -||u - c_k||^2 (authors' VQ: 1.0)
    target_temperature: float = 0.03  # W F.1: "apply a low temperature"; value not stated. Ours, from cpu-tier runs
                                  # (1500 steps, seed 0): T 0.1 -> gLoss 2.27 / PSNR 18.3 (baseline 2.12 / 18.7);
                                  # T 0.03 -> gLoss 1.04 / PSNR 16.7. The random target's predictive entropy
                                  # is ~3.5 nats at T 0.1 and ~0.8 at 0.03 (width 128, K 256)
    target_trained: bool = False  # ablation: train the target by CE (Algorithm 1) instead of fixing it (F.1)
    proxy_depth: int = 2          # W Table 5: 4 layers at dim 512 (~17M)
    proxy_width: int = 128
    proxy_heads: int = 4
    target_depth: int = 3         # W Table 5: 13 layers at dim 512 (~50M)
    target_width: int = 128
    target_heads: int = 4
    # ------------------------------------------------------------------ stage-1 optimisation
    steps: int = 1000             # cpu tier: 1000 steps so notebook 02's seven rows fit its 60-minute budget
    batch_size: int = 128         # global batch (split across torchrun processes)
    lr: float = 1e-3
    lr_min: float = 1e-4
    lr_schedule: str = "cosine"   # "cosine" (W: cosine to 3e-5) | "linear" (P: linear decay)
    warmup_steps: int = 100
    beta1: float = 0.5            # W / authors' code: betas (0.5, 0.95)
    beta2: float = 0.95
    weight_decay: float = 0.0     # authors' CIFAR code: 0 for encoder/decoder/AR
    grad_clip: float = 0.0        # 0: off
    log_every: int = 25
    eval_every: int = 250
    ckpt_every: int = 250
    eval_images: int = 256        # fixed held-out batch (first test images) for l1/l2/PSNR
    code_eval_images: int = 2000  # held-out images for code usage / entropy / WGF surrogate
    snapshots: bool = True        # save the tokenizer at every evaluation step (matched-rFID rows, W Table 1)
    # ------------------------------------------------------------------ stage 2: AR prior on frozen tokens
    ar_depth: int = 3
    ar_width: int = 128
    ar_heads: int = 4
    ar_mlp_ratio: float = 2.0     # cpu tier: as the tokenizer (paper tiers: 4, W F.1; 8/3, P)
    ar_dropout: float = 0.0
    ar_class_cond: bool = False   # W CIFAR-10: unconditional; P ImageNet: class-conditional
    ar_label_drop: float = 0.1    # CFG label dropout (P App. E; authors' W AR config)
    ar_steps: int = 600
    ar_batch_size: int = 128
    ar_lr: float = 1e-3
    ar_lr_min: float = 1e-4
    ar_lr_schedule: str = "cosine"
    ar_warmup_steps: int = 50
    ar_beta1: float = 0.5
    ar_beta2: float = 0.95
    ar_weight_decay: float = 0.0
    ar_grad_clip: float = 0.0
    ar_log_every: int = 25
    ar_eval_every: int = 100
    ar_ckpt_every: int = 500
    ar_train_images: int = 0      # 0: the whole train split
    ar_tokenizer_step: int = 0    # 0: the final tokenizer; k: its stage-1 snapshot at step k (matched rFID, W Table 1)
    ar_eval_images: int = 10000   # held-out images whose tokens give gLoss / top-1
    # ------------------------------------------------------------------ sampling
    sample_n: int = 1000
    sample_batch: int = 500
    sample_temperature: float = 1.0
    sample_top_k: int = 0
    sample_cfg: float = 1.0       # 1: no guidance
    sample_seed: int = 0

    # ---------------------------------------------------------------- helpers
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def group(self, stage: str) -> dict:
        """The fields that define a run of ``stage`` ("stage1", "stage2", "sample") and the runs it reads."""
        d = {k: v for k, v in self.to_dict().items() if k not in RUNTIME_KEYS}
        s1 = {k: v for k, v in d.items() if not k.startswith(("ar_", "sample_"))}
        if stage == "stage1":
            return s1
        s2 = {k: v for k, v in d.items() if k.startswith("ar_")}
        if stage == "stage2":
            return {**s1, **s2}
        return {**s1, **s2, **{k: v for k, v in d.items() if k.startswith("sample_")}}

    def validate(self) -> "Config":
        def need(ok, msg):
            if not ok:
                raise ConfigError(f"config {self.name}/{self.tier}: {msg}")
        need(self.tier in TIERS, f"tier must be one of {', '.join(TIERS)}")
        need(self.kind in ("1d", "2d"), "kind must be '1d' or '2d'")
        need(self.quantizer in ("vq", "none"), "quantizer must be 'vq' or 'none'")
        need(self.decoder in ("det", "fm"), "decoder must be 'det' or 'fm'")
        need(not self.tied_timesteps or self.decoder == "fm", "tied_timesteps needs decoder=fm")
        need(0.0 <= self.tail_dropout_p <= 1.0, "tail_dropout_p must be in [0, 1]")
        need(self.image_size % self.patch_size == 0, "image_size must be a multiple of patch_size")
        need(self.wgf_weight == 0 or self.quantizer == "vq", "WGF-DPD needs discrete tokens (quantizer=vq)")
        need(self.lr_schedule in ("cosine", "linear") and self.ar_lr_schedule in ("cosine", "linear"),
             "lr schedules must be 'cosine' or 'linear'")
        for every, base in (("eval_every", "log_every"), ("ckpt_every", "log_every"),
                            ("ar_eval_every", "ar_log_every"), ("ar_ckpt_every", "ar_log_every")):
            need(getattr(self, every) > 0 and getattr(self, base) > 0 and getattr(self, every) % getattr(self, base) == 0,
                 f"{every} ({getattr(self, every)}) must be a positive multiple of {base} ({getattr(self, base)})")
        need(self.codebook_size >= 2 and self.n_tokens >= 1, "codebook_size >= 2 and n_tokens >= 1")
        return self


def keys() -> list[str]:
    return [f.name for f in fields(Config)]


# ------------------------------------------------------------------------------------------------ tier presets

def _cpu() -> dict:
    return {}  # the dataclass defaults are the cpu tier


def _smoke() -> dict:
    return dict(width=32, enc_depth=1, dec_depth=1, heads=2, n_tokens=4, codebook_size=32, code_dim=8,
                batch_size=16, steps=8, lr=1e-3, warmup_steps=2, log_every=2, eval_every=4, ckpt_every=2,
                eval_images=32, code_eval_images=64, fm_steps=2,
                proxy_depth=1, proxy_width=32, proxy_heads=2, target_depth=1, target_width=32, target_heads=2,
                joint_ar_depth=1, joint_ar_width=32, joint_ar_heads=2,
                ar_depth=1, ar_width=32, ar_heads=2, ar_steps=8, ar_batch_size=16, ar_warmup_steps=2,
                ar_log_every=2, ar_eval_every=4, ar_ckpt_every=4, ar_train_images=512, ar_eval_images=64,
                sample_n=8, sample_batch=8)


def _paper_w() -> dict:
    """Paper W, CIFAR-10 (Table 5, App. F.1; values the text lost from the authors' code, SPEC)."""
    return dict(
        dataset="cifar10", image_size=32, patch_size=4,          # 32x32, patch 4 -> 64 patches
        width=512, enc_depth=10, dec_depth=10, heads=8, mlp_ratio=4.0,  # Table 5: 10 layers, dim 512, 8 heads, ratio 4
        n_tokens=64, codebook_size=1024, code_dim=12,           # authors' code: 64 tokens, K 1024, dim 12
        fm_steps=25,                                            # authors' code: 25 Euler steps
        l1_weight=0.1, l2_weight=1.0, lpips_weight=0.1,         # F.1
        proxy_depth=4, proxy_width=512, proxy_heads=8,          # Table 5: proxy 4 x 512, ~17M
        target_depth=13, target_width=512, target_heads=8,      # Table 5: target 13 x 512, ~50M
        steps=400_000, batch_size=512,                          # F.1: 400K iterations at batch 512
        lr=1.5e-4, lr_min=3e-5, lr_schedule="cosine", warmup_steps=0, beta1=0.5, beta2=0.95,  # authors' code
        weight_decay=0.0, log_every=100, eval_every=25_000, ckpt_every=5_000, eval_images=400,
        code_eval_images=10_000,
        ar_depth=13, ar_width=512, ar_heads=8, ar_mlp_ratio=4.0,  # F.1: 50M AR prior (13 x 512)
        ar_steps=400_000, ar_batch_size=512, ar_lr=1.5e-4, ar_lr_min=3e-5, ar_warmup_steps=0,  # F.1 / authors' code
        ar_beta1=0.5, ar_beta2=0.95, ar_log_every=100, ar_eval_every=25_000, ar_ckpt_every=5_000,
        ar_eval_images=10_000, sample_n=50_000, sample_batch=1000,  # FID-50K (W §5)
    )


def _paper_p() -> dict:
    """Paper P, ImageNet 256, Base tokenizer + Base AR (Table A4, App. E; authors' code where the text lost values)."""
    return dict(
        dataset="imagenet", image_size=256, patch_size=16, kind="2d",  # 256 tokens of 16x16 patches
        width=768, enc_depth=12, dec_depth=12, heads=12, mlp_ratio=8 / 3,  # Table A4 B: 86M/86M, 12 x 768, 12 heads
        codebook_size=16384, code_dim=14,                       # P §2: visual codebook 16384; authors' code: z_dim 14
        l1_weight=1.0, l2_weight=1.0, lpips_weight=1.0,         # authors' code (App. E's weights lost in the text)
        steps=750_000, batch_size=256,                          # App. E: batch 256, 150 epochs of 1.28M images
        lr=1e-4, lr_min=1e-5, lr_schedule="linear", warmup_steps=20_000, beta1=0.0, beta2=0.99,  # authors' code
        log_every=100, eval_every=50_000, ckpt_every=5_000, eval_images=200, code_eval_images=10_000,
        joint_ar_depth=7, joint_ar_width=512, joint_ar_heads=8,  # SPEC: compact joint AR 7 x 512 (~40M)
        ar_depth=12, ar_width=768, ar_heads=12, ar_mlp_ratio=8 / 3,  # Table A4 AR-B: 115M, 12 x 768
        ar_class_cond=True, ar_label_drop=0.1, ar_dropout=0.1, ar_grad_clip=1.0, ar_weight_decay=3e-2,  # App. E
        ar_steps=1_000_000, ar_batch_size=512,                  # App. E: batch 512, 400 epochs
        ar_lr=4e-4, ar_lr_min=1e-5, ar_lr_schedule="linear", ar_warmup_steps=62_500,  # authors' code
        ar_beta1=0.9, ar_beta2=0.96, ar_log_every=100, ar_eval_every=100_000, ar_ckpt_every=5_000,
        ar_eval_images=10_000, sample_n=50_000, sample_batch=250, proxy_width=512, target_width=512, num_workers=8,
    )


# ------------------------------------------------------------------------------------------------ method deltas

_METHODS = {
    "baseline_1d": {},
    "tail_dropout": dict(tail_dropout_p=0.5),                                  # W F.1: p = 0.5
    "fm_decoder": dict(decoder="fm"),                                          # W F.1: FlowMo-style decoder
    "fm_tail": dict(decoder="fm", tail_dropout_p=0.5),
    "fm_tail_tied": dict(decoder="fm", tail_dropout_p=1.0, tied_timesteps=True),  # SPEC: p = 1.0, SelfTok stages
    "wartok": dict(wgf_weight=0.1),                                            # W §4.5-4.7 (weight: ours)
    "baseline_2d": dict(kind="2d"),                                            # P's 2D tokenizer
}
NAMES = tuple(_METHODS)


def get(name: str, tier: str = "cpu") -> Config:
    """The configuration of method ``name`` at ``tier`` (a fresh dataclass instance)."""
    if name not in _METHODS:
        raise ConfigError(f"unknown config {name!r}; valid names: {', '.join(NAMES)}")
    if tier not in TIERS:
        raise ConfigError(f"unknown tier {tier!r}; valid tiers: {', '.join(TIERS)}")
    base = {"smoke": _smoke, "cpu": _cpu, "paper": _paper_p if name == "baseline_2d" else _paper_w}[tier]()
    return Config(name=name, tier=tier, **{**base, **_METHODS[name]}).validate()


def parse_value(key: str, text: str, like):
    """``text`` as the type of ``like`` (bool, int, float or str)."""
    t = type(like)
    try:
        if t is bool:
            low = text.strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            return low in ("1", "true", "yes", "on")
        if t is int:
            v = float(text)
            if v != int(v):
                raise ValueError(text)
            return int(v)
        if t is float:
            return float(text)
        return text
    except ValueError:
        raise ConfigError(f"--set {key}={text}: expected {_a(t)} (current value {like!r}); "
                          f"valid keys: {', '.join(keys())}") from None


def apply_overrides(cfg: Config, overrides) -> Config:
    """Apply ``["key=value", ...]`` (or a dict) to a copy of ``cfg``; unknown keys or bad types raise ConfigError
    listing the valid keys."""
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in (overrides or [])]
    valid = keys()
    changes = {}
    for k, v in items:
        if k not in valid or k in ("name", "tier"):
            raise ConfigError(f"unknown config key {k!r}; valid keys: {', '.join(x for x in valid if x not in ('name', 'tier'))}")
        like = getattr(cfg, k)
        changes[k] = parse_value(k, v, like) if isinstance(v, str) and not isinstance(like, str) else _coerce(k, v, like)
    return dataclasses.replace(cfg, **changes).validate()


def _split(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}; valid keys: {', '.join(keys())}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _coerce(key, value, like):
    t = type(like)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, t) or (t is int and isinstance(value, bool)):
        raise ConfigError(f"{key}={value!r}: expected {_a(t)} (current value {like!r}); valid keys: {', '.join(keys())}")
    return value


def from_dict(d: dict) -> Config:
    """A Config from a saved config.json (unknown keys are an error: the run was written by another version)."""
    extra = set(d) - set(keys())
    if extra:
        raise ConfigError(f"config.json has keys this version does not know: {', '.join(sorted(extra))}")
    return Config(**d)


def _a(t: type) -> str:
    return {"int": "an int", "float": "a float", "bool": "a bool (true/false)", "str": "a string"}.get(t.__name__, t.__name__)
