"""The papermill/jupytext pipeline: every notebook declares its parameters; failures name notebook and cell."""
import json
import re

import jupytext
import pytest

from tvclab import figures
from tvclab.paths import NOTEBOOKS

NOTEBOOK_SOURCES = figures.discover()


def test_notebooks_are_discovered():
    names = [p.stem for p in NOTEBOOK_SOURCES]
    assert names[0] == "00_tvc_derivations"
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+", n) for n in names)
    assert not list(NOTEBOOKS.glob("*.ipynb")), "built .ipynb files must not live in notebooks/ (git-ignored, never committed)"


@pytest.mark.parametrize("src", NOTEBOOK_SOURCES, ids=lambda p: p.stem)
def test_parameters_cell(src, tmp_path):
    nb = jupytext.read(src)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{src.name}: needs exactly one cell tagged parameters"
    code = tagged[0].source
    for name in ("tier", "seed", "out_dir"):
        assert re.search(rf"^{name}\s*(:[^=]+)?=", code, re.M), f"{src.name}: parameters cell lacks {name}"
    assert f'"figures/{src.stem}"' in code, f"{src.name}: out_dir should default to figures/{src.stem}"
    # papermill must parse every line (a '=' inside a comment breaks its parser)
    import papermill

    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / f"{src.stem}.ipynb"
    jupytext.write(nb, path)
    names = set(papermill.inspect_notebook(str(path)))
    assert {"tier", "seed", "out_dir"} <= names


def test_failure_names_notebook_and_cell(tmp_path, capsys):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    (nbdir / "00_boom.py").write_text(
        '# %% [markdown]\n# # Boom\n\n# %% tags=["parameters"]\ntier: str = "cpu"\nseed: int = 0\n'
        'out_dir: str = "figures/00_boom"\n\n# %%\nx = 1\n\n# %%\n# Step that explodes\nraise RuntimeError("kaboom")\n'
    )
    rc = figures.main(["--notebooks", str(nbdir), "--tier", "smoke", "--out-root", str(tmp_path / "out")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "00_boom" in err and "Step that explodes" in err and "kaboom" in err and "In [" in err
    assert (tmp_path / "out" / "00_boom" / "00_boom.executed.ipynb").exists(), "partial executed notebook is kept"


def test_unknown_notebook_is_a_clear_error():
    with pytest.raises(SystemExit, match="no notebook named 'zz_nope'"):
        figures.main(["--only", "zz_nope", "--tier", "smoke"])


@pytest.mark.slow
def test_notebook_00_smoke(smoke_notebook):
    out = smoke_notebook("00_tvc_derivations")
    res = json.loads((out / "results.json").read_text())
    assert res["tier"] == "smoke"
    assert all(row["holds"] for row in res["identities"]), res["identities"]
    for fig in ("thm3_1_terms", "d2_elbo_gap", "cor3_2_cases", "d4_two_stage", "s4_wgf_particle_flow"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
    for key in ("theorem_3_1", "kl_decomposition", "elbo_gap", "corollary_3_2", "two_stage", "surrogate",
                "categorical_score", "particle_flow", "claims"):
        assert key in res
