"""Paper P Fig. 6's attention maps (tvclab.models.attention_maps): the weights SDPA applied, recomputed from qkv."""
import pytest
import torch

from tvclab.models import ARPrior
from tvclab.models.attention_maps import mean_attention, record_attention
from tvclab.models.blocks import Attention, Transformer

from conftest import assert_f32_close


def test_causal_maps_are_rows_of_probabilities_with_nothing_above_the_diagonal():
    torch.manual_seed(0)
    ar = ARPrior(vocab_size=32, n_tokens=6, width=32, depth=2, heads=4).eval()
    with record_attention(ar) as maps:
        ar(torch.randint(0, 32, (5, 6)))
    assert len(maps) == 2 and all(len(v) == 1 for v in maps.values())
    for (w,) in maps.values():
        assert w.shape == (5, 4, 6, 6)
        assert torch.allclose(w.sum(-1), torch.ones(5, 4, 6), atol=1e-6)
        assert torch.count_nonzero(w.triu(1)) == 0
    m = mean_attention(maps)
    assert m.shape == (2, 6, 6) and torch.allclose(m.sum(-1), torch.ones(2, 6), atol=1e-6)


@pytest.mark.parametrize("causal", [True, False])
def test_the_recorded_weights_are_the_ones_the_layer_applied(causal):
    """weights @ v, through the output projection, equals the layer's own (SDPA) output to 1e-6."""
    torch.manual_seed(1)
    net = Transformer(24, 1, 3, causal=causal).eval()
    attn = net.blocks[0].attn
    seen = {}
    attn.qkv.register_forward_hook(lambda m, i, o: seen.__setitem__("qkv", o))
    attn.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    x = torch.randn(2, 7, 24)
    with record_attention(net) as maps:
        net(x)
    (w,) = maps["blocks.0.attn"]
    v = seen["qkv"].view(2, 7, 3, 3, 8).permute(2, 0, 3, 1, 4)[2]
    y = attn.proj((w @ v).transpose(1, 2).reshape(2, 7, 24))
    # the recorded weights times v, projected (7 + 24 operations), against the module's fused attention (scores
    # over a head width of 8, softmax over 7)
    assert_f32_close(y, seen["out"], ops=8 + 7 + 7 + 24)
    assert (torch.count_nonzero(w.triu(1)) == 0) == causal


def test_cached_forwards_are_refused_and_hooks_removed():
    ar = ARPrior(vocab_size=8, n_tokens=3, width=16, depth=1, heads=2)
    with pytest.raises(RuntimeError, match="key/value cache"):
        with record_attention(ar):
            ar.sample(2, generator=torch.Generator().manual_seed(0))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in ar.modules() if isinstance(m, Attention))
    with pytest.raises(ValueError, match="no tvclab Attention"):
        with record_attention(torch.nn.Linear(2, 2)):
            pass
