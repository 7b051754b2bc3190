"""``tvclab.regress``: two batches agree up to time, commit and paths; any other difference is named (exit 1)."""
import json

import torch

from tvclab import regress


def _batch(root, value=1.0, weight=None, seconds=0.5, commit="abc"):
    figs, runs = root / "figs", root / "runs"
    (figs / "02_x").mkdir(parents=True)
    (figs / "02_x" / "results.json").write_text(json.dumps({
        "rows": {"a": {"psnr": value, "seconds_per_step": seconds, "dir": str(runs / "smoke" / "a")}},
        "claims": [{"claim": f"ODE / alignment time per evaluation ({seconds:.0f}x)", "verdict": str(seconds > 1)},
                   {"claim": "rFD-clf above the plain AE's", "verdict": "holds"}],
        "provenance": {"git_commit": commit, "time_s": {"wall": seconds}, "tier": "smoke"}}))
    run = runs / "smoke" / "a"
    run.mkdir(parents=True)
    torch.save({"state": {"w": torch.ones(2) if weight is None else weight}, "config": {"seed": 0}}, run / "tokenizer.pt")
    (run / "metrics.jsonl").write_text(json.dumps({"step": 2, "loss": value, "seconds": seconds}) + "\n")
    (run / "timing.json").write_text(json.dumps({"train_seconds": seconds}))
    (run / ".lock").write_text(str(seconds))
    return figs, runs


def test_equal_batches_pass_up_to_time_commit_and_paths(tmp_path, capsys):
    old = _batch(tmp_path / "old")
    new = _batch(tmp_path / "new", seconds=9.0, commit="def")
    assert regress.main([*map(str, old), *map(str, new)]) == 0
    assert "compared 1 results.json, 1 .pt, 1 json/jsonl" in capsys.readouterr().out


def test_a_changed_tensor_or_value_is_named(tmp_path, capsys):
    old = _batch(tmp_path / "old")
    new = _batch(tmp_path / "new", value=2.0, weight=torch.tensor([1.0, 1.5]))
    assert regress.main([*map(str, old), *map(str, new)]) == 1
    out = capsys.readouterr().out
    assert "figures/02_x/results.json.rows.a.psnr: 1.0 vs 2.0" in out
    assert "runs/smoke/a/tokenizer.pt.state.w: tensors differ" in out
    assert "runs/smoke/a/metrics.jsonl[0].loss" in out


def test_a_missing_file_is_named(tmp_path, capsys):
    old = _batch(tmp_path / "old")
    new = _batch(tmp_path / "new")
    (new[1] / "smoke" / "a" / "tokenizer.pt").unlink()
    assert regress.main([*map(str, old), *map(str, new)]) == 1
    assert "runs/smoke/a/tokenizer.pt: only in old" in capsys.readouterr().out


def test_files_only_in_the_new_batch_may_be_allowed(tmp_path, capsys):
    old = _batch(tmp_path / "old")
    new = _batch(tmp_path / "new")
    (new[0] / "07_y").mkdir()
    (new[0] / "07_y" / "results.json").write_text("{}")
    assert regress.main([*map(str, old), *map(str, new)]) == 1
    assert regress.main([*map(str, old), *map(str, new), "--allow-new"]) == 0
    assert "1 file only in the new batch (not counted), e.g. figures/07_y/results.json" in capsys.readouterr().out
