"""The experiment code of notebooks 02 to 05: one module per notebook (02's is ``wartok``, 03's ``flow_prior``,
04's ``prologue``, 05's ``vapi``; 06's lives in ``tvclab.crosspaper``, which notebook 07 shares). Each module holds
what its notebook would otherwise define inline (the measurements of one table row, the loops that build tables and
claims), with docstrings that cite the paper's equations and sections, so that the notebook reads as a lab report.
Nothing in the training code imports them."""
