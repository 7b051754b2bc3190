"""Paper V (VA-pi): GRPO post-training of the stage-2 AR with a pixel reconstruction reward: the config section
``posttrain`` (it defines the ``posttrain`` stage), its presets and cross-paper rows. The stage is
``tvclab.train.posttrain``."""
from __future__ import annotations

from dataclasses import dataclass, field

from tvclab.configs import (COUNT, PROBABILITY, RATE, WEIGHT, CrossPaperRow, MethodSpec, OptimConfig, Range,
                            register_method)


@dataclass
class PosttrainConfig:
    """Paper V (VA-pi): GRPO post-training of the stage-2 AR with a pixel reconstruction reward; only the AR changes.
    Values: the authors' public code, where the paper text lost them; the dataclass defaults are the cpu tier."""
    group_size: int = 8           # G sequences sampled per image (authors' code: 8)
    clip: float = 0.2             # PPO ratio clip epsilon (authors' code: 0.2)
    advantage_clip: float = 5.0   # group-normalised advantages clipped to [-5, 5] (authors' code)
    ce_weight: float = 0.1        # beta: teacher-forced CE prior regulariser (authors' code: 0.1)
    kl_weight: float = 0.01       # KL(pi || frozen base AR) (authors' code: optional, 0.01); 0: off (no base copy kept)
    kl_estimator: str = "exact"   # "exact": summed over the vocabulary at every position (ours); "k3": Schulman's k3
                                  # on the G sampled tokens (GRPO; the authors' code). Equal in expected value,
                                  # not in expected gradient (losses.k3_kl)
    updates: int = 1              # optimiser updates per sampled batch (authors' code: 1). > 1: the PPO ratio is
                                  # against the first update's log-probs, so the clip can bind
    noise: float = 0.5            # xi: contextual noise, each prefix id replaced at random with this probability
    mse_weight: float = 1.0       # reward = -(mse_weight * MSE + lpips_weight * LPIPS) per image (authors' code)
    lpips_weight: float = 1.0     # dropped with one notice when LPIPS weights are unavailable
    clf_weight: float = 0.0       # ours, not LPIPS: + clf_weight * squared distance in the FD-clf classifier's
                                  # features (mean over its dims), a perceptual reward that exists offline
    free_running_eval: bool = False  # diagnostic: also log the reward of free-running draws (first half of the
                                  # ground-truth tokens given, the rest sampled) at every evaluation
    eval_images: int = 256        # validation images for the reward / CE rows every optim.eval_every steps
    snapshots: bool = True        # the AR at every evaluation step (notebook 05's curves against iterations)
    # authors' code: lr 1e-6, 100 iterations x 128 images (the paper presets). cpu tier: the lr is chosen on the
    # validation split by notebook 05 (1e-6 does not move the 0.56M-parameter cpu-tier AR in 100 steps); AdamW betas
    # (0.9, 0.999), no decay: ours (no source states them).
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        steps=100, batch_size=128, lr=1e-4, lr_min=1e-4, schedule="constant", warmup_steps=0, beta1=0.9,
        beta2=0.999, log_every=5, eval_every=25, ckpt_every=25))


KL_ESTIMATORS = ("exact", "k3")


def _checks(cfg):
    pc = cfg.posttrain
    if pc.kl_estimator not in KL_ESTIMATORS:
        yield f"posttrain.kl_estimator must be one of {', '.join(KL_ESTIMATORS)}, got {pc.kl_estimator!r}"
    if pc.updates > 1 and pc.optim.steps % pc.updates:
        yield (f"posttrain.updates={pc.updates} must divide posttrain.optim.steps={pc.optim.steps} (each sampled "
               f"batch gets all its updates)")
    if pc.updates > 1 and pc.optim.ckpt_every % pc.updates:
        yield (f"posttrain.updates={pc.updates} must divide posttrain.optim.ckpt_every={pc.optim.ckpt_every}, so a "
               f"resumed run starts a fresh batch (set --set posttrain.optim.ckpt_every=<a multiple>)")


# Paper V's post-training of any stage-2 AR (values from the authors' public code; V: lr 1e-6, 100 iterations x 128
# images, ~1% of ImageNet), the same on every paper preset: G 8, clips 0.2 / 5, beta 0.1, KL 0.01, xi 0.5 are the
# dataclass defaults.
PAPER_V_POSTTRAIN = {"posttrain.optim.lr": 1e-6, "posttrain.optim.lr_min": 1e-6, "posttrain.optim.steps": 100,
                     "posttrain.optim.batch_size": 128, "posttrain.eval_images": 1000}

METHOD = register_method(MethodSpec(
    name="vapi", paper="V", section="posttrain", config=PosttrainConfig, stage="posttrain",
    rules={PosttrainConfig: {"group_size": Range(2), "clip": RATE, "advantage_clip": RATE, "ce_weight": WEIGHT,
                             "kl_weight": Range(0, note="0: no base copy"), "noise": PROBABILITY,
                             "mse_weight": WEIGHT, "lpips_weight": WEIGHT, "clf_weight": WEIGHT, "eval_images": COUNT,
                             "updates": COUNT}},
    check=_checks,
    bases={"smoke": lambda: {"posttrain.group_size": 4, "posttrain.eval_images": 16, "posttrain.optim.steps": 4,
                             "posttrain.optim.batch_size": 8, "posttrain.optim.log_every": 2,
                             "posttrain.optim.eval_every": 2, "posttrain.optim.ckpt_every": 2},
           "paper_w": lambda: dict(PAPER_V_POSTTRAIN), "paper_p": lambda: dict(PAPER_V_POSTTRAIN)},
    rows=(CrossPaperRow("vapi", "baseline_1d", "VA-pi post-training (V)",
                        "V: FID 15.55 -> 9.23 w/o CFG (LlamaGen-XL, ImageNet)", chosen=("vapi",), posttrain=True,
                        order=4),
          CrossPaperRow("wgf_vapi", "wartok", "WGF-DPD + VA-pi", "not run by any paper", chosen=("wgf_dpd", "vapi"),
                        posttrain=True, order=5)),
))
