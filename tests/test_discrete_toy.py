"""The categorical toy of notebook 00 §7 (paper W §4.1): both methods are measured alike, from the same start."""
import numpy as np

from tvclab import tvc
from tvclab.discrete_toy import READOUTS, CategoricalToy, run_instance_elbo, run_wgf_dpd


def test_both_methods_start_from_the_same_readouts_and_record_steps_plus_one_values():
    cfg = CategoricalToy(steps=5, seed=3)
    wgf, inst = run_wgf_dpd(cfg), run_instance_elbo(cfg)
    for readout in READOUTS:
        for key in ("marginal_kl", "mutual_information"):
            a, b = wgf[f"{key}_{readout}"], inst[f"{key}_{readout}"]
            assert len(a) == len(b) == cfg.steps + 1
            assert a[0] == b[0]  # same logits, same readout: the same start
    assert len(wgf["loss"]) == len(inst["loss"]) == cfg.steps


def test_hard_readout_information_is_the_entropy_of_the_code_histogram():
    """With hard codes H(Z|X) = 0, so I(X; Z) = H(q(z)) (the reason the notebook bounds it by H(p))."""
    cfg = CategoricalToy(steps=0, seed=1)
    enc, _ = cfg.init()
    codes = enc.detach().argmax(1).numpy()
    q_z = np.bincount(codes, minlength=cfg.n_codes) / cfg.n_data
    assert abs(run_wgf_dpd(cfg)["mutual_information_hard"][0] - float(tvc.entropy(q_z))) < 1e-12
