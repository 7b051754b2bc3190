"""tvclab.metrics: identities against direct computations, the labelled offline substitute, LPIPS both ways."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from tvclab import classifier as clf
from tvclab import data, metrics
from tvclab.metrics import fidelity

TINY = clf.ClassifierConfig(dataset="synthetic", width=8, feature_dim=16, steps=40, batch_size=64, lr=5e-3)


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TVCLAB_CACHE", str(tmp_path_factory.mktemp("clf")))
    try:
        yield clf.load_classifier(config=TINY, progress=False)
    finally:
        mp.undo()


def random_stats(d, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    return rng.standard_normal(d), a @ a.T / d + 0.1 * np.eye(d)


# ---------------------------------------------------------------- Fréchet distance

def test_frechet_distance_matches_direct_scipy_and_torch_fidelity():
    (mu1, s1), (mu2, s2) = random_stats(12, 0), random_stats(12, 1)
    direct = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-8)
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    tf = fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(tf["frechet_inception_distance"], rel=1e-6)


def test_frechet_distance_zero_for_identical_statistics():
    mu, s = random_stats(64, 2)
    assert abs(metrics.frechet_distance(mu, s, mu, s)) < 1e-8
    f = np.random.default_rng(3).standard_normal((500, 16))
    assert metrics.frechet_distance_features(f, f) < 1e-8


def test_frechet_bootstrap_interval_over_samples():
    rng = np.random.default_rng(0)
    real, near, far = rng.standard_normal((400, 8)), rng.standard_normal((400, 8)), rng.standard_normal((400, 8)) + 1
    b = metrics.frechet_bootstrap(real, far, n_boot=50)
    assert b["value"] == pytest.approx(metrics.frechet_distance_features(real, far))
    assert b["lo"] < b["value"] < b["hi"] and b["n_boot"] == 50 and b["bias"] > 0  # resamples read as extra distance
    assert b == metrics.frechet_bootstrap(real, far, n_boot=50) and b != metrics.frechet_bootstrap(real, far, 50, seed=1)
    assert metrics.frechet_bootstrap(real, near, n_boot=50)["hi"] < b["lo"]  # 8 = ||shift||^2, far above the noise
    with pytest.raises(ValueError, match="n_boot"):
        metrics.frechet_bootstrap(real, far, n_boot=1)


# ---------------------------------------------------------------- FD-clf, the labelled offline path

def test_offline_reports_fd_clf_never_fid(offline_metrics, tiny_classifier, capsys):
    real, _ = data.load("synthetic", "test").tensors(300)
    fake = (real + 0.3 * torch.randn_like(real)).clamp(-1, 1)
    out = metrics.generation_metrics(real, fake, dataset="synthetic", n=256, classifier=tiny_classifier)
    assert out["metric"] == "fd_clf" and out["fd_clf"] > 0 and "fid" not in out and "is_mean" not in out
    assert out["n_real"] == out["n_fake"] == 256
    assert {"kd_clf_mean", "kd_clf_std", "precision_clf", "recall_clf"} <= set(out)
    assert "Inception weights not found" in out["notice"] and "Fréchet" in out["reference"]
    printed = capsys.readouterr().out
    assert "FD-clf" in printed and "not FID" in printed and "weights-inception-2015-12-05-6726825d.pth" in printed
    again = metrics.fid(real, fake, dataset="synthetic", n=256, classifier=tiny_classifier)
    assert again["fd_clf"] == pytest.approx(out["fd_clf"]) and set(again) >= {"metric", "n_real", "n_fake"}
    assert "FD-clf" not in capsys.readouterr().out  # the reason is printed once per process
    with pytest.raises(fidelity.InceptionUnavailableError):
        metrics.fid(real, fake, dataset="synthetic", features="inception")


def test_fd_clf_bootstrap_interval(offline_metrics, tiny_classifier):
    real, _ = data.load("synthetic", "test").tensors(200)
    fake = (real + 0.3 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    plain = metrics.fid(real, fake, dataset="synthetic", classifier=tiny_classifier)
    out = metrics.fid(real, fake, dataset="synthetic", classifier=tiny_classifier, bootstrap=20)
    assert "fd_clf_lo" not in plain and out["fd_clf"] == pytest.approx(plain["fd_clf"]) and out["n_boot"] == 20
    assert out["fd_clf_lo"] <= out["fd_clf"] <= out["fd_clf_hi"] and out["fd_clf_level"] == 0.95
    assert "fid_lo" not in out
    with pytest.raises(ValueError, match="bootstrap"):
        metrics.fid(real, fake, dataset="synthetic", classifier=tiny_classifier, bootstrap=1)


def test_fd_clf_equals_torch_fidelity_on_the_registered_extractor(offline_metrics, tiny_classifier):
    import torch_fidelity

    real, _ = data.load("synthetic", "test").tensors(200)
    fake, _ = data.load("synthetic", "train").tensors(200)
    ours = metrics.fid(real, fake, dataset="synthetic", classifier=tiny_classifier)["fd_clf"]
    name = fidelity.register_classifier_extractor(tiny_classifier)
    theirs = torch_fidelity.calculate_metrics(
        input1=fidelity.UInt8Images(fake), input2=fidelity.UInt8Images(real), feature_extractor=name, fid=True,
        cuda=False, cache=False, save_cpu_ram=True, verbose=False)["frechet_inception_distance"]
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_fd_clf_grows_with_noise_and_has_a_floor(offline_metrics, tiny_classifier):
    reference, _ = data.load("synthetic", "train").tensors(400)
    real, _ = data.load("synthetic", "test").tensors(400)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(real.shape, generator=g)
    fds = [metrics.fid(reference, (real + s * noise).clamp(-1, 1), dataset="synthetic",
                       classifier=tiny_classifier)["fd_clf"] for s in (0.0, 0.1, 0.25, 0.5, 1.0)]
    assert all(a < b for a, b in zip(fds, fds[1:])), fds
    floor = metrics.fd_clf_floor("synthetic", n=400, classifier=tiny_classifier)
    assert floor["n"] == 400 and 0 < floor["fd_clf_floor"] < fds[2]


def test_cached_inception_weights_give_fid_keys(offline_metrics, monkeypatch):
    """With the weights file in the hub cache, the Inception path runs and names its keys fid / is / kid.
    (Features are faked here: a real Inception pass is minutes on 2 cores.)"""
    fidelity.inception_weights_path().parent.mkdir(parents=True)
    fidelity.inception_weights_path().touch()
    seen = []

    def fake_extract(images, extractor, layers, rgb, *args, **kwargs):
        seen.append((extractor, rgb, kwargs.get("feature_extractor_weights_path")))
        g = torch.Generator().manual_seed(len(seen))
        return {"2048": torch.randn(len(images), 32, generator=g), "logits_unbiased": torch.randn(len(images), 1008)}

    monkeypatch.setattr(fidelity, "_extract", fake_extract)
    real, _ = data.load("synthetic", "test").tensors(100)
    out = metrics.generation_metrics(real, real.flip(0), dataset="synthetic")
    assert out["metric"] == "fid" and out["fid"] > 0 and "fd_clf" not in out
    assert {"is_mean", "is_std", "kid_mean", "kid_std"} <= set(out) and "precision" not in out  # no VGG16 file
    assert seen[0] == ("inception-v3-compat", True, str(fidelity.inception_weights_path()))
    assert out["n_real"] == out["n_fake"] == 100
    boot = metrics.fid(real, real.flip(0), dataset="synthetic", bootstrap=10)
    assert boot["metric"] == "fid" and boot["fid_lo"] <= boot["fid"] <= boot["fid_hi"] and boot["n_boot"] == 10
    assert "fd_clf_lo" not in boot


# ---------------------------------------------------------------- LPIPS, PSNR

def test_lpips_without_weights_raises_the_named_error(offline_metrics):
    a = torch.zeros(2, 1, 28, 28)
    with pytest.raises(metrics.LPIPSUnavailableError, match=r"vgg16-397923af\.pth.*hub/checkpoints") as e:
        metrics.lpips_distance(a, a)
    assert isinstance(e.value, RuntimeError)


def write_fake_vgg16(torch_home):
    """A state dict with vgg16's keys and shapes: random convolutions, constant (stride-0, tiny on disk) classifier."""
    import torchvision

    with torch.device("meta"):
        shapes = {k: v.shape for k, v in torchvision.models.vgg16().state_dict().items()}
    g = torch.Generator().manual_seed(0)
    sd = {}
    for k, shape in shapes.items():
        if k.startswith("features") and k.endswith("weight"):
            sd[k] = torch.randn(shape, generator=g) * (2 / np.prod(shape[1:])) ** 0.5
        else:
            sd[k] = torch.zeros(1).expand(shape)
    path = torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"
    path.parent.mkdir(parents=True)
    torch.save(sd, path)


