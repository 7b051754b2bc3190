import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_runs(tmp_path_factory):
    """Training run directories made by tests go to a temp dir, never into the repository's runs/."""
    old = os.environ.get("TVCLAB_RUNS")
    os.environ["TVCLAB_RUNS"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if old is None:
        os.environ.pop("TVCLAB_RUNS", None)
    else:
        os.environ["TVCLAB_RUNS"] = old


@pytest.fixture
def smoke_notebook(tmp_path):
    """Run one notebook at smoke tier through `python -m tvclab.figures` (the users' command); return its folder."""
    from tvclab.figures import main

    def run(name: str):
        rc = main(["--only", name, "--tier", "smoke", "--out-root", str(tmp_path / "figs"),
                   "--runs-root", str(tmp_path / "runs")])
        assert rc == 0, f"notebook {name} failed at smoke tier (executed notebook kept under {tmp_path / 'figs'})"
        (out,) = [p for p in (tmp_path / "figs").iterdir() if p.name.startswith(name)]
        return out

    return run
