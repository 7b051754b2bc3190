"""Paper F's alignment objective in stage 1 (§4, eq. 5, §5.2) and its flow prior on target features (App. C.2)."""
import math

import pytest
import torch

from tvclab import configs, data, train
from tvclab.fit import build_optimizer
from tvclab.flowprior import TargetUnavailable, flow_check, load_flow_prior, prior_dir
from tvclab.train.targets import ensure_flow_prior, raw_features
from tvclab.io import read_jsonl
from tvclab.flow import flat_token_draws
from tvclab.objectives.alignment import FlowAlignment
from tvclab.train.stage1 import Stage1Model


SYN = {"data.dataset": "synthetic"}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    return tmp_path


def _cfg(name="ae_aligned", **over):
    return configs.apply_overrides(configs.get(name, "smoke"), {**SYN, **over})


def _model(cfg):
    if cfg.align.weight:
        ensure_flow_prior(cfg, progress=False)  # what a stage-1 run does before it builds its model
    torch.manual_seed(cfg.seed)
    return Stage1Model(cfg, data.channels(cfg.data.dataset))


def _batch(cfg, b=6):
    return torch.rand(b, 1, cfg.data.image_size, cfg.data.image_size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_alignment_gives_the_encoder_a_gradient_and_the_flow_none(runs):
    cfg = _cfg()
    model = _model(cfg)
    obj = model.objectives["align"]
    assert isinstance(obj, FlowAlignment)
    assert not any(p.requires_grad for p in obj.parameters())
    x = _batch(cfg)
    rnd = model.draw(len(x), 0)["align"]
    parts = obj(x, model.tokenizer.encode(x), rnd, model.tokenizer)
    assert math.isclose(float(parts["loss"].detach()), cfg.align.weight * float(parts["align"]), rel_tol=1e-6)
    parts["loss"].backward()
    enc_grads = [p.grad for p in model.tokenizer.encoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in enc_grads)
    assert all(p.grad is None for p in obj.flow.parameters())
    assert all(p.grad is None for p in model.tokenizer.decoder.parameters())  # the term reads the latents only


def test_projection_and_flow_are_unchanged_by_an_adamw_step_of_stage1(runs):
    cfg = _cfg()
    model = _model(cfg)
    obj = model.objectives["align"]
    assert obj.projection.kind == "random" and obj.projection.in_dim == 128  # classifier features -> code_dim
    assert list(obj.projection.parameters()) == []
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = build_optimizer(model.param_groups(), cfg.optim)
    x = _batch(cfg)
    model(x, model.draw(len(x), 0))["loss"].backward()
    opt.step()
    after = model.state_dict()
    for k in before:
        if k.startswith("objectives.align."):
            assert torch.equal(before[k], after[k]), k
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("tokenizer.encoder."))


def test_alignment_term_draws_for_the_global_batch():
    """Rank slices of the global draws, laid out per rank, equal the global layout's rows of those images."""
    x0 = torch.randn(4, 3, 2, 5)  # [B, n_t, n, d]
    t = torch.rand(4, 3, 2)
    gx, gt = flat_token_draws(x0, t)
    assert gx.shape == (3 * 4 * 2, 5) and gt.shape == (3 * 4 * 2,)
    # row k * (B n) + i is draw k of token latent i (i = image * n + token), as alignment_loss repeats them
    assert torch.equal(gx[1 * 8 + 2 * 2 + 1], x0[2, 1, 1]) and torch.equal(gt[2 * 8 + 3 * 2 + 0], t[3, 2, 0])


def test_aligned_tokenizer_starts_where_the_plain_ae_starts(runs):
    """Building the flow prior does not move the global RNG: the tokenizer's initial weights are the ae run's."""
    a, b = _model(_cfg("ae")), _model(_cfg())
    sa, sb = a.tokenizer.state_dict(), b.tokenizer.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_weight_zero_reproduces_the_ae_run(runs):
    over = [f"{k}={v}" for k, v in SYN.items()]
    a = train.run("stage1", "ae", "smoke", over)
    b = train.run("stage1", "ae_aligned", "smoke", over + ["align.weight=0"])
    assert read_jsonl(a / "metrics.jsonl") == read_jsonl(b / "metrics.jsonl")
    c = train.run("stage1", "ae_aligned", "smoke", over)
    rows = [r for r in read_jsonl(c / "metrics.jsonl") if r["kind"] in ("eval", "test")]
    assert rows and all(math.isfinite(r["align_eval"]) and math.isfinite(r["knn_nll"]) for r in rows)
    assert [r["step"] for r in rows if r["kind"] == "eval"] == list(range(2, 9, 2))  # Fig. 4 reads these


