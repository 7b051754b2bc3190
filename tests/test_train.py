"""Training entry points: configs and their errors, the smoke pipeline (stage1 -> stage2 -> sample) through the
Python API, determinism, kill-and-resume, and the clear errors for a truncated checkpoint, a missing stage-1 run and
missing data. Runs use the seeded ``synthetic`` stand-in data set and the smoke tier (seconds each)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tvclab import configs, data, train
from tvclab.io import read_jsonl

SYN = ["data.dataset=synthetic"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    return tmp_path


def _env(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"), PYTHONUNBUFFERED="1")
    env.pop("TVCLAB_DEBUG", None)
    return env


def _cli(args, tmp_path, **kw):
    return subprocess.run([sys.executable, "-m", "tvclab.train", *args], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300, **kw)


# ------------------------------------------------------------------------------------------------ configs

def test_configs_exist_for_every_name_and_tier():
    core = {"baseline_1d", "tail_dropout", "fm_decoder", "fm_tail", "fm_tail_tied", "baseline_2d", "ae", "ae_kl"}
    assert set(configs.NAMES) == core | {p for spec in configs.METHODS.values() for p in spec.presets}
    for name in configs.NAMES:
        for tier in configs.TIERS:
            cfg = configs.get(name, tier)
            assert cfg.name == name and cfg.tier == tier
    w = configs.get("wartok", "paper")  # W Table 5 / F.1 / authors' code
    t, q = w.tokenizer, w.quantizer
    assert (w.data.image_size, t.patch_size, t.n_tokens, q.codebook_size, q.code_dim) == (32, 4, 64, 1024, 12)
    assert (t.enc_depth, t.width, t.heads, w.stage2.ar.depth, w.wgf.proxy.depth, w.wgf.target.depth) == \
        (10, 512, 8, 13, 4, 13)
    assert (w.optim.lr, w.optim.lr_min, w.optim.beta1, w.optim.beta2, w.optim.batch_size) == (1.5e-4, 3e-5, 0.5, 0.95, 512)
    r = w.reconstruction
    assert (r.l1_weight, r.l2_weight, r.lpips_weight) == (0.1, 1.0, 0.1)
    assert configs.get("fm_tail_tied", "cpu").decoder.tied_timesteps
    assert configs.get("tail_dropout", "cpu").decoder.tail_dropout_p == 0.5
    # presets are per method and tier: P's 2D baseline gets P's ImageNet preset, not W's CIFAR-10 one
    assert configs.get("baseline_2d", "paper").data.dataset == "imagenet" and w.data.dataset == "cifar10"
    # P §2 / authors' code: 16 prologue tokens, codebook 1024, tau 0.1, weight 3, drop 0.5
    p = configs.get("prologue", "paper")
    assert (p.prologue.n, p.prologue.codebook_size, p.prologue.tau, p.prologue.ar_weight, p.prologue.visual_dropout,
            p.prologue.routing, p.tokenizer.kind, p.data.dataset) == (16, 1024, 0.1, 3.0, 0.5, "prologue", "2d", "imagenet")
    assert (configs.get("prologue", "cpu").prologue.n, configs.get("prologue", "cpu").prologue.codebook_size) == (4, 64)
    assert set(configs.PRESETS) == set(configs.NAMES) and all(set(p) == set(configs.TIERS) for p in configs.PRESETS.values())


def test_stage_sections_partition_the_config():
    """Every Config section belongs to exactly one stage or to the runtime: a run's identity comes from the
    nesting (a new stage's section cannot be mistaken for stage 1)."""
    sections = [f for f in configs.Config().to_dict() if f not in configs.IDENTITY]
    owners = {s: [st for st, secs in configs.STAGE_SECTIONS.items() if s in secs] for s in sections}
    assert all(len(o) == 1 for s, o in owners.items() if s not in configs.RUNTIME_SECTIONS), owners
    cfg = configs.get("wartok", "cpu")
    assert "stage2.ar.depth" not in cfg.group("stage1") and "stage2.ar.depth" in cfg.group("stage2")
    assert "runtime.device" not in cfg.group("sample") and "tokenizer.width" in cfg.group("sample")


def test_config_errors_list_the_valid_choices():
    with pytest.raises(configs.ConfigError, match="valid names: baseline_1d"):
        configs.get("nope", "cpu")
    with pytest.raises(configs.ConfigError, match="valid tiers"):
        configs.get("wartok", "huge")
    cfg = configs.get("wartok", "cpu")
    with pytest.raises(configs.ConfigError, match=r"unknown config key 'quantizer.codebok_size'.*quantizer.codebook_size"):
        configs.apply_overrides(cfg, ["quantizer.codebok_size=16"])
    with pytest.raises(configs.ConfigError, match=r"unknown config key 'tokenizer.widht'"):
        configs.apply_overrides(cfg, ["tokenizer.widht=64"])
    with pytest.raises(configs.ConfigError, match=r"unknown config key 'codebook_size'"):
        configs.apply_overrides(cfg, ["codebook_size=16"])  # a leaf needs its section
    with pytest.raises(configs.ConfigError, match=r"unknown config key 'stage2\.ar'"):
        configs.apply_overrides(cfg, ["stage2.ar=3"])       # a section is not a leaf
    with pytest.raises(configs.ConfigError, match="expected an int"):
        configs.apply_overrides(cfg, ["optim.steps=many"])
    with pytest.raises(configs.ConfigError, match="expected a bool"):
        configs.apply_overrides(cfg, ["decoder.tied_timesteps=maybe"])
    with pytest.raises(configs.ConfigError, match="multiple of optim.log_every"):
        configs.apply_overrides(cfg, ["optim.ckpt_every=13"])
    c = configs.apply_overrides(cfg, ["quantizer.codebook_size=16", "optim.lr=3e-4", "stage2.class_cond=true"])
    assert (c.quantizer.codebook_size, c.optim.lr, c.stage2.class_cond) == (16, 3e-4, True)
    assert cfg.quantizer.codebook_size == 256  # overrides copy
    # stage-2 keys don't rename the stage-1 directory
    assert train.default_run_dir(c).name == "wartok__quantizer.codebook_size-16__optim.lr-0.0003"
    r = _cli(["stage1", "--config", "wartok", "--tier", "smoke", "--set", "tokenizer.bogus=1"], Path("/tmp"))
    assert r.returncode == 2 and "unknown config key 'tokenizer.bogus'" in r.stderr and "tokenizer.width" in r.stderr


def test_unknown_key_names_the_closest_keys_in_one_line(capsys):
    """An unknown --set key gets at most five suggestions (same leaf first, then difflib's spellings) and the
    command that lists a section, in one line, exit 2, before --config is even looked at."""
    from tvclab.train.__main__ import main

    assert configs.suggest_keys("lr")[0] == "optim.lr"
    assert {"optim.lr", "stage2.optim.lr", "posttrain.optim.lr"} <= set(configs.suggest_keys("lr"))
    assert configs.suggest_keys("quantizer.codebok_size")[0] == "quantizer.codebook_size"
    assert all(len(configs.suggest_keys(k)) <= configs.MAX_SUGGESTIONS for k in ("lr", "tokenizer.bogus", "x.y"))
    assert main(["stage1", "--set", "lr=1e-3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "optim.lr" in err and "--list-keys" in err, err
    assert main(["--list-keys", "stage2.optim"]) == 0
    listed = capsys.readouterr().out.split()
    assert "stage2.optim.lr" in listed and all(k.startswith("stage2.optim.") for k in listed)
    assert main(["--list-keys", "nope"]) == 2 and "sections:" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ pipeline

def test_smoke_pipeline_through_the_python_api(runs):
    s1 = train.run("stage1", "wartok", "smoke", SYN)
    for f in ("config.json", "metrics.jsonl", "ckpt.pt", "done.json", "tokenizer.pt"):
        assert (s1 / f).exists(), f
    rows = read_jsonl(s1 / "metrics.jsonl")
    ev = [r for r in rows if r["kind"] == "eval"]
    assert [r["step"] for r in ev] == [4, 8] and all(r["split"] == "val" for r in ev)  # selection reads val
    assert {"l1", "l2", "psnr", "codes_used", "token_entropy", "wgf_surrogate"} <= set(ev[-1])
    (test_row,) = [r for r in rows if r["kind"] == "test"]                         # reported numbers: test
    done = json.loads((s1 / "done.json").read_text())["metrics"]
    assert test_row["split"] == "test" and done["split"] == "test"
    assert all(done[k] == test_row[k] for k in ("psnr", "l1", "codes_used"))
    assert 0 <= ev[-1]["token_entropy"] <= torch.log(torch.tensor(32.0))
    assert train.snapshot_steps(s1) == [2, 4, 6, 8]  # evaluation.snapshot_every=2: between the eval rows too
    assert train.run("stage1", "wartok", "smoke", SYN) == s1  # finished with the same config: returns at once

    s2 = train.run("stage2", "wartok", "smoke", SYN)
    assert s2 == s1 / "stage2" and (s2 / "prior.pt").exists()
    ev2 = [r for r in read_jsonl(s2 / "metrics.jsonl") if r["kind"] == "eval"]
    assert ev2 and {"gloss", "top1"} <= set(ev2[-1]) and 0 <= ev2[-1]["top1"] <= 1
    enc = train.encode_dataset(s1, "test")
    assert (s1 / "tokens_test.pt").exists() and enc["tokens"].shape[1] == 4 and enc["tokens"].max() < 32

    sd = train.run("sample", "wartok", "smoke", SYN)
    out = torch.load(sd / "samples_8.pt")
    assert out["images"].shape == (8, 1, 28, 28) and out["images"].abs().max() <= 1
    again = train.sample(s1, 8, seed=0)
    assert torch.equal(again["images"], out["images"])  # seeded: same draw through the API and the stage
    tok = train.load_tokenizer(s1)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert train.reconstruct(s1, x).shape == x.shape and tok.n_tokens == 4
    assert torch.equal(train.reconstruct(s1, x, step=8), train.reconstruct(s1, x))  # last snapshot = final
    # stage 2 on an earlier snapshot's tokens (matched-rFID rows, W Table 1): its own directory and token cache
    s2b = train.run("stage2", "wartok", "smoke", SYN + ["stage2.tokenizer_step=4"])
    assert s2b.name == "stage2__stage2.tokenizer_step-4"
    # its training tokens: only the 8 x 16 images its 8 steps read, cached under their hash
    (cache,) = s1.glob("tokens_train_step4_first512_subset*.pt")
    assert int(torch.load(cache)["encoded"].sum()) == 8 * 16
    assert train.sample(s2b, 4, seed=0)["images"].shape == (4, 1, 28, 28)


def test_flow_matching_2d_and_continuous_methods_run(runs):
    for name, extra in (("fm_tail_tied", []), ("baseline_2d", ["prologue.n=2"]),
                        ("baseline_1d", ["quantizer.kind=none", "quantizer.kl_weight=0.01"])):
        d = train.run("stage1", name, "smoke", SYN + ["optim.steps=4", "optim.eval_every=4", "optim.ckpt_every=4"] + extra)
        assert json.loads((d / "done.json").read_text())["metrics"]["psnr"] > 0


def test_same_seed_same_metrics(runs):
    over = SYN + ["decoder.kind=fm", "decoder.tail_dropout_p=0.5", "optim.steps=4", "optim.eval_every=4",
                  "optim.ckpt_every=4"]
    a = train.run("stage1", "baseline_1d", "smoke", over, out=runs / "a")
    b = train.run("stage1", "baseline_1d", "smoke", over, out=runs / "b")
    assert read_jsonl(a / "metrics.jsonl") == read_jsonl(b / "metrics.jsonl")
    c = train.run("stage1", "baseline_1d", "smoke", over + ["seed=1"])
    assert "__seed-1__" in c.name  # another seed: its own run directory
    assert read_jsonl(c / "metrics.jsonl") != read_jsonl(a / "metrics.jsonl")


def test_registered_stage_joins_the_cli_api(runs):
    seen = {}

    def fn(ctx):
        seen["dir"] = ctx.dir
        return {"ok": 1}

    train.register_stage("dummy", train.Stage(fn, "stage1", subdir=lambda cfg: "dummy"))
    try:
        d = train.run("dummy", "baseline_1d", "smoke", SYN, out=runs / "r")
        assert d == runs / "r" / "dummy" and seen["dir"] == d and (d / "done.json").exists()
    finally:
        train.STAGES.pop("dummy")


# ------------------------------------------------------------------------------------------------ resume

def test_kill_and_resume_matches_an_uninterrupted_run(kill_and_resume):
    """SIGKILL after the first checkpoint, --resume, and the final metrics equal an uninterrupted run's (CPU)."""
    args = ["stage1", "--config", "wartok", "--tier", "smoke", "--set", *SYN, "optim.steps=120", "optim.log_every=4",
            "optim.eval_every=40", "optim.ckpt_every=8", "decoder.tail_dropout_p=0.5"]

    def interrupted(out, cli):
        rows = read_jsonl(out / "metrics.jsonl")
        assert rows and max(r["step"] for r in rows) < 120
        again = cli(["--out", str(out)])
        assert again.returncode == 2 and "--resume" in again.stderr  # an unfinished run needs --resume

    kill_and_resume(args, between=interrupted)


def test_resume_with_another_config_fails_clearly(runs):
    over = SYN + ["optim.steps=2", "optim.eval_every=2"]
    d = train.run("stage1", "baseline_1d", "smoke", over, out=runs / "r")
    with pytest.raises(train.RunConflictError, match="quantizer.codebook_size: 32 in the directory vs 16 now"):
        train.run("stage1", "baseline_1d", "smoke", over + ["quantizer.codebook_size=16"], out=d, resume=True)


# ------------------------------------------------------------------------------------------------ clear errors

def test_truncated_checkpoint_names_the_file(runs):
    over = SYN + ["optim.steps=4", "optim.eval_every=4", "optim.ckpt_every=2"]
    d = train.run("stage1", "baseline_1d", "smoke", over, out=runs / "t")
    (d / "done.json").unlink()
    data = (d / "ckpt.pt").read_bytes()
    (d / "ckpt.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(train.CheckpointError, match=r"ckpt\.pt is truncated or corrupt.*Delete it"):
        train.run("stage1", "baseline_1d", "smoke", over, out=d, resume=True)
    r = _cli(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--set", *over, "--out", str(d), "--resume"],
             runs)
    assert r.returncode == 2 and "truncated or corrupt" in r.stderr and str(d / "ckpt.pt") in r.stderr


def test_stage2_without_stage1_names_path_and_command(runs):
    with pytest.raises(train.StageMissingError) as e:
        train.run("stage2", "wartok", "smoke", SYN + ["quantizer.codebook_size=16"], out=runs / "none")
    msg = str(e.value)
    assert str(runs / "none") in msg and "python -m tvclab.train stage1 --config wartok --tier smoke" in msg
    assert "--set quantizer.codebook_size=16" in msg


def test_missing_data_gives_the_fix(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _env(tmp_path) | {"TVCLAB_OFFLINE": "1", "TVCLAB_DATA": str(empty), "TVCLAB_DOWNLOAD_ROOT": str(empty)}
    r = subprocess.run([sys.executable, "-m", "tvclab.train", "stage1", "--config", "baseline_1d", "--tier", "smoke",
                        "--set", "data.dataset=cifar10", "data.image_size=32", "tokenizer.patch_size=4",
                        f"runtime.data_root={empty}"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "CIFAR-10 not found" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------------------ stage-2 tokens

def test_used_indices_are_exactly_the_examples_the_batches_read():
    from tvclab.fit import Batches, used_indices

    class Sized:
        def __len__(self):
            return 1000

    b = Batches(Sized(), 64, seed=3)
    idx = used_indices(1000, 64, 3, steps=7)
    assert torch.equal(idx, torch.unique(torch.cat([b.indices(s) for s in range(7)])))
    assert len(idx) == 7 * 64  # one epoch's permutation: no repeats within it
    assert used_indices(1000, 64, 3, steps=b.per_epoch) is None  # a full epoch reads everything


def test_encoding_only_the_read_images_gives_the_same_tokens(runs):
    s1 = train.run("stage1", "baseline_1d", "smoke", SYN)
    full = train.encode_dataset(s1, "train", limit=300)
    only = torch.tensor([5, 0, 299, 17, 5])
    part = train.encode_dataset(s1, "train", limit=300, only=only)
    rows = torch.tensor([0, 5, 17, 299])
    assert torch.equal(part["tokens"][rows], full["tokens"][rows])
    assert torch.equal(part["labels"], full["labels"])
    assert part["encoded"].sum() == 4 and (part["tokens"][~part["encoded"]] == -1).all()
    with pytest.raises(ValueError, match="outside the 300 images"):
        train.encode_dataset(s1, "train", limit=300, only=torch.tensor([300]))


def test_labels_are_read_without_loading_images():
    """encode_dataset's labels of a data set held on disk (ImageFolder-like: ``targets``, behind the validation
    split's ``Subset``) come from ``targets``, never from loading every image."""
    from torch.utils.data import Dataset, Subset

    from tvclab.train.stage1 import dataset_labels

    class OnDisk(Dataset):
        targets = [i % 7 for i in range(50)]

        def __len__(self):
            return 50

        def __getitem__(self, i):
            raise AssertionError("an image was loaded to read a label")

    sub = Subset(Subset(OnDisk(), list(range(49, -1, -2))), [3, 0, 2, 1])
    assert dataset_labels(sub, 3).tolist() == [OnDisk.targets[43], OnDisk.targets[49], OnDisk.targets[45]]
    mem = data.ImageTensorDataset(torch.zeros(5, 1, 4, 4, dtype=torch.uint8), torch.tensor([4, 3, 2, 1, 0]),
                                  image_size=4, name="mem", split="test", source="memory")
    assert dataset_labels(mem, 2).tolist() == [4, 3]


def test_stage2_on_the_read_subset_is_the_run_on_every_image(runs, monkeypatch):
    import shutil

    from tvclab.train import stage2

    train.run("stage1", "baseline_1d", "smoke", SYN)
    s2 = train.run("stage2", "baseline_1d", "smoke", SYN)
    subset = json.loads((s2 / "done.json").read_text())["metrics"]
    shutil.rmtree(s2)
    monkeypatch.setattr(stage2, "train_indices", lambda cfg: None)  # encode every training image
    s2 = train.run("stage2", "baseline_1d", "smoke", SYN)
    assert json.loads((s2 / "done.json").read_text())["metrics"] == subset
    assert list(s2.parent.glob("tokens_train_first512.pt"))  # this time the whole (limited) split was encoded


def test_compiled_training_matches_eager_to_float_rounding(runs):
    """runtime.compile (torch.compile of the training forward) trains the same model up to the fused kernels'
    rounding: the same stage-2 run, eager and compiled, ends at the same test gLoss to 1e-4."""
    import shutil

    train.run("stage1", "baseline_1d", "smoke", SYN)
    s2 = train.run("stage2", "baseline_1d", "smoke", SYN)
    eager = json.loads((s2 / "done.json").read_text())["metrics"]
    shutil.rmtree(s2)
    s2 = train.run("stage2", "baseline_1d", "smoke", SYN + ["runtime.compile=true"])
    compiled = json.loads((s2 / "done.json").read_text())["metrics"]
    # not a rounding bound (conftest.gamma32): 8 optimiser steps carry the fused kernels' rounding forward, so the
    # two runs part by more than one pass's rounding; 1e-4 of a loss near 3 nats is far below any reported effect
    assert compiled["gloss"] == pytest.approx(eager["gloss"], rel=1e-4)
    assert compiled["top1"] == pytest.approx(eager["top1"], abs=0.01)


def test_a_run_written_before_a_key_rename_is_still_read_and_reused(runs):
    """configs.RENAMED (wgf.tau -> quantizer.prob_tau): an older run directory is read under the new names and a
    finished run with the same values returns at once instead of conflicting."""
    s1 = train.run("stage1", "wartok", "smoke", SYN)
    for name in ("config.json", "done.json"):
        path = s1 / name
        text = path.read_text()
        old = json.loads(text)
        if name == "config.json":
            old["wgf"]["tau"] = old["quantizer"].pop("prob_tau")
        else:
            old["config"]["wgf.tau"] = old["config"].pop("quantizer.prob_tau")
        path.write_text(json.dumps(old))
    mtime = (s1 / "done.json").stat().st_mtime
    assert train.run("stage1", "wartok", "smoke", SYN) == s1 and (s1 / "done.json").stat().st_mtime == mtime
    assert train.run_config(s1).quantizer.prob_tau == configs.get("wartok", "smoke").quantizer.prob_tau
    with pytest.raises(train.RunConflictError, match="quantizer.prob_tau"):
        train.run("stage1", "wartok", "smoke", SYN + ["quantizer.prob_tau=0.5"], out=s1)
