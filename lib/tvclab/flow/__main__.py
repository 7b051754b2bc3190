"""``python -m tvclab.flow train-toy --tier paper [--seed 0] [--only mog5] [--device cuda]``: trains the toy flows of
notebook 01 (``tvclab.flow.toyflows``) into their run directories."""
import sys

from .toyflows import main

if __name__ == "__main__":
    sys.exit(main())
