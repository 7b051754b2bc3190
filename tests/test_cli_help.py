"""The command line a new user meets: ``python -m tvclab.train --help`` lists every command in the order they run,
says what --tier and --out mean for each, and shows the order as an example; ``sample`` leaves a PNG grid beside
its tensors; ``score`` writes score.json with the test-split numbers of the run."""
from __future__ import annotations

import importlib
import json
import math

import pytest
import torch
from PIL import Image

from tvclab.train import STAGES
from tvclab.train import __main__ as cli
from tvclab.train import scoring

sample_stage = importlib.import_module("tvclab.train.sample")  # the module (tvclab.train.sample is the function)

SYN = ["--set", "data.dataset=synthetic"]


def test_help_lists_every_command_in_run_order_with_an_example():
    text = cli.parser().format_help()
    order = ["stage1", "stage2", "sample", "posttrain", "score"]
    assert cli.commands() == [*STAGES, "score"] and cli.commands()[:len(order)] == order
    listing = text.split("Commands, in the order you run them")[1].split("positional arguments")[0]
    starts = [listing.index(f"\n  {c} ") for c in order]
    assert starts == sorted(starts), listing  # the listing runs stage1 -> score
    example = text.split("example (smoke tier")[1]
    lines = [ln.strip() for ln in example.splitlines() if ln.strip().startswith("python -m tvclab.train")]
    assert [ln.split()[3] for ln in lines] == order
    assert all("--tier smoke" in ln and "--out runs/demo" in ln for ln in lines)
    for tier in ("smoke", "cpu", "paper"):
        assert f"\n  {tier}  " in text.split("--tier (default cpu):")[1]
    out_block = text.split("--out DIR (default")[1].split("score: --n")[0]
    for c in order:
        assert f"\n  {c} " in out_block, c  # --out is described for every command
    assert "exit status: 0" in text and "130" in text


def test_help_runs_and_usage_names_posttrain(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert "posttrain" in usage and "score" in usage


def test_flags_that_do_not_apply_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--n", "8"])
    assert e.value.code == 2 and "--n applies to score" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["score", "--config", "baseline_1d", "--tier", "smoke", "--resume"])
    assert "--resume applies to the training stages" in capsys.readouterr().err


def test_score_before_training_names_the_command(tmp_path, capsys):
    assert cli.main(["score", "--config", "baseline_1d", "--tier", "smoke", "--out", str(tmp_path / "nope"),
                     *SYN]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "python -m tvclab.train stage1" in err, err


def test_grid_writes_one_png_of_all_images(tmp_path):
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(10, 1, 28, 28, generator=g) * 2 - 1
    path = sample_stage.grid(imgs, tmp_path / "g.png", columns=4)
    im = Image.open(path)
    pad = 2  # torchvision make_grid's padding
    assert im.size == (4 * (28 + pad) + pad, 3 * (28 + pad) + pad)  # 10 images in rows of 4: 3 rows


def test_pipeline_sample_png_and_score_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    out = str(tmp_path / "demo")
    base = ["--config", "baseline_1d", "--tier", "smoke", "--out", out, *SYN]
    assert cli.main(["score", *base]) == 2  # nothing trained yet
    assert cli.main(["stage1", *base]) == 0
    assert cli.main(["score", *base, "--n", "16"]) == 0  # stage 1 only: rFD and PSNR, a note for the rest
    rec = json.loads(scoring.score_path(out).read_text())
    assert set(rec["metrics"]) == {"rfd", "psnr"} and "stage2" in rec["note"]
    for stage in ("stage2", "sample"):
        assert cli.main([stage, *base]) == 0
    s2 = tmp_path / "demo" / "stage2"
    samples = torch.load(s2 / "samples_8.pt")["images"]
    png = Image.open(sample_stage.grid_path(s2, 8))
    assert png.size == (8 * 30 + 2, 30 + 2)  # 8 samples of 28 px in one row of GRID_COLUMNS = 8
    capsys.readouterr()
    assert cli.main(["score", *base, "--n", "16"]) == 0
    printed = capsys.readouterr().out
    rec = json.loads(scoring.score_path(out).read_text())
    assert printed.strip().splitlines()[-1] == str(scoring.score_path(out))
    assert set(rec["metrics"]) == {"rfd", "psnr", "gfd", "pfd", "gap"} and rec["n"] == 16
    m = rec["metrics"]
    assert all(math.isfinite(v["value"]) for v in m.values())
    assert m["rfd"]["lo"] <= m["rfd"]["value"] <= m["rfd"]["hi"]
    assert math.isclose(m["gap"]["value"], m["gfd"]["value"] - m["rfd"]["value"], rel_tol=1e-6, abs_tol=1e-6)
    assert "pFD-clf" in printed and "bootstrap interval" in printed
    assert samples.shape[0] == 8
