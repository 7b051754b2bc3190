"""python -m tvclab.train {stage1,stage2,sample} --config NAME [--tier smoke|cpu|paper] [--set key=value ...]
[--out DIR] [--resume]; the same command under ``torchrun --nproc_per_node=N -m tvclab.train ...``."""
from __future__ import annotations

import argparse
import os
import sys

from tvclab import configs

from . import STAGES, CheckpointError, RunConflictError, StageMissingError, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.train", description=__doc__.split(";")[0])
    p.add_argument("stage", choices=sorted(STAGES), help="what to run")
    p.add_argument("--config", required=True, help=f"method: {', '.join(configs.NAMES)}")
    p.add_argument("--tier", default="cpu", choices=configs.TIERS)
    p.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="override config leaves by dotted key, e.g. tokenizer.width=64 (repeatable); an unknown key lists the valid ones")
    p.add_argument("--out", default=None, help="stage-1 run directory (default: <runs_root>/<tier>/<name>...)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its checkpoint")
    args = p.parse_args(argv)
    try:
        path = run(args.stage, args.config, args.tier, args.overrides, args.out, args.resume)
    except (configs.ConfigError, StageMissingError, RunConflictError, CheckpointError, FileNotFoundError,
            ValueError) as e:
        if os.environ.get("TVCLAB_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        print("(set TVCLAB_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
