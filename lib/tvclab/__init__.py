"""tvclab: reproducing four papers on aligning latent spaces with generative priors.

Paper ids used throughout the code and notebooks (cited by section, equation and table):
W (WGF-DPD / wAR-Tok), F (flow-prior alignment), P (prologue tokens), V (VA-pi).

Importing the package registers the methods (``tvclab.methods``), so ``tvclab.configs.Config`` has every method's
section whichever module is imported first.
"""

__version__ = "0.1.0"

from . import methods  # noqa: E402,F401
