"""Paper P's Prologue-Post (§2.1, Sec. 4.3): a prologue tokenizer beside the frozen baseline_2d run; only it and
the joint AR train, and everything downstream reads it as any tokenizer."""
import pytest
import torch

from tvclab import configs, train
from tvclab.train.runner import StageMissingError
from tvclab.train.stage1 import Stage1Model, post_base_dir

SYN = ["data.dataset=synthetic"]


def test_prologue_post_trains_only_the_prologue_side(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    with pytest.raises(StageMissingError, match="baseline_2d"):
        train.run("stage1", "prologue_post", "smoke", SYN)
    base = train.run("stage1", "baseline_2d", "smoke", SYN)
    cfg = configs.apply_overrides(configs.get("prologue_post", "smoke"), SYN)
    assert post_base_dir(cfg) == base
    post = train.run("stage1", "prologue_post", "smoke", SYN)
    assert post != base
    tb, tp = train.load_tokenizer(base), train.load_tokenizer(post)
    sb = tb.state_dict()
    assert all(torch.equal(v, tp.base.state_dict()[k]) for k, v in sb.items())  # bit-identical frozen tokenizer
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    assert torch.equal(train.reconstruct(post, x), train.reconstruct(base, x))
    assert torch.equal(tp.encode(x).visual.index, tb.encode(x).visual.index)
    assert tp.encode(x).prologue.index.shape == (6, 2)
    init = Stage1Model(cfg, channels=1).tokenizer
    moved = [k for k, v in tp.state_dict().items() if not k.startswith("base.") and not torch.equal(v, init.state_dict()[k])]
    assert moved  # the prologue side trained
    enc = train.encode_dataset(post, "test")
    assert enc["prologue"].shape[1] == 2 and torch.equal(enc["tokens"], train.encode_dataset(base, "test")["tokens"])
    s2 = train.run("stage2", "prologue_post", "smoke", SYN)
    assert train.sample(s2, 3, seed=0, progress=False)["tokens"].shape == (3, 2 + 16)


def test_prologue_post_objectives_and_validation():
    cfg = configs.get("prologue_post", "smoke")
    with torch.device("meta"):
        model = Stage1Model(cfg, channels=1)
    assert set(model.objectives) == {"prologue"}  # no reconstruction or codebook loss: both are frozen
    assert all(not p.requires_grad for p in model.tokenizer.base.parameters())
    with pytest.raises(configs.ConfigError, match="Prologue-Post"):
        configs.apply_overrides(cfg, ["prologue.n=0"])
