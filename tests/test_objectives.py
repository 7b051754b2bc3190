"""Each stage-1 objective's gradient reaches what it should and nothing else (paper W Algorithm 1, W F.1, P §2),
checked by autograd on one model that composes all of them; and the composition follows the config, not names."""
import pytest
import torch

from tvclab import configs
from tvclab.objectives import OBJECTIVES, enabled_objectives
from tvclab.train.stage1 import Stage1Model

GROUPS = {
    "encoder": "tokenizer.encoder.", "to_code": "tokenizer.to_code.", "codebook": "tokenizer.quantizer.codebook",
    "decoder": "tokenizer.decoder.", "to_prologue": "tokenizer.to_prologue.",
    "prologue_codebook": "tokenizer.prologue_quantizer.", "proxy": "objectives.wgf.proxy.",
    "target": "objectives.wgf.target.", "joint_ar": "objectives.prologue.",
}
# objective -> the parameter groups its term must reach; every other group must get exactly zero
REACHES = {
    "reconstruction": {"encoder", "to_code", "decoder"},                  # straight-through: not the codebook
    "quantizer": {"encoder", "to_code", "codebook"},                      # codebook + commitment
    "wgf": {"encoder", "to_code", "codebook", "proxy"},                   # prob-STE + proxy CE; never the target
    "prologue": {"encoder", "to_prologue", "prologue_codebook", "joint_ar"},  # visual tokens get none (P §2)
}


def _model(decoder: str) -> Stage1Model:
    cfg = configs.apply_overrides(configs.get("baseline_1d", "smoke"), [
        f"decoder.kind={decoder}", "decoder.tail_dropout_p=0.5", "wgf.weight=0.1", "prologue.n=2",
        "prologue.codebook_size=8", "reconstruction.lpips_weight=0"])
    torch.manual_seed(0)
    return Stage1Model(cfg, channels=1)


@pytest.mark.parametrize("decoder", ["det", "fm"])
def test_each_objective_reaches_only_its_parameters(decoder):
    model = _model(decoder)
    assert set(model.objectives) == set(REACHES)
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    rnd = model.draw(6, step=3)
    rnd["prologue"]["vis_drop"] = torch.tensor([True, False] * 3)  # both branches of the visual dropout
    enc = model.tokenizer.encode(x)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert not any(n.startswith(GROUPS["target"]) for n, _ in named)  # the fixed target is not even trainable
    for name, obj in model.objectives.items():
        loss = obj(x, enc, rnd.get(name, {}), model.tokenizer)["loss"]
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True, retain_graph=True)
        reached = {g for g, prefix in GROUPS.items()
                   if any(n.startswith(prefix) and gr is not None and gr.abs().sum() > 0
                          for (n, _), gr in zip(named, grads))}
        assert reached == REACHES[name], (name, reached ^ REACHES[name])


def test_composition_follows_the_config():
    """The stage-1 model composes the objectives a config enables; none is chosen by the method's name."""
    names = lambda *sets: [c.name for c in enabled_objectives(configs.apply_overrides(configs.get("baseline_1d", "smoke"), list(sets)))]
    assert names() == ["reconstruction", "quantizer"]
    assert names("wgf.weight=0.1") == ["reconstruction", "quantizer", "wgf"]
    assert names("quantizer.kind=none") == ["reconstruction"]
    assert names("quantizer.kind=none", "quantizer.kl_weight=0.1") == ["reconstruction", "quantizer"]
    assert "wgf" in [c.name for c in enabled_objectives(configs.get("wartok", "smoke"))]
    assert all(c.section in configs.Config().to_dict() for c in OBJECTIVES)  # each reads its own config section


def test_draws_are_named_streams_per_step_and_sliced_per_rank():
    model = _model("fm")
    a, b = model.draw(8, step=5), model.draw(8, step=5)
    assert all(torch.equal(a[k][n], b[k][n]) for k in a for n in a[k])
    c = model.draw(8, step=6)
    assert not torch.equal(a["reconstruction"]["t"], c["reconstruction"]["t"])
    half = model.draw(8, step=5, rank=1, world=2)
    assert torch.equal(half["reconstruction"]["x0"], a["reconstruction"]["x0"][4:])
    # streams are independent: the tail-dropout draw does not depend on whether the decoder draws noise
    det = _model("det").draw(8, step=5)
    assert torch.equal(det["reconstruction"]["u_cut"], a["reconstruction"]["u_cut"])
