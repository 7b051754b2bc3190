"""What paper V's post-training costs over training the stage-2 AR it starts from (V: "about 1% of the data and
roughly 25 minutes of tuning").

Reads the measured seconds per training step (``timing.json``, written by the fit loop and kept out of the
metrics, so results.json reruns identically) of a config's stage-2 run and of its post-training run, training
either first when it is missing (``train.run`` returns at once for a finished run: after notebook 05 at the same
tier nothing trains). Prints each stage's steps, images per step, seconds per step and total, and the ratios; the
last line is the total post-training time over the stage-2 time, e.g. ``0.31x``.

    python -m tvclab.bench posttrain_cost [--config baseline_1d] [--tier cpu] [--set posttrain.noise=0 ...]
"""
from __future__ import annotations

import argparse

from tvclab import configs, train
from tvclab.train import artifacts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.bench posttrain_cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="baseline_1d", choices=configs.NAMES)
    p.add_argument("--tier", default="cpu", choices=configs.TIERS)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, as for tvclab.train")
    a = p.parse_args(argv)
    cfg = configs.apply_overrides(configs.get(a.config, a.tier), a.set)
    for stage in ("stage1", "stage2", "posttrain"):
        train.run(stage, cfg, resume=True)
    root = train.default_run_dir(cfg)
    rows = {}
    for stage, d, optim in (("stage2", root / train.stage2_subdir(cfg), cfg.stage2.optim),
                            ("posttrain", root / train.posttrain_subdir(cfg), cfg.posttrain.optim)):
        sps = artifacts.seconds_per_step(d)
        if sps is None:
            raise SystemExit(f"posttrain_cost: {d} has no {artifacts.timing(d).name} (a run directory of an older "
                             "layout); delete it and rerun")
        rows[stage] = {"steps": optim.steps, "batch": optim.batch_size, "s_per_step": sps, "total": sps * optim.steps}
    pc = cfg.posttrain
    print(f"{a.config}/{a.tier}: post-training draws G = {pc.group_size} sequences per image and decodes each "
          f"(G x {pc.optim.batch_size} = {pc.group_size * pc.optim.batch_size} decodes a step)")
    for stage, r in rows.items():
        print(f"  {stage:9s} {r['steps']:6d} steps x {r['batch']:4d} images: {1e3 * r['s_per_step']:8.2f} ms/step, "
              f"{r['total']:8.2f} s")
    s2, pt = rows["stage2"], rows["posttrain"]
    print(f"  per step: {pt['s_per_step'] / s2['s_per_step']:.2f}x; images seen: "
          f"{pt['steps'] * pt['batch'] / (s2['steps'] * s2['batch']):.3f}x of stage 2's")
    print(f"{pt['total'] / s2['total']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
