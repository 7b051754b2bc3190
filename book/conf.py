"""Sphinx configuration of the tvclab book: every notebook with its committed cpu-tier outputs, the README as the
front page, a page per paper. Build: ``make book`` (``sphinx-build -b html book book/_build/html``); nothing is
executed (``nb_execution_mode = "off"``) and nothing is fetched: MathJax comes from Debian's ``libjs-mathjax``,
copied into the site, and the theme's assets are bundled in its wheel.

Before Sphinx reads anything, ``_stage.stage`` copies what the batch committed into ``book/_stage/`` (git-ignored):
each executed notebook (``figures/<nb>/<nb>.executed.ipynb``) with a first cell naming the tier, seeds and commit
of its outputs (from its results.json), or, where none is committed, the notebook's source without outputs and a
cell saying so; a page per notebook's outputs folder (claims, tables, figures by reference); the README with its
links pointed at those pages; docs/.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _stage  # noqa: E402

_stage.stage(HERE.parent, HERE / "_stage")

project = "tvclab"
author = "tvclab contributors"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
include_patterns = ["index.md", "papers/**", "_stage/**"]
nb_execution_mode = "off"              # outputs come from the batch, never from the book build
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_title = "tvclab: aligning latent spaces with generative priors"
html_theme_options = {"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False}
html_static_path = ["_stage/static"]
html_permalinks_icon = "#"
html_show_sourcelink = False
html_copy_source = False

# MathJax 2 from the site's own folder (Debian's libjs-mathjax, staged into _stage/static/mathjax), SVG output so
# that no web font is needed
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_SVG-full"
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processEscapes": True, "processClass": "math|output_area",
                               "ignoreClass": "document"},
                   "SVG": {"font": "TeX"}, "menuSettings": {"zoom": "None"}, "showMathMenu": False}
