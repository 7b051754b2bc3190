"""Paper V's GRPO post-training (tvclab.train.posttrain, tvclab.losses): what moves, what does not, the loss pieces
against their definitions, the run directory, resume and 1 vs 2 processes."""
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch

from tvclab import configs, losses, train
from tvclab.io import read_jsonl
from tvclab.train import posttrain

SYN = ["data.dataset=synthetic"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture
def stage2_run(runs):
    train.run("stage1", "baseline_1d", "smoke", SYN)
    return train.run("stage2", "baseline_1d", "smoke", SYN)


# ------------------------------------------------------------------------------------------------ loss pieces

def test_group_advantages_normalise_within_each_group_and_clip():
    r = torch.tensor([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    a = losses.group_advantages(r, clip=5.0, eps=0.0)
    expected = (r[0] - r[0].mean()) / r[0].std()
    assert torch.allclose(a[0], expected, atol=1e-6)
    assert torch.equal(a[1], torch.zeros(4))                  # equal rewards in a group: zero advantage
    wide = torch.tensor([[0.0] * 99 + [1.0]])                 # one outlier: (1 - 0.01) / 0.1 = 9.9 before the clip
    assert float(losses.group_advantages(wide, clip=5.0).max()) == 5.0
    with pytest.raises(ValueError, match="G >= 2"):
        losses.group_advantages(torch.ones(3, 1))


def test_equal_rewards_give_no_policy_gradient():
    logits = torch.randn(2, 3, 5, requires_grad=True)
    logp = torch.log_softmax(logits, -1)[..., 0].unsqueeze(1).expand(-1, 4, -1)  # [B, G, n]
    adv = losses.group_advantages(torch.full((2, 4), -0.3)).unsqueeze(-1)
    losses.clipped_policy_loss(logp, logp.detach(), adv).backward()
    assert torch.count_nonzero(logits.grad) == 0


@pytest.mark.parametrize("ratio, adv, flows", [(1.3, 1.0, False), (1.3, -1.0, True), (0.7, -1.0, False),
                                               (0.7, 1.0, True), (1.1, 1.0, True), (0.9, -1.0, True)])
def test_the_clip_stops_the_gradient_past_one_plus_minus_eps(ratio, adv, flows):
    """PPO: past 1 + eps with A > 0 (or 1 - eps with A < 0) the term is constant; inside, d/dlogp = rho A."""
    old = torch.tensor([-1.0])
    logp = (old + math.log(ratio)).requires_grad_(True)
    loss = losses.clipped_policy_loss(logp, old, torch.tensor([adv]), clip=0.2)
    loss.backward()
    if flows:
        assert torch.allclose(logp.grad, torch.tensor([-ratio * adv]), atol=1e-6)
    else:
        assert logp.grad.abs().max() == 0
    assert torch.allclose(loss, -torch.minimum(torch.tensor(ratio * adv), torch.tensor(ratio).clamp(0.8, 1.2) * adv))


def test_contextual_noise_keeps_the_prefix_at_zero_and_replaces_a_share_xi():
    d = posttrain.draws(seed=0, step=3, batch=400, group=2, length=64, vocab=256)
    tokens = torch.randint(0, 256, (400, 64), generator=torch.Generator().manual_seed(1))
    assert torch.equal(posttrain.contextual_noise(tokens, d["mask"], d["ids"], 0.0), tokens)
    for xi in (0.1, 0.5, 0.9):
        noisy = posttrain.contextual_noise(tokens, d["mask"], d["ids"], xi)
        chosen = d["mask"] < xi
        assert torch.equal(noisy[~chosen], tokens[~chosen]) and torch.equal(noisy[chosen], d["ids"][chosen])
        assert abs(chosen.float().mean().item() - xi) < 0.01      # 25,600 draws: sd 0.003
    again = posttrain.draws(seed=0, step=3, batch=400, group=2, length=64, vocab=256)
    assert all(torch.equal(d[k], again[k]) for k in d)            # a function of (seed, step): resume agrees


def test_inverse_cdf_sampling_follows_the_softmax():
    logits = torch.log(torch.tensor([0.2, 0.5, 0.3])).view(1, 1, 3)
    u = torch.tensor([0.0, 0.19, 0.21, 0.69, 0.71, 0.999]).view(1, 6, 1)
    assert posttrain.sample_from_logits(logits, u).flatten().tolist() == [0, 0, 1, 1, 2, 2]
    many = torch.rand(1, 20000, 1, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(posttrain.sample_from_logits(logits, many).flatten(), minlength=3) / 20000
    assert torch.allclose(freq, torch.tensor([0.2, 0.5, 0.3]), atol=0.015)


# ------------------------------------------------------------------------------------------------ one step

def _step_setup(stage2_dir, **changes):
    cfg = configs.apply_overrides(configs.get("baseline_1d", "smoke"), SYN + [f"posttrain.{k}={v}" for k, v in changes.items()])
    ar, _ = train.load_prior(stage2_dir)
    ar.train()
    tok = train.load_tokenizer(stage2_dir.parent)
    for p in tok.parameters():
        p.requires_grad_(False)
    enc = train.encode_dataset(stage2_dir.parent, "test")
    from tvclab.train.stage1 import first_images, load_data

    images = first_images(load_data(cfg, "test"), 8)
    rnd = posttrain.draws(0, 0, 8, cfg.posttrain.group_size, enc["tokens"].shape[1], cfg.quantizer.codebook_size)
    return cfg, ar, tok, enc["tokens"][:8], images, rnd


def test_a_step_moves_the_ar_only(stage2_run):
    cfg, ar, tok, tokens, images, rnd = _step_setup(stage2_run)
    tok_before = {k: v.clone() for k, v in tok.state_dict().items()}
    ar_before = {k: v.clone() for k, v in ar.state_dict().items()}
    opt = torch.optim.AdamW(ar.parameters(), lr=1e-2)
    parts = posttrain.grpo_loss(ar, None, tokens, images, rnd, tok, cfg.posttrain, cfg.decoder.fm_steps)
    parts["loss"].backward()
    opt.step()
    assert all(torch.equal(v, tok.state_dict()[k]) for k, v in tok_before.items())  # encoder, codebook, decoder
    assert all(p.grad is None for p in tok.parameters())
    assert any(not torch.equal(v, ar.state_dict()[k]) for k, v in ar_before.items())
    assert set(parts) >= {"loss", "policy", "ce", "reward", "reward_std", "replaced"}
    assert float(parts["reward"]) < 0  # -(MSE + LPIPS) of the decoded draws


def test_ce_weight_zero_removes_the_ce_gradient(stage2_run, monkeypatch):
    """With every reward equal (zero advantages) and no KL, the only gradient left is beta * CE's."""
    monkeypatch.setattr(posttrain, "rewards", lambda tok, seqs, *a, **k: torch.zeros(seqs.shape[:2]))
    for beta in (0.0, 0.1):
        cfg, ar, tok, tokens, images, rnd = _step_setup(stage2_run, ce_weight=beta, kl_weight=0.0)
        ar.zero_grad()
        posttrain.grpo_loss(ar, None, tokens, images, rnd, tok, cfg.posttrain, 1)["loss"].backward()
        grad = torch.cat([p.grad.flatten() for p in ar.parameters() if p.grad is not None])
        ar.zero_grad()
        (beta * losses.ar_cross_entropy(ar(posttrain.contextual_noise(tokens, rnd["mask"], rnd["ids"], 0.5)),
                                        tokens)).backward()
        ce_grad = torch.cat([p.grad.flatten() for p in ar.parameters() if p.grad is not None])
        assert torch.allclose(grad, ce_grad, atol=1e-7)
        assert (grad.abs().max() == 0) == (beta == 0)


# ------------------------------------------------------------------------------------------------ run directory

def test_posttrain_changes_leave_the_earlier_directories_alone():
    base = configs.get("baseline_1d", "cpu")
    changed = configs.apply_overrides(base, ["posttrain.ce_weight=0", "posttrain.noise=0"])
    assert train.default_run_dir(changed) == train.default_run_dir(base)
    assert train.stage2_subdir(changed) == train.stage2_subdir(base) == "stage2"
    assert train.posttrain_subdir(base) == "stage2__posttrain"
    assert train.posttrain_subdir(changed) == "stage2__posttrain__posttrain.ce_weight-0.0__posttrain.noise-0.0"
    s2 = configs.apply_overrides(base, ["stage2.optim.steps=10"])
    assert train.posttrain_subdir(s2) == "stage2__stage2.optim.steps-10__posttrain"  # named for the AR it reads


def test_posttrain_run_is_read_like_stage_2_and_resumes(stage2_run, monkeypatch):
    sets = SYN + ["posttrain.optim.steps=6"]
    ref = train.run("posttrain", "baseline_1d", "smoke", sets)
    assert ref.parent == stage2_run.parent and ref.name == "stage2__posttrain__posttrain.optim.steps-6"
    rows = read_jsonl(ref / "metrics.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [2, 4, 6]
    assert {"gloss", "top1", "reward"} <= set(rows[-1]) and rows[-1]["split"] == "test"
    assert train.artifacts.prior_snapshot_steps(ref) == [2, 4, 6]
    out = train.sample(ref, 4, seed=0)
    assert out["images"].shape == (4, 1, 28, 28)
    assert torch.equal(train.sample(ref, 4, seed=0, step=6)["images"], out["images"])  # last snapshot = final
    before = train.sample(stage2_run, 4, seed=0)["tokens"]
    assert before.shape == out["tokens"].shape
    with pytest.raises(FileNotFoundError, match="saved steps: \\[2, 4, 6\\]"):
        train.load_prior(ref, step=3)

    # interrupted after the checkpoint of step 4, resumed: the same log and final metrics
    other = sets + ["posttrain.clip=0.2000001"]  # another directory, numerically the same run
    calls = {"n": 0}
    real = posttrain.grpo_loss

    def stop_at_5(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(posttrain, "grpo_loss", stop_at_5)
    with pytest.raises(KeyboardInterrupt):
        train.run("posttrain", "baseline_1d", "smoke", other)
    monkeypatch.setattr(posttrain, "grpo_loss", real)
    resumed = train.run("posttrain", "baseline_1d", "smoke", other, resume=True)
    strip = lambda rs: [{k: v for k, v in r.items()} for r in rs]
    assert strip(read_jsonl(resumed / "metrics.jsonl")) == strip(rows)


def test_prologue_configs_are_refused_with_the_reason(runs):
    from tvclab.train.posttrain import train as post

    class Ctx:
        cfg = configs.apply_overrides(configs.get("baseline_1d", "smoke"), ["prologue.n=2"])

    with pytest.raises(configs.ConfigError, match="prologue tokens"):
        post(Ctx())


@pytest.mark.slow
def test_two_processes_match_one(tmp_path, stage2_run):
    """torchrun --nproc_per_node=2 post-training of the same stage-2 run logs the 1-process metrics (1e-4)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TVCLAB_DEBUG"):
        env.pop(k, None)
    dirs = {}
    for name, launcher in (("one", [sys.executable, "-m"]),
                           ("two", [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                    "--nproc_per_node=2", "-m"])):
        root = tmp_path / name
        shutil.copytree(stage2_run.parent, root, ignore=shutil.ignore_patterns("stage2__posttrain*", ".lock"))
        r = subprocess.run([*launcher, "tvclab.train", "posttrain", "--config", "baseline_1d", "--tier", "smoke",
                            "--set", *SYN, "--out", str(root)], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        dirs[name] = read_jsonl(root / "stage2__posttrain" / "metrics.jsonl")
    a, b = dirs["one"], dirs["two"]
    assert [(r["kind"], r["step"]) for r in a] == [(r["kind"], r["step"]) for r in b]
    for ra, rb in zip(a, b):
        for k, v in ra.items():
            if isinstance(v, float):
                assert math.isclose(v, rb[k], rel_tol=1e-4, abs_tol=1e-6), (ra["step"], k, v, rb[k])
    assert json.loads((tmp_path / "two" / "stage2__posttrain" / "done.json").read_text())["metrics"]


# ------------------------------------------------------------------------ the objective as the authors run it

def test_k3_estimates_the_kl_in_value_and_is_never_negative():
    g = torch.Generator().manual_seed(0)
    p = torch.log_softmax(torch.randn(5, generator=g), -1)     # pi
    q = torch.log_softmax(torch.randn(5, generator=g), -1)     # base
    exact = float((p.exp() * (p - q)).sum())
    draws = torch.multinomial(p.exp(), 400_000, replacement=True, generator=g)
    k3 = losses.k3_kl(p[draws], q[draws])
    terms = torch.exp(q[draws] - p[draws]) - (q[draws] - p[draws]) - 1
    se = float(terms.std()) / math.sqrt(len(draws))
    assert abs(float(k3) - exact) < 4 * se, (float(k3), exact, se)
    assert float(terms.min()) >= 0 and float(losses.k3_kl(p, p)) == 0.0
    # its expected gradient in logp is 0 (1 - exp(d) has mean 0 under pi), unlike the exact KL's
    grad_mean = float((1 - torch.exp(q - p)).mul(p.exp()).sum())
    assert abs(grad_mean) < 1e-6


def test_k3_and_several_updates_per_batch(stage2_run):
    cfg, ar, tok, tokens, images, rnd = _step_setup(stage2_run, kl_estimator="k3")
    base = train.load_prior(stage2_run)[0].eval()
    first = posttrain.grpo_loss(ar, base, tokens, images, rnd, tok, cfg.posttrain, cfg.decoder.fm_steps)
    assert float(first["kl"]) == 0.0  # pi = base before any update: k3 is exactly 0
    first["loss"].backward()
    torch.optim.SGD(ar.parameters(), lr=5.0).step()  # a large step, so the ratio leaves [1 - eps, 1 + eps]
    again = posttrain.grpo_loss(ar, base, tokens, images, rnd, tok, cfg.posttrain, cfg.decoder.fm_steps,
                                old=first["old"])
    assert torch.equal(again["old"]["seqs"], first["old"]["seqs"])  # the batch's draws and rewards are kept
    assert float(again["reward"]) == float(first["reward"])
    assert float(again["kl"]) > 0
    logp_new = posttrain._gather(torch.log_softmax(ar(posttrain.contextual_noise(
        tokens, rnd["mask"], rnd["ids"], cfg.posttrain.noise)).float(), -1), first["old"]["seqs"])
    ratio = torch.exp(logp_new - first["old"]["logp"])
    assert float((ratio - 1).abs().max()) > cfg.posttrain.clip  # the clip can bind on the second update


def test_a_classifier_feature_reward_beside_mse():
    from tvclab.classifier import ClassifierConfig, DataClassifier

    pc = configs.get("baseline_1d", "smoke").posttrain
    pc = type(pc)(**{**pc.__dict__, "lpips_weight": 0.0, "clf_weight": 2.0})
    clf = DataClassifier(ClassifierConfig(dataset="fashion_mnist", width=8, feature_dim=16)).eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 1, 28, 28, generator=g) * 2 - 1, torch.rand(3, 1, 28, 28, generator=g) * 2 - 1
    with torch.no_grad():
        r = posttrain.image_rewards(x, y, pc, clf)
        want = -((x - y).pow(2).flatten(1).mean(1) + 2.0 * (clf.features(x) - clf.features(y)).pow(2).mean(1))
        assert torch.allclose(r, want) and torch.equal(posttrain.image_rewards(y, y, pc, clf), torch.zeros(3))
    with pytest.raises(ValueError, match="needs the FD-clf classifier"):
        posttrain.image_rewards(x, y, pc, None)


def test_updates_and_the_free_running_diagnostic_in_a_run(stage2_run):
    sets = SYN + ["posttrain.updates=2", "posttrain.kl_estimator=k3", "posttrain.free_running_eval=true"]
    run = train.run("posttrain", "baseline_1d", "smoke", sets)
    rows = read_jsonl(run / "metrics.jsonl")
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert {"kl", "reward"} <= set(train_rows[-1])
    ev = [r for r in rows if r["kind"] in ("eval", "test")]
    assert ev and all(math.isfinite(r["reward_free"]) and r["reward_free"] < 0 for r in ev)
    with pytest.raises(configs.ConfigError, match="must divide posttrain.optim.steps"):
        configs.apply_overrides(configs.get("baseline_1d", "smoke"), ["posttrain.updates=3"]).validate()
    with pytest.raises(configs.ConfigError, match="kl_estimator"):
        configs.apply_overrides(configs.get("baseline_1d", "smoke"), ["posttrain.kl_estimator=k2"]).validate()
