"""Sample-quality metrics through torch-fidelity: FID, IS, KID, precision/recall, or the labelled FD-clf substitute.

With Inception weights (``weights-inception-2015-12-05-6726825d.pth`` in ``$TORCH_HOME/hub/checkpoints/``, default
``~/.cache/torch/hub/checkpoints/``), torch-fidelity's ``inception-v3-compat`` extracts pool3 features (FID, KID)
and logits (IS); precision/recall use its ``vgg16`` extractor (``vgg16-397923af.pth``) as torch-fidelity does.
Without them, the same torch-fidelity machinery runs on a registered extractor that wraps the suite's own classifier
(``tvclab.classifier``) and the keys say so: ``fd_clf``, ``kd_clf_*``, ``precision_clf`` ...; never ``fid``. IS
needs Inception's ImageNet logits and is left out on that path. The reason is printed once per process.

Both paths compute the Fréchet distance with the one ``frechet_distance`` of ``tvclab.metrics.frechet``; with
``bootstrap=B > 0`` both add its interval over samples (``frechet_bootstrap``) as ``fid_lo`` / ``fid_hi`` or
``fd_clf_lo`` / ``fd_clf_hi``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from .frechet import feature_statistics, frechet_bootstrap, frechet_distance
from tvclab import memo
from tvclab import timing

INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
VGG16_WEIGHTS = "vgg16-397923af.pth"
INCEPTION_FETCH = ("python -c \"import torch, torch_fidelity.feature_extractor_inceptionv3 as m; "
                   "torch.hub.load_state_dict_from_url(m.URL_INCEPTION_V3)\"")  # fills the hub cache (network)
FEATURES_ENV = "TVCLAB_FID_FEATURES"  # "auto" (default), "inception" or "classifier"
FID_REFERENCE = "FID: Heusel et al. 2017, torch-fidelity inception-v3-compat pool3 (2048-d)"
METRIC_LABELS = {"fid": "FID", "fd_clf": "FD-clf"}  # a Fréchet number's key (its "metric") -> its name in tables
FD_CLF_REFERENCE = ("FD-clf: Fréchet distance (Heusel et al. 2017, eq. 6) in the penultimate features of the "
                    "suite's classifier, as the Fréchet LeNet distance for MNIST-like data; not comparable to FID")


def hub_checkpoints() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``): where torch-fidelity, lpips
    and torchvision look for weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def inception_weights_path() -> Path:
    return hub_checkpoints() / INCEPTION_WEIGHTS


def notice_once(message: str) -> None:
    """Print ``message`` the first time it occurs in this process."""
    if memo.once(message):
        print(f"tvclab.metrics: {message}")


class UInt8Images(Dataset):
    """[-1, 1] float images as the uint8 [C,H,W] tensors torch-fidelity's extractors take (as if saved to PNG);
    ``rgb=True`` repeats a grayscale channel 3 times (Inception and VGG want RGB)."""

    def __init__(self, images: torch.Tensor, rgb: bool = False):
        self.images, self.rgb = images, rgb

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = ((self.images[i].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.expand(3, -1, -1).contiguous() if self.rgb and x.shape[0] == 1 else x


def as_images(x, n: int | None = None) -> torch.Tensor:
    """The first ``n`` images of a tensor [N,C,H,W] in [-1,1], a tvclab data set, or any Dataset of images or
    (image, label) pairs, as one float tensor clipped to [-1, 1]. ([0, 1] data cannot be told apart: map it by 2x-1.)"""
    if hasattr(x, "tensors"):
        x = x.tensors(n)[0]
    elif not torch.is_tensor(x):
        count = len(x) if n is None else min(n, len(x))
        x = torch.stack([(x[i][0] if isinstance(x[i], (tuple, list)) else x[i]) for i in range(count)])
    x = x[:n].detach().float().cpu()
    if x.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {tuple(x.shape)}")
    if x.numel() and (x.min() < -3 or x.max() > 3):
        raise ValueError(f"images must lie in [-1, 1] (got [{x.min():.3g}, {x.max():.3g}]); map [0, 255] data by "
                         "x / 127.5 - 1")
    return x.clamp(-1, 1)  # decoder overshoot is clipped, as saving to PNG would


# ---------------------------------------------------------------- the classifier as a torch-fidelity extractor

def _classifier_extractor_base():
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase

    class ClassifierFeatureExtractor(FeatureExtractorBase):
        """torch-fidelity extractor over ``tvclab.classifier.DataClassifier``: uint8 [B,C,H,W] -> penultimate
        features (and logits). The classifier is a class attribute of the registered subclass."""

        classifier = None

        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            self.model = type(self).classifier

        @staticmethod
        def get_provided_features_list():
            return ("penultimate", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "penultimate"

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return None

        def forward(self, x):
            f = self.model.features(x.float() / 127.5 - 1)
            out = {"penultimate": f, "logits": self.model.head(f)}
            return tuple(out[k] for k in self.features_list)

    return ClassifierFeatureExtractor


def register_classifier_extractor(classifier) -> str:
    """Register ``classifier`` with torch-fidelity as ``tvclab-clf-<dataset>-<confighash>``; returns the name.

    The hash is in the name, so torch-fidelity never mixes features of two different classifiers."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    name = f"tvclab-clf-{classifier.config.dataset}-{classifier.config.hash()}"
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        cls = type("ClassifierFeatureExtractor_" + classifier.config.hash(), (_classifier_extractor_base(),), {})
        register_feature_extractor(name, cls)
    FEATURE_EXTRACTORS_REGISTRY[name].classifier = classifier
    return name


