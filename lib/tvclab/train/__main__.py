"""python -m tvclab.train {stage1,stage2,sample,posttrain,score} --config NAME [--tier smoke|cpu|paper]
[--set key=value ...] [--out DIR] [--resume] [--no-wait] [--n N]; the training stages also run under
``torchrun --nproc_per_node=N -m tvclab.train ...``.

``--help`` lists the stages in the order a user runs them (one line each: what it does, what it reads and writes),
what ``--tier`` and ``--out`` mean for each, an example that runs them in order, and the exit codes. The training
stages are ``STAGES`` (``tvclab.train.runner``: ``run``); ``score`` evaluates a finished run on the test split and
writes ``score.json`` into it (``tvclab.train.scoring``). docs/cli.md describes every option.

Errors the user can fix (a bad config or value, a key given twice in ``--set``, a busy or conflicting run directory,
a missing path or run, a truncated checkpoint or data file, a non-finite loss, a full or read-only disk, a name too
long, too little memory, a device the machine lacks) print one line and exit 2 (``TVCLAB_DEBUG=1`` shows the
traceback). Ctrl-C prints one line, the step and the command that resumes, and exits 130."""
from __future__ import annotations

import argparse
import os
import sys

from tvclab import configs, tiers

from tvclab.fit import NonFiniteError
from tvclab.locks import LockedError

from . import STAGES, CheckpointError, RunConflictError, RunFaultError, StageMissingError, run, scoring

# what a user can fix: one line on stderr, exit 2
USER_ERRORS = (configs.ConfigError, StageMissingError, RunConflictError, CheckpointError, FileNotFoundError,
               NotADirectoryError, ValueError, NonFiniteError, LockedError, RunFaultError)
INTERRUPTED = 130  # the shell's status of a command stopped by SIGINT
SCORE = "score"  # the command after the training stages: it evaluates a finished run (tvclab.train.scoring)
S2 = "--out/stage2[__...]"  # the stage-2 directory: stage2 plus one __key-value per stage2 --set (runner)

# one line per stage: what it does; what it reads -> what it writes (--out: the stage-1 run directory)
STAGE_HELP = {
    "stage1": "train the tokenizer; reads the data set -> writes the run directory --out (tokenizer.pt, done.json)",
    "stage2": f"train the AR prior on the frozen tokens; reads --out/tokenizer.pt -> writes {S2}/prior.pt",
    "sample": f"draw sample.n images from the prior; reads {S2}/prior.pt -> writes samples_<n>.pt/.png there",
    "posttrain": f"paper V's GRPO post-training of the prior; reads {S2}/ -> writes {S2}__posttrain[__...]/",
    SCORE: f"test-split rFD-clf, PSNR, gFD-clf, pFD-clf; reads --out/ and {S2}/ -> writes --out/score.json",
}


def stage_line(name: str) -> str:
    """The help line of a stage: ``STAGE_HELP``, or for a stage registered later its function's docstring."""
    if name in STAGE_HELP:
        return STAGE_HELP[name]
    st = STAGES[name]
    doc = ((st.fn.__doc__ or "").strip().splitlines() or [f"a registered stage (config group {st.group})"])[0]
    where = "--out" if st.subdir is None else "a directory inside --out"
    return f"{doc.rstrip('.')}; reads {f'the finished {st.parent}' if st.parent else 'the data set'} -> writes {where}"


def commands() -> list[str]:
    """The positional choices in the order a user runs them: the registered stages, then ``score``."""
    return [*STAGES, SCORE]


def description() -> str:
    width = max(len(c) for c in commands()) + 2
    rows = "\n".join(f"  {c:<{width}}{stage_line(c)}" for c in commands())
    return ("Train a method of the suite stage by stage, then score it. Commands, in the order you run them (each "
            "reads\nthe one before; pass every stage the same --config, --tier, --set and --out):\n\n" + rows)


