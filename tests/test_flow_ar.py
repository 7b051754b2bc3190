"""The generator for continuous tokens (paper F App. C.4): ``FlowARPrior`` (a causal transformer with a per-token
flow head), the conditional ``VelocityMLP``, and stage 2 / sampling / gFD for a continuous tokenizer end to end
(smoke tier, the seeded ``synthetic`` data set), including a resumed stage-2 run."""
import math
import shutil

import pytest
import torch

from tvclab import classifier as clf
from tvclab import configs, evaluation, flow, train
from tvclab.flow import PATH
from tvclab.io import read_jsonl
from tvclab.models import ARPrior, FlowARPrior
from tvclab.train import stage2
from tvclab.train.runlog import RunContext

from conftest import assert_f32_close, transformer_ops

SYN = ["data.dataset=synthetic"]
TINY = clf.ClassifierConfig(dataset="synthetic", width=8, feature_dim=16, steps=40, batch_size=64, lr=5e-3)


# rounded operations of random_prior's parts (conftest.gamma32): the causal transformer (width 16, depth 2, 4 tokens
# after the class token), one evaluation of its flow head (the VelocityMLP count of test_velocity_mlp_condition, with
# width 16 throughout) and a 3-step sampler (a head evaluation and a conditions pass per token, 4 tokens)
CONDITION_OPS = transformer_ops(16, 2, 5)
HEAD_OPS = 496
SAMPLE_OPS = 4 * (CONDITION_OPS + 3 * HEAD_OPS)


def random_prior(num_classes=3, n=4, d=3, n_t=2, scale=0.5, seed=0) -> FlowARPrior:
    """A small prior with every flow-head weight random (its adaLN-Zero layers start at zero) and scale != 1."""
    torch.manual_seed(seed)
    m = FlowARPrior(token_dim=d, n_tokens=n, width=16, depth=2, heads=2, num_classes=num_classes, head_width=16,
                    head_blocks=2, n_t=n_t, sample_steps=3)
    with torch.no_grad():
        for p in m.head.parameters():
            p.add_(0.2 * torch.randn_like(p))
        m.scale.fill_(scale)
    return m.eval()


# ------------------------------------------------------------------------------------------------ the model

def test_conditions_are_causal():
    m = random_prior()
    z, y = torch.randn(2, 4, 3), torch.tensor([0, 2])
    h = m.conditions(z, y)
    assert h.shape == (2, 4, 16)
    for j in range(4):
        z2 = z.clone()
        z2[:, j] += torch.randn(2, 3)
        h2 = m.conditions(z2, y)
        assert_f32_close(h2[:, : j + 1], h[:, : j + 1], ops=CONDITION_OPS, msg="h_i reads z_<i only")
        if j + 1 < 4:
            assert (h2[:, j + 1 :] - h[:, j + 1 :]).abs().max() > 1e-4
    assert (m.conditions(z, torch.tensor([1, 2])) - h)[0].abs().max() > 1e-4  # the class is the start token


@pytest.mark.parametrize("cfg_scale", [1.0, 2.5])
def test_cached_sampling_conditions_equal_the_full_forward(cfg_scale):
    m = random_prior()
    y = torch.tensor([0, 1, 2, 0])
    z, h = m.sample(4, y, cfg_scale=cfg_scale, generator=torch.Generator().manual_seed(0), return_conditions=True)
    assert z.shape == (4, 4, 3) and h.shape == (4, 4, 16)
    # z in tokenizer units: conditions re-applies the scale; the cached pass attends over 1..4 keys, the full one
    # over a masked 5
    assert_f32_close(m.conditions(z, y), h, ops=CONDITION_OPS + SAMPLE_OPS)


def test_sampling_is_reproducible_and_guidance_mixes_the_null_class():
    m = random_prior()
    y = torch.tensor([0, 1, 2])
    draw = lambda seed=0, **kw: m.sample(3, y, generator=torch.Generator().manual_seed(seed), **kw)
    a = draw()
    assert torch.equal(a, draw()) and not torch.allclose(a, draw(1))
    assert torch.equal(a, draw(cfg_scale=1.0))
    # the guided pass at s = 1 is the conditional one (s - 1 = 1e-12 moves nothing at float32 precision)
    assert_f32_close(draw(cfg_scale=1.0 + 1e-12), a, ops=SAMPLE_OPS)
    null = m.sample(3, torch.full((3,), m.null_class), generator=torch.Generator().manual_seed(0))
    assert_f32_close(draw(cfg_scale=0.0), null, ops=SAMPLE_OPS)  # s = 0: the null class alone
    assert (draw(cfg_scale=3.0) - a).abs().max() > 1e-3
    cold = draw(temperature=0.0)
    assert torch.equal(cold, draw(5, temperature=0.0))             # no noise: the generator does not matter
    assert m.training is False
    m.train()
    draw()
    assert m.training  # the mode is restored
    with pytest.raises(ValueError, match="classifier-free guidance needs"):
        m.sample(3, None, cfg_scale=2.0)


