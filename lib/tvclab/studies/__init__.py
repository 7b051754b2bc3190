"""The experiment code of notebooks 02, 04, 05: one module per notebook (04's is ``prologue``, 05's ``vapi``); 03's
lives in ``tvclab.flowprior``, 06's in ``tvclab.crosspaper``. Each module holds what its notebook would otherwise
define inline (the measurements of one table row, the loops that build tables and claims), with docstrings that
cite the paper's equations and sections, so that the notebook reads as a lab report."""