def epilog() -> str:
    t = tiers.BY_NAME
    demo = "python -m tvclab.train {} --config baseline_1d --tier smoke --out runs/demo"
    return f"""\
--tier (default cpu):
  smoke   seconds: a check that the commands run; the numbers mean nothing
  cpu     the default reproduction, on a laptop (2 CPU cores, minutes to hours per run)
  paper   the papers' hyperparameters, for GPUs (under torchrun); days

--out DIR (default <runs_root>/<tier>/<config>[__key-value...]: one __key-value per stage-1 --set and seed that
differ from the preset; <runs_root> is $TVCLAB_RUNS or runs/ in the repository):
  stage1     the run directory it creates and writes. A finished one with the same config returns at once, one
             with another config is an error, an unfinished one continues only with --resume.
  stage2     the stage-1 run directory to read (a finished stage1 with the same stage-1 config); it writes
             {S2}/, "stage2" plus one __key-value per stage2 --set that differs from the preset.
  sample     the same stage-1 run directory; it reads and writes that stage-2 directory.
  posttrain  the same stage-1 run directory; it reads the stage-2 directory and writes its sibling
             {S2}__posttrain[__posttrain.key-value...]/.
  score      the stage-1 run directory to evaluate; it reads it and, when finished, its stage-2 directory, and
             writes --out/score.json.

score: --n N test images per number (default the tier's: smoke {t['smoke'].n_frechet}, cpu {t['cpu'].n_frechet}, \
paper {t['paper'].n_frechet}); prints a table and the path of score.json.

example (smoke tier, seconds each):
  {demo.format('stage1')}
  {demo.format('stage2')}
  {demo.format('sample')}
  {demo.format('posttrain')}
  {demo.format(SCORE)}

torchrun --standalone --nproc_per_node=N -m tvclab.train STAGE ... runs a training stage on N processes (rank 0
writes); score runs in one process.

exit status: 0 done (the last line printed is the directory or file written); 2 an error you can fix (one
"error: ..." line on stderr; TVCLAB_DEBUG=1 shows the traceback); 130 Ctrl-C (one line: the step and the command
that resumes)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tvclab.train", description=description(), epilog=epilog(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", nargs="?", choices=commands(), metavar="{" + ",".join(commands()) + "}",
                   help="what to run (see above)")
    p.add_argument("--config", help=f"method (required to run a stage): {', '.join(configs.NAMES)}")
    p.add_argument("--list-keys", nargs="?", const="", default=None, metavar="SECTION",
                   help="print the valid --set keys (all, or one section's, e.g. optim) and exit")
    p.add_argument("--tier", default="cpu", choices=configs.TIERS, help="scale: smoke, cpu (default) or paper "
                   "(below)")
    p.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="override config leaves by dotted key, e.g. tokenizer.width=64 (repeatable); an unknown key "
                        "names the closest valid ones (--list-keys SECTION lists them)")
    p.add_argument("--out", default=None, metavar="DIR", help="the stage-1 run directory: what stage1 creates, what "
                   "the other commands read and write into (below)")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run from its checkpoint")
    p.add_argument("--no-wait", action="store_true",
                   help="refuse (exit 2) instead of waiting when another process is writing the run directory")
    p.add_argument("--n", type=int, default=None, metavar="N",
                   help="score only: test images per number (default: the tier's)")
    return p


def _score(args) -> str:
    """``score``: evaluate the run, print its table (rank 0), return the path of score.json."""
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun one process scores
        return ""
    path, record = scoring.score(args.config, args.tier, args.overrides, args.out, args.n)
    print(scoring.table(record))
    return str(path)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        if args.list_keys is not None:
            print("\n".join(configs.keys_in(args.list_keys)))
            return 0
        configs.check_unique(args.overrides)
        configs.check_keys(args.overrides)  # an unknown key is named (with suggestions) before anything else
        if args.stage is None or args.config is None:
            p.error("a stage and --config are required to run, e.g. python -m tvclab.train stage1 --config "
                    "baseline_1d --tier smoke --out runs/demo")
        if args.n is not None and args.stage != SCORE:
            p.error(f"--n applies to score; {args.stage} draws sample.n images (--set sample.n=N)")
        if args.resume and args.stage == SCORE:
            p.error("--resume applies to the training stages; score reads finished runs")
        if args.stage == SCORE:
            path = _score(args)
        else:
            path = run(args.stage, args.config, args.tier, args.overrides, args.out, args.resume,
                       wait=not args.no_wait)
    except USER_ERRORS as e:
        if os.environ.get("TVCLAB_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)  # one line; TVCLAB_DEBUG=1 raises instead (docs/reliability.md)
        return 2
    except KeyboardInterrupt as e:  # tvclab.train.RunInterrupted says where and how to resume
        if os.environ.get("TVCLAB_DEBUG"):
            raise
        nothing = "score: interrupted; score.json was not written" if args.stage == SCORE else \
            "interrupted before the run started; nothing was written"
        print(str(e) or nothing, file=sys.stderr)
        return INTERRUPTED
    if int(os.environ.get("RANK", "0")) == 0:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