def test_loss_matches_a_direct_computation_and_trains_everything():
    m = random_prior(n_t=2).train()
    b, n, d, n_t = 2, 4, 3, 2
    z, y = torch.randn(b, n, d), torch.tensor([1, 0])
    x0, t = m.flat_path_noise(*m.draw_path_noise(b, torch.Generator().manual_seed(3)))
    assert x0.shape == (n_t * b * n, d) and t.shape == (n_t * b * n,)
    loss = m.loss(z, y, x0, t)
    with torch.no_grad():  # row k B n + b n + i: copy k of token i of sequence b, one point at a time
        h, err = m.conditions(z, y), []
        for k in range(n_t):
            for bi in range(b):
                for i in range(n):
                    r = k * b * n + bi * n + i
                    x1 = z[bi, i] * m.scale
                    s = PATH.sample(x0[r : r + 1], x1[None], t[r : r + 1])
                    err.append(((m.head(s.x_t, s.t, h[bi, i][None]) - (x1 - x0[r])) ** 2).mean())
    # one point at a time against the whole batch at once, then a mean over 16 points
    assert_f32_close(loss, torch.stack(err).mean(), ops=CONDITION_OPS + HEAD_OPS + 16)
    loss.backward()
    for part in (m.head, m.transformer, m.tok_in, m.cls_emb):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), part
    assert m.pos.grad.abs().sum() > 0
    # one global batch, its draws sliced per rank: the mean of the two ranks' losses is the global loss
    x0g, tg = m.draw_path_noise(b, torch.Generator().manual_seed(3))
    halves = [m.loss(z[r : r + 1], y[r : r + 1], *m.flat_path_noise(x0g[r : r + 1], tg[r : r + 1])) for r in (0, 1)]
    assert_f32_close(sum(halves) / 2, loss, ops=CONDITION_OPS + HEAD_OPS + 16)


def test_velocity_mlp_condition():
    old = flow.VelocityMLP(4, 16, 2)
    names = ["input.weight", "input.bias", "time.mlp.0.weight", "time.mlp.0.bias", "time.mlp.2.weight",
             "time.mlp.2.bias", *[f"blocks.{k}.{p}" for k in range(2) for p in
                                  ("mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias", "modulation.1.weight",
                                   "modulation.1.bias")],
             "final_modulation.1.weight", "final_modulation.1.bias", "output.weight", "output.bias"]
    assert list(old.state_dict()) == names  # cond_dim = 0: the parameters of every existing flow, unchanged
    cond = flow.VelocityMLP(4, 16, 2, cond_dim=5)
    assert list(cond.state_dict()) == names[:6] + ["cond.weight", "cond.bias"] + names[6:]
    with torch.no_grad():
        for p in cond.parameters():
            p.normal_(0.0, 0.3)
    x, t = torch.randn(6, 4), torch.rand(6)
    c = torch.randn(6, 5)
    v = cond(x, t, c)
    assert v.shape == (6, 4) and (cond(x, t, c + 1) - v).abs().max() > 1e-3
    # per row: a batch of 3 against the first 3 rows of a batch of 6 (MKL blocks the two batch sizes differently).
    # ops = 496 rounded operations on the deepest path: time MLP 256 + 16, per block modulation 16, LayerNorm 32 and
    # MLP 16 + 16 (x 2 blocks), final modulation 16, LayerNorm 32, output 16
    assert_f32_close(cond(x[:3], t[:3], c[:3]), v[:3], ops=496, msg="rows depend on the batch")
    with pytest.raises(ValueError, match="conditional.*cond_dim=5"):
        cond(x, t)
    with pytest.raises(ValueError, match="unconditional"):
        old(x, t, c)