def _extract(images: torch.Tensor, extractor: str, layers: list[str], rgb: bool, cuda: bool, batch_size: int,
             progress: bool, **extractor_kwargs) -> dict[str, torch.Tensor]:
    from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

    fe = create_feature_extractor(extractor, layers, cuda=cuda, verbose=False, **extractor_kwargs)
    return get_featuresdict_from_dataset(UInt8Images(images, rgb=rgb), fe, batch_size, cuda, True, progress)


# ---------------------------------------------------------------- public API

@timing.timed("metrics")
def generation_metrics(real, fake, dataset: str = "fashion_mnist", n: int | None = None, *, features: str | None = None,
                       classifier=None, classifier_config=None, isc: bool = True, kid: bool = True, prc: bool = True,
                       batch_size: int = 200, device: str | None = None, progress: bool = False,
                       bootstrap: int = 0, bootstrap_seed: int = 0) -> dict:
    """FID / IS / KID / precision-recall of ``fake`` against ``real`` via torch-fidelity, or the labelled substitute.

    real, fake: tensors [N,C,H,W] in [-1,1] or Datasets; the first ``n`` of each are used (default: the smaller
      count), the same N on both sides (FD estimates are biased in N: compare numbers at equal N only).
    features: "auto" (Inception when its weights are already cached, else the classifier; never downloads; default,
      or ``$TVCLAB_FID_FEATURES``), "inception" (downloads the weights if a network allows, else raises
      InceptionUnavailableError) or "classifier" (FD-clf without trying Inception).
    classifier / classifier_config: the ``tvclab.classifier`` model or config for ``dataset`` (default: the cached
      default one, trained with a notice when missing).
    bootstrap: resamples for the Fréchet distance's interval over samples (0: none; 100 is usual); when > 0 the
      dict gains ``<metric>_lo``, ``<metric>_hi`` (``fid_lo`` / ``fd_clf_lo`` ...), ``<metric>_level`` and
      ``n_boot`` (see ``frechet_bootstrap``; seeded by ``bootstrap_seed``).
    Returns a flat dict: metric values, ``metric`` ("fid" or "fd_clf"), ``features``, ``reference``, ``n_real``,
    ``n_fake``, and on the substitute path ``notice``.
    """
    real, fake = as_images(real), as_images(fake)
    n = min(len(real), len(fake)) if n is None else n
    if n < 2 or len(real) < n or len(fake) < n:
        raise ValueError(f"need n >= 2 images on both sides, got n={n}, {len(real)} real, {len(fake)} fake")
    real, fake = real[:n], fake[:n]
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real {tuple(real.shape[1:])} and fake {tuple(fake.shape[1:])} images differ in shape")
    cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    features = features or os.environ.get(FEATURES_ENV, "auto")
    if features not in ("auto", "inception", "classifier"):
        raise ValueError(f"features must be 'auto', 'inception' or 'classifier', got {features!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0 or bootstrap == 1:
        raise ValueError(f"bootstrap must be 0 (no interval) or an int >= 2 resamples (100 is usual), "
                         f"got {bootstrap!r}")
    opts = dict(cuda=cuda, batch_size=batch_size, progress=progress, bootstrap=(bootstrap, bootstrap_seed))
    reason = None
    if features != "classifier":
        try:
            return _inception_metrics(real, fake, isc, kid, prc, allow_download=features == "inception", **opts)
        except InceptionUnavailableError as e:
            if features == "inception":
                raise
            reason = str(e)
    else:
        reason = "FD-clf requested (features='classifier')"
    return _classifier_metrics(real, fake, dataset, classifier, classifier_config, kid, prc, reason, **opts)


def fid(real, fake, dataset: str = "fashion_mnist", n: int | None = None, **kwargs) -> dict:
    """Only the Fréchet distance: ``{"fid": ...}`` with Inception, else ``{"fd_clf": ...}``; plus ``metric``,
    ``features``, ``n_real``, ``n_fake``. Read the value as ``out[out["metric"]]``; with ``bootstrap=B`` its
    interval as ``out[out["metric"] + "_lo"]`` / ``"_hi"``."""
    return generation_metrics(real, fake, dataset, n, isc=False, kid=False, prc=False, **kwargs)


class InceptionUnavailableError(RuntimeError):
    """torch-fidelity's Inception weights are neither cached nor downloadable."""


def _frechet(f_real, f_fake, key: str, bootstrap: tuple[int, int], progress: bool) -> dict:
    """``{key: FD}``, plus ``key_lo``, ``key_hi``, ``key_level`` and ``n_boot`` when ``bootstrap = (B, seed)`` has
    B > 0."""
    n_boot, seed = bootstrap
    if not n_boot:
        return {key: frechet_distance(*feature_statistics(f_real), *feature_statistics(f_fake))}
    b = frechet_bootstrap(f_real, f_fake, n_boot=n_boot, seed=seed, progress=progress)
    return {key: b["value"], f"{key}_lo": b["lo"], f"{key}_hi": b["hi"], f"{key}_level": b["level"],
            "n_boot": b["n_boot"]}


def _inception_metrics(real, fake, isc, kid, prc, allow_download, cuda, batch_size, progress, bootstrap) -> dict:
    from ..data import network_available

    weights = inception_weights_path()
    if not weights.is_file() and not (allow_download and network_available()):
        raise InceptionUnavailableError(
            f"Inception weights not found at {weights}" + (" and no network to download them" if allow_download else
                                                           " (features='auto' uses cached weights only, never downloads)"))
    layers = ["2048"] + (["logits_unbiased"] if isc else [])
    try:
        kw = {"feature_extractor_weights_path": str(weights)} if weights.is_file() else {}
        f_real = _extract(real, "inception-v3-compat", layers, True, cuda, batch_size, progress, **kw)
        f_fake = _extract(fake, "inception-v3-compat", layers, True, cuda, batch_size, progress, **kw)
    except (OSError, RuntimeError) as e:  # URLError is an OSError; a torn download raises RuntimeError
        raise InceptionUnavailableError(f"Inception weights could not be loaded or downloaded ({e}); "
                                        f"place {INCEPTION_WEIGHTS} in {hub_checkpoints()}") from e
    n = len(real)
    out = {"metric": "fid", "features": "inception-v3-compat pool3 (torch-fidelity)", "reference": FID_REFERENCE,
           "n_real": n, "n_fake": n, **_frechet(f_real["2048"], f_fake["2048"], "fid", bootstrap, progress)}
    if isc:  # Salimans et al. 2016, torch-fidelity's split estimate
        from torch_fidelity.metric_isc import isc_featuresdict_to_metric

        m = isc_featuresdict_to_metric(f_fake, "logits_unbiased", verbose=False)
        out.update(is_mean=m["inception_score_mean"], is_std=m["inception_score_std"])
    if kid:
        out.update(_kid(f_real["2048"], f_fake["2048"], "kid"))
    if prc:
        vgg = hub_checkpoints() / VGG16_WEIGHTS
        if vgg.is_file():
            kw = {"feature_extractor_weights_path": str(vgg)}
            p_real = _extract(real, "vgg16", ["fc2_relu"], True, cuda, batch_size, progress, **kw)["fc2_relu"]
            p_fake = _extract(fake, "vgg16", ["fc2_relu"], True, cuda, batch_size, progress, **kw)["fc2_relu"]
            out.update(_prc(p_real, p_fake, ""))
        else:
            notice_once(f"precision/recall left out: torch-fidelity computes them in VGG16 features and "
                        f"{VGG16_WEIGHTS} is not in {hub_checkpoints()}")
    return out


def _classifier_metrics(real, fake, dataset, classifier, classifier_config, kid, prc, reason, cuda, batch_size,
                        progress, bootstrap) -> dict:
    from ..classifier import ClassifierConfig, load_classifier

    if classifier is None:
        config = classifier_config or ClassifierConfig(dataset=dataset)
        classifier = load_classifier(config=config, progress=progress)
    name = register_classifier_extractor(classifier)
    notice_once(f"{reason}: reporting FD-clf (key 'fd_clf'), the Fréchet distance in the penultimate features of "
                f"tvclab's {classifier.config.dataset} classifier ({name}), not FID; IS left out (it needs "
                f"Inception's ImageNet logits). Real FID: place {INCEPTION_WEIGHTS} in {hub_checkpoints()} "
                f"(with a network: {INCEPTION_FETCH}).")
    try:
        f_real = _extract(real, name, ["penultimate"], False, cuda, batch_size, progress)["penultimate"]
        f_fake = _extract(fake, name, ["penultimate"], False, cuda, batch_size, progress)["penultimate"]
    finally:
        classifier.cpu()  # torch-fidelity moved it to the GPU when cuda; callers keep a CPU model
    n = len(real)
    out = {"metric": "fd_clf", "features": f"{name} penultimate ({f_real.shape[1]}-d, test accuracy "
                                          f"{getattr(classifier, 'test_accuracy', float('nan')):.4f})",
           "reference": FD_CLF_REFERENCE, "n_real": n, "n_fake": n, "notice": reason,
           **_frechet(f_real, f_fake, "fd_clf", bootstrap, progress)}
    if kid:
        out.update(_kid(f_real, f_fake, "kd_clf"))
    if prc:
        out.update(_prc(f_real, f_fake, "_clf"))
    return out


def _kid(f_real, f_fake, prefix: str) -> dict:
    """KID (Binkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel, mean/std over subsets (torch-fidelity)."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    n = min(len(f_real), len(f_fake))
    m = kid_features_to_metric(f_real, f_fake, kid_subset_size=min(1000, n), verbose=False)
    return {f"{prefix}_mean": m["kernel_inception_distance_mean"], f"{prefix}_std": m["kernel_inception_distance_std"]}


def _prc(f_real, f_fake, suffix: str) -> dict:
    """Improved precision/recall (Kynkäänniemi et al. 2019), k = 3 neighbourhoods (torch-fidelity).
    Precision: share of fake samples inside the real manifold; recall: share of real inside the fake one."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    m = prc_features_to_metric(f_fake, f_real, save_cpu_ram=True, verbose=False)  # its order: generated, real
    return {f"precision{suffix}": m["precision"], f"recall{suffix}": m["recall"], f"f_score{suffix}": m["f_score"]}


@timing.timed("metrics")
def fd_clf_floor(dataset: str = "fashion_mnist", n: int = 5000, classifier=None, classifier_config=None, root=None,
                 seed: int = 0, **kwargs) -> dict:
    """The real-vs-real FD-clf at ``n``: ``n`` random training images against ``n`` random test images.

    A model's FD-clf at the same ``n`` is read against this floor (NOTES "fixed N ... a real-vs-real floor").
    """
    from .. import data

    train, test = data.load(dataset, "train", root=root), data.load(dataset, "test", root=root)
    if n > len(test):
        raise ValueError(f"n={n} exceeds the {len(test)} test images of {dataset}")
    g = torch.Generator().manual_seed(seed)
    a = train.batch(torch.randperm(len(train), generator=g)[:n])[0]
    b = test.batch(torch.randperm(len(test), generator=g)[:n])[0]
    out = generation_metrics(a, b, dataset, n, features="classifier", classifier=classifier,
                             classifier_config=classifier_config, isc=False, kid=False, prc=False, **kwargs)
    floor = {"fd_clf_floor": out["fd_clf"], "n": n, "features": out["features"]}
    if "fd_clf_lo" in out:  # bootstrap=B was passed through
        floor.update(fd_clf_floor_lo=out["fd_clf_lo"], fd_clf_floor_hi=out["fd_clf_hi"], n_boot=out["n_boot"])
    return floor
