"""python -m tvclab.train {stage1,stage2,sample} --config NAME [--tier smoke|cpu|paper] [--set key=value ...]
[--out DIR] [--resume] [--no-wait]; the same command under ``torchrun --nproc_per_node=N -m tvclab.train ...``.

Errors the user can fix (a bad config or value, a key given twice in ``--set``, a busy or conflicting run directory,
a missing path, a truncated checkpoint or data file, a non-finite loss, a full or read-only disk, a name too long,
too little memory, a device the machine lacks) print one line and exit 2 (``TVCLAB_DEBUG=1`` shows the traceback).
Ctrl-C prints one line, the step and the command that resumes, and exits 130."""
from __future__ import annotations

import argparse
import os
import sys

from tvclab import configs

from tvclab.fit import NonFiniteError
from tvclab.locks import LockedError

from . import STAGES, CheckpointError, RunConflictError, RunFaultError, StageMissingError, run

# what a user can fix: one line on stderr, exit 2
USER_ERRORS = (configs.ConfigError, StageMissingError, RunConflictError, CheckpointError, FileNotFoundError,
               NotADirectoryError, ValueError, NonFiniteError, LockedError, RunFaultError)
INTERRUPTED = 130  # the shell's status of a command stopped by SIGINT


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.train", description=__doc__.split(";")[0])
    p.add_argument("stage", nargs="?", choices=sorted(STAGES), help="what to run")
    p.add_argument("--config", help=f"method (required to run a stage): {', '.join(configs.NAMES)}")
    p.add_argument("--list-keys", nargs="?", const="", default=None, metavar="SECTION",
                   help="print the valid --set keys (all, or one section's, e.g. optim) and exit")
    p.add_argument("--tier", default="cpu", choices=configs.TIERS)
    p.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="override config leaves by dotted key, e.g. tokenizer.width=64 (repeatable); an unknown key "
                        "names the closest valid ones (--list-keys SECTION lists them)")
    p.add_argument("--out", default=None, help="stage-1 run directory (default: <runs_root>/<tier>/<name>...)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its checkpoint")
    p.add_argument("--no-wait", action="store_true",
                   help="refuse (exit 2) instead of waiting when another process is writing the run directory")
    args = p.parse_args(argv)
    try:
        if args.list_keys is not None:
            print("\n".join(configs.keys_in(args.list_keys)))
            return 0
        configs.check_unique(args.overrides)
        configs.check_keys(args.overrides)  # an unknown key is named (with suggestions) before anything else
        if args.stage is None or args.config is None:
            p.error("a stage and --config are required to run, e.g. python -m tvclab.train stage1 --config "
                    "baseline_1d --tier smoke")
        path = run(args.stage, args.config, args.tier, args.overrides, args.out, args.resume, wait=not args.no_wait)
    except USER_ERRORS as e:
        if os.environ.get("TVCLAB_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)  # one line; TVCLAB_DEBUG=1 raises instead (docs/reliability.md)
        return 2
    except KeyboardInterrupt as e:  # tvclab.train.RunInterrupted says where and how to resume
        if os.environ.get("TVCLAB_DEBUG"):
            raise
        print(str(e) or "interrupted before the run started; nothing was written", file=sys.stderr)
        return INTERRUPTED
    if int(os.environ.get("RANK", "0")) == 0:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
