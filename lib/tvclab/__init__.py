"""tvclab: reproducing four papers on aligning latent spaces with generative priors.

Paper ids used throughout the code and notebooks (texts in ``shared/papers``):
W (WGF-DPD / wAR-Tok), F (flow-prior alignment), P (prologue tokens), V (VA-pi).
"""

__version__ = "0.1.0"