def test_flow_prior_is_cached_and_checked(runs):
    cfg = _cfg()
    with pytest.raises(FileNotFoundError, match="ensure_flow_prior"):
        load_flow_prior(cfg)  # reading never trains; the message says what does
    first = ensure_flow_prior(cfg, progress=False)
    assert (prior_dir(cfg) / "flow.pt").exists()
    again = load_flow_prior(cfg)
    assert all(torch.equal(p, q) for p, q in zip(first.velocity.state_dict().values(),
                                                  again.velocity.state_dict().values()))
    assert first.samples.shape == (cfg.align.flow.target_samples, cfg.quantizer.code_dim)
    assert math.isclose(float(first.samples.std()), 1.0, rel_tol=1e-4)  # divided by its standard deviation
    check = flow_check(first, n=64, steps=4)
    assert {"flow_samples_knn_nll", "held_out_knn_nll", "gap"} <= check.keys()
    other = _cfg(**{"align.projection": "pca"})
    assert prior_dir(other) != prior_dir(cfg)  # another projection: another flow


def test_targets_that_need_a_run_or_a_package_say_so(runs):
    with pytest.raises(train.StageMissingError, match="ae_kl"):
        raw_features(_cfg(**{"align.target": "low_level"}), "train", 8)
    with pytest.raises(train.StageMissingError, match="baseline_1d"):
        raw_features(_cfg(**{"align.target": "discrete"}), "train", 8)
    with pytest.raises(TargetUnavailable, match="embedding table"):
        raw_features(_cfg(**{"align.target": "textual"}), "train", 8)


def test_low_level_and_discrete_targets_read_their_runs(runs):
    over = [f"{k}={v}" for k, v in SYN.items()]
    train.run("stage1", "ae_kl", "smoke", over)
    train.run("stage1", "baseline_1d", "smoke", over)
    low = raw_features(_cfg(**{"align.target": "low_level"}), "train", 32)
    assert low.shape == (32, configs.get("ae_kl", "smoke").quantizer.code_dim)
    disc = raw_features(_cfg(**{"align.target": "discrete"}), "train", 32)
    assert disc.shape == (32, configs.get("baseline_1d", "smoke").quantizer.code_dim)
    assert torch.allclose(disc.norm(dim=1), torch.ones(32), atol=1e-5)  # L2-normalised code vectors


def test_config_errors_name_the_field():
    with pytest.raises(configs.ConfigError, match="quantizer.kind=none"):
        configs.apply_overrides(configs.get("baseline_1d", "smoke"), {"align.weight": 0.01})
    with pytest.raises(configs.ConfigError, match="align.target"):
        configs.apply_overrides(configs.get("ae_aligned", "smoke"), {"align.target": "clip"})


def test_paper_tier_encoder_and_decoder_match_section_5_2():
    """F §5.2: ViT-L encoder and decoder, 391M parameters each (within 10%); 64 tokens x 32."""
    from tvclab.models import Tokenizer

    cfg = configs.get("ae_aligned", "paper")
    counts = Tokenizer.from_config(cfg, 3).param_counts()
    for part in ("encoder", "decoder"):
        assert abs(counts[part] - 391e6) / 391e6 < 0.10, (part, counts[part])
    assert (cfg.tokenizer.n_tokens, cfg.quantizer.code_dim, cfg.align.weight) == (64, 32, 0.01)


# ------------------------------------------------------------------------------------------------ processes

ARGS = ["stage1", "--config", "ae_aligned", "--tier", "smoke", "--set", "data.dataset=synthetic"]


@pytest.mark.slow
def test_aligned_run_agrees_across_processes_and_after_kill_and_resume(one_vs_two_processes, kill_and_resume):
    one_vs_two_processes(ARGS)  # metrics of 1 and 2 processes agree (conftest: the tolerances)
    kill_and_resume([*ARGS, "optim.steps=120", "optim.log_every=4", "optim.eval_every=40", "optim.ckpt_every=8"])