def test_old_prior_files_without_kind_are_token_priors(tmp_path):
    cfg = configs.get("baseline_1d", "smoke")
    ar = stage2.build_prior(cfg, cfg.tokenizer.n_tokens, 10)
    assert isinstance(ar, ARPrior)
    torch.save({"config": cfg.to_dict(), "n_visual": cfg.tokenizer.n_tokens, "num_classes": 10,
                "state": ar.state_dict()}, tmp_path / "prior.pt")
    loaded, _ = train.load_prior(tmp_path)
    assert isinstance(loaded, ARPrior)
    assert isinstance(stage2.build_prior(configs.get("ae", "smoke"), 4, 10), FlowARPrior)


# ------------------------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    """A finished stage-1 run of the continuous ``ae`` preset (smoke tier), and a pristine copy of it."""
    root = tmp_path_factory.mktemp("ae")
    s1 = train.run("stage1", "ae", "smoke", SYN, out=root / "run")
    shutil.copytree(s1, root / "copy")
    return s1, root / "copy"


def test_stage2_sample_and_gfid_for_a_continuous_tokenizer(ae_run, offline_metrics):
    s1, _ = ae_run
    cfg = train.run_config(s1)
    enc = train.encode_dataset(s1, "test")
    assert set(enc) == {"latents", "labels"} and enc["latents"].dtype == torch.float32
    assert enc["latents"].shape == (len(enc["labels"]), 4, cfg.quantizer.code_dim)
    x = evaluation.reference_images("synthetic", "test", 4)
    with torch.no_grad():
        assert torch.equal(enc["latents"][:4], train.load_tokenizer(s1).encode(x).visual.z)

    s2 = train.run("stage2", "ae", "smoke", SYN, out=s1)
    rows = read_jsonl(s2 / "metrics.jsonl")
    ev = [r for r in rows if r["kind"] == "eval"]
    (test_row,) = [r for r in rows if r["kind"] == "test"]
    assert [r["step"] for r in ev] == [4, 8] and all(math.isfinite(r["fm_loss"]) for r in ev + [test_row])
    ar, _ = train.load_prior(s2)
    assert isinstance(ar, FlowARPrior) and not ar.training
    train_set = stage2.LatentSet(train.encode_dataset(s1, "train", limit=cfg.stage2.train_images,
                                                      only=stage2.train_indices(cfg)), cfg)
    assert train_set.seq[~train_set.encoded].isnan().all()                 # rows never read: NaN
    assert float(ar.scale) == pytest.approx(1 / train_set.std(), rel=1e-6)  # saved with the prior

    out = train.sample(s1, 8, seed=0, progress=False)
    assert out["images"].shape == (8, 1, 28, 28) and out["images"].abs().max() <= 1
    assert out["tokens"].shape == (8, 4, cfg.quantizer.code_dim) and out["tokens"].is_floating_point()
    sd = train.run("sample", "ae", "smoke", SYN, out=s1)
    assert torch.equal(torch.load(sd / "samples_8.pt")["images"], out["images"])  # the stage draws the same

    real = evaluation.reference_images("synthetic", "test", 32)
    m, images = evaluation.gfid(s2, real, "synthetic", classifier_config=TINY, bootstrap=0)
    assert m["metric"] == "fd_clf" and math.isfinite(m["value"]) and images.shape == real.shape


class Killed(Exception):
    pass


def test_stage2_resumed_after_a_kill_matches_an_uninterrupted_run(ae_run, monkeypatch):
    """Stopped right after its first checkpoint (step 4 of 8), resumed: the same metrics as the run of the
    stage-1 copy that never stopped (the flow head's draws come from (seed, "flow_head", step))."""
    s1, copy = ae_run
    over = SYN + ["stage2.class_cond=true"]  # label dropout too
    ref = train.run("stage2", "ae", "smoke", over, out=copy)
    save = RunContext.save_checkpoint

    def save_then_die(self, model, opt, step):
        save(self, model, opt, step)
        raise Killed(step)

    monkeypatch.setattr(RunContext, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train.run("stage2", "ae", "smoke", over, out=s1)
    monkeypatch.undo()
    killed = s1 / ref.name
    assert not (killed / "done.json").exists() and max(r["step"] for r in read_jsonl(killed / "metrics.jsonl")) == 4
    res = train.run("stage2", "ae", "smoke", over, out=s1, resume=True)
    assert res == killed
    assert read_jsonl(res / "metrics.jsonl") == read_jsonl(ref / "metrics.jsonl")
    a, b = torch.load(res / "prior.pt"), torch.load(ref / "prior.pt")
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
