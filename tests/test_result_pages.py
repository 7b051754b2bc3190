"""Result pages (figures/<notebook>/README.md) are generated from results.json and the folder's files, so their
numbers cannot drift from the computed ones: regenerating each committed page gives the committed page."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from tvclab import claims, report

FIGURES = Path(__file__).resolve().parents[1] / "figures"
COMMITTED = sorted(p.parent for p in FIGURES.glob("[0-9][0-9]_*/results.json"))


@pytest.mark.parametrize("folder", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_page_is_what_its_results_give(folder):
    page = folder / report.PAGE
    assert page.exists(), f"{folder.name}: no result page; python -m tvclab.report figures/{folder.name}"
    assert page.read_text() == report.result_page(folder), (
        f"{folder.name}/README.md differs from what its results.json gives; regenerate it: "
        f"python -m tvclab.report figures/{folder.name}")


def test_page_holds_the_claims_tables_and_figures_of_the_folder(tmp_path):
    out = tmp_path / "09_example"
    c = claims.compare("A lower than B", [0.6, 0.9, 1.0, 1.1, 1.4], [1.6, 1.9, 2.0, 2.1, 2.4], better="lower")
    judged = claims.judge([c])
    report.save_table([{"row": "A", "value": 1.0}], out, "table1_example")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.save_figure(fig, out, "fig1_example")
    report.save_results({"claims": judged["claims"], "claim_results": judged["claim_results"]}, out,
                        provenance={"tier": "smoke", "seeds": [0, 1], "git_commit": "abc123def456"})
    page = (out / report.PAGE).read_text()
    assert page.startswith("# 09_example\n")  # no notebook source of that name: the folder's name
    assert "tier **smoke**" in page and "seeds 0, 1" in page and "`abc123def4`" in page
    assert "Smoke tier" in page  # the warning that smoke numbers mean nothing
    row = judged["claims"][0]
    assert row["verdict"] == "holds" and f"| A lower than B | {row['verdict']} |" in page
    assert " mde |" in page.split("## Claims")[1].splitlines()[4] and f"| {row['mde']} |" in page
    assert "### table1_example" in page and "| A | 1 |" in page and "[CSV](table1_example.csv)" in page
    assert "![fig1_example](fig1_example.png)" in page and "[PDF](fig1_example.pdf)" in page
    assert "predate the evidence protocol" not in page  # these claims carry an MDE


def test_page_of_older_results_says_its_verdicts_are_provisional(tmp_path):
    c = claims.threshold("x above 0", [0.8, 1.0, 1.2], 0.0, better="higher")
    c.pop("mde", None)
    (tmp_path / "results.json").write_text(json.dumps({"claims": [c], "tier": "cpu"}))
    page = report.result_page(tmp_path)
    assert "predate the evidence protocol" in page and "| x above 0 |" in page


def test_cli_regenerates_and_names_a_folder_without_results(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err
    (tmp_path / "results.json").write_text(json.dumps({"tier": "cpu"}))
    assert report.main([str(tmp_path)]) == 0 and (tmp_path / report.PAGE).exists()
