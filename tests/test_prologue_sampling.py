"""Paper P's sampling and evaluation over [prologue; visual] sequences: per-segment CFG scale and temperature
(§2.2, Tab. A5), a fixed prologue prefix through train.sample (Fig. 1), and the CE of each segment."""
import pytest
import torch

from tvclab import train
from tvclab.models import ARPrior
from tvclab.train import stage2

from conftest import assert_f32_close, transformer_ops

SYN = ["data.dataset=synthetic"]


def _ar():
    torch.manual_seed(0)
    return ARPrior(vocab_size=8 + 16, n_tokens=5, width=32, depth=1, heads=2, num_classes=3,
                   segments=[(2, 8), (3, 16)]).eval()


def _draw(ar, **kw):
    return ar.sample(6, labels=torch.arange(6) % 3, generator=torch.Generator().manual_seed(4), **kw)


def test_per_segment_guidance_and_temperature():
    ar = _ar()
    assert torch.equal(_draw(ar, cfg_scale=(1.0, 1.0)), _draw(ar))              # (1, 1): unguided
    assert torch.equal(_draw(ar, cfg_scale=(2.5, 2.5)), _draw(ar, cfg_scale=2.5))
    assert torch.equal(_draw(ar, temperature=(1.0, 1.0)), _draw(ar))
    cold = _draw(ar, temperature=(1.0, 1e-4))
    assert torch.equal(cold[:, :2], _draw(ar)[:, :2])                            # prologue drawn as before
    logits = ar(cold, torch.arange(6) % 3)
    assert torch.equal(cold[:, 2:], logits[:, 2:].argmax(-1))                    # visual: near-greedy
    assert (cold[:, :2] < 8).all() and (cold[:, 2:] >= 8).all()                  # each segment its own ids
    with pytest.raises(ValueError, match="one per segment"):
        _draw(ar, cfg_scale=(1.0, 2.0, 3.0))


def test_segment_ce_averages_to_the_whole(tmp_path):
    ar = _ar()
    seq = torch.cat([torch.randint(0, 8, (40, 2)), torch.randint(8, 24, (40, 3))], dim=1)
    m = stage2.evaluate(ar, seq, torch.arange(40) % 3, "cpu", chunk=16)
    # the two segment means (over 40 x 2 and 40 x 3 tokens) weighted against the mean over all 200 tokens
    assert_f32_close((2 * m["gloss_prologue"] + 3 * m["gloss_visual"]) / 5, m["gloss"], ops=200 + 4)
    from tvclab.losses import ar_cross_entropy

    with torch.no_grad():
        whole = float(ar_cross_entropy(ar(seq, torch.arange(40) % 3), seq))
    # chunks of 16 against the batch of 40 in one pass (another blocking), then a log-softmax over 24 and a mean
    assert_f32_close(m["gloss"], whole, ops=transformer_ops(32, 1, 6) + 24 + 200)
    plain = ARPrior(vocab_size=8, n_tokens=3, width=16, depth=1, heads=2).eval()
    assert set(stage2.evaluate(plain, torch.randint(0, 8, (4, 3)), torch.zeros(4), "cpu")) == {"gloss", "top1"}


def test_sample_with_a_fixed_prologue_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    sets = SYN + ["prologue.n=2", "prologue.codebook_size=8"]
    train.run("stage1", "baseline_2d", "smoke", sets)
    s2 = train.run("stage2", "baseline_2d", "smoke", sets)
    prefix = torch.tensor([[1, 5], [7, 0], [3, 3]])
    out = train.sample(s2, 3, seed=0, prefix=prefix, progress=False)
    assert torch.equal(out["tokens"][:, :2], prefix) and out["images"].shape == (3, 1, 28, 28)
    assert (out["tokens"][:, 2:] >= 8).all()
    with pytest.raises(ValueError, match="prefix must be"):
        train.sample(s2, 3, prefix=prefix[:2])