def test_lpips_with_backbone_weights(offline_metrics):
    write_fake_vgg16(offline_metrics / "torch")
    a, _ = data.load("synthetic", "test").tensors(3)
    b = a.flip(-1).requires_grad_(True)
    d = metrics.lpips_distance(a, b)
    assert d.shape == (3,) and torch.isfinite(d).all() and (d > 0).all()
    d.sum().backward()
    assert b.grad is not None and b.grad.abs().sum() > 0
    assert metrics.lpips_distance(a, a).abs().max() < 1e-6


def test_psnr():
    a = torch.zeros(4, 3, 8, 8)
    assert metrics.psnr(a, a + 0.2) == pytest.approx(10 * np.log10(4 / 0.04))  # data range 2, MSE 0.04
    per = metrics.psnr(a, torch.cat([a[:2] + 0.2, a[2:] + 0.02]), reduction="none")
    assert per.shape == (4,) and float(per[2]) == pytest.approx(float(per[0]) + 20, rel=1e-5)
    assert metrics.psnr(a, a) == pytest.approx(100.0)


# ---------------------------------------------------------------- kNN NLL, linear probe

def test_knn_nll_equals_brute_force_numpy():
    rng = np.random.default_rng(0)
    target, queries = rng.standard_normal((700, 6)), rng.standard_normal((40, 6))
    dist = np.sqrt(((queries[:, None, :] - target[None]) ** 2).sum(-1))
    for k in (1, 5):
        expect = 6 * np.log(np.sort(dist, axis=1)[:, k - 1])
        assert np.allclose(metrics.knn_nll(target, queries, k=k), expect, atol=1e-3)
    index = metrics.KNNIndex(torch.from_numpy(target))  # built once, reused
    assert np.allclose(index.nll(queries[:20]), metrics.knn_nll(index, queries)[:20])
    with pytest.raises(ValueError, match="dimension"):
        index.nll(np.zeros((2, 5)))


def test_linear_probe_separable_and_shuffled():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((10, 32)) * 4
    y = rng.integers(0, 10, 2000)
    x = centres[y] + rng.standard_normal((2000, 32))
    good = metrics.linear_probe(x[:1500], y[:1500], x[1500:], y[1500:])
    assert good["top1"] > 0.95 and good["top5"] > 0.99
    shuffled = metrics.linear_probe(x[:1500], rng.permutation(y[:1500]), x[1500:], y[1500:])
    assert shuffled["top1"] < 0.2 and shuffled["top5"] < 0.65  # chance: 0.1 and 0.5
