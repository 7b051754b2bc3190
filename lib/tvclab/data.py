"""Data sets: ``load(name, split)`` returns a torch Dataset of ``(image float32 [C,H,W] in [-1, 1], label int)``.

Names (README, "Data"):

- ``fashion_mnist`` — the embedded default: real images, 10 classes, 60k train / 10k test, 28x28 grayscale (C=1),
  MIT licence. Read from the four IDX ``.gz`` files (Debian package ``dataset-fashion-mnist``) with numpy, once per
  process. ``image_size=32`` zero-pads 28 -> 32 with the *background value -1* (2 px each side, content unscaled);
  any other size resizes bilinearly.
- ``cifar10`` — the standard ``cifar-10-batches-py`` folder (python pickles), C=3, 32x32.
- ``imagenet`` — an ImageFolder root (``train/`` and ``val/``), resized (short side) and center-cropped to
  ``image_size`` (required; paper tier only).
- ``synthetic`` — a seeded *generated stand-in* (C=1, 28x28, 10 classes) for tests and for machines where neither
  real source works. It is not a data set of real images; every instance says so in ``.source``.

Splits (docs/protocol.md): ``test`` is the official test split (ImageNet: its ``val/`` folder);
``val`` is a fixed validation split carved from the official training split by a seeded permutation
(``VAL_SEED``) of ``val_size(name, n)`` images (``VAL_SIZE``: 5000 for Fashion-MNIST and CIFAR-10, 10000 for
ImageNet, 10% for the stand-in; never more than 10% of the official training split, so the small files that tests
write still get a split); ``train`` is the training rest, disjoint from ``val``. Every choice (hyperparameters,
snapshots, early stopping) reads ``val``; reported numbers come from ``test``. ``validation_split(name)`` is the
record for results.json.

Where files are looked for: an explicit path is obeyed, only the defaults search. With a ``root`` argument
(``runtime.data_root``) only ``root`` is read; without one but with ``$TVCLAB_DATA`` set, only that folder; a path
given either way that does not exist or lacks the files raises ``DataNotFoundError`` naming the path and the files
it looked for (never a silent fall-back to another copy). Only when neither is given are the defaults searched:
(Fashion-MNIST only) the Debian path ``/usr/share/datasets/fashion-mnist/``, then ``~/.cache/tvclab/data``
(``$TVCLAB_DOWNLOAD_ROOT``), then torchvision's downloader into it when a network is available. When none has the
files, a ``ValueError`` says what to run.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import socket
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import memo, paths
from torch.utils.data import Dataset, Subset

DATASETS = ("fashion_mnist", "cifar10", "imagenet", "synthetic")
SPLITS = ("train", "val", "test")
_SPLIT_MEANING = ("train (the training rest), val (carved from the official training split), "
                  "test (the official test split)")

VAL_SEED = 0  # seed of the permutation that carves val out of the official training split
# Validation images per data set: a count, or None for 10% (the stand-in). Capped at 10% of the official training
# split, so that small files (the tests') still carve a split.
VAL_SIZE = {"fashion_mnist": 5000, "cifar10": 5000, "imagenet": 10000, "synthetic": None}
OFFICIAL_TRAIN_SIZE = {"fashion_mnist": 60000, "cifar10": 50000, "imagenet": 1281167, "synthetic": 6000}

_CHANNELS = {"fashion_mnist": 1, "cifar10": 3, "imagenet": 3, "synthetic": 1}
_NATIVE_SIZE = {"fashion_mnist": 28, "cifar10": 32, "imagenet": None, "synthetic": 28}
NUM_CLASSES = {"fashion_mnist": 10, "cifar10": 10, "imagenet": 1000, "synthetic": 10}

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_FMNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_MNIST_FIX = (
    "install it with `apt-get update && apt-get install -y dataset-fashion-mnist` (puts the IDX .gz files in "
    "/usr/share/datasets/fashion-mnist/), or set TVCLAB_DATA to a folder holding train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
    "(directly, under fashion-mnist/, or unzipped under FashionMNIST/raw/), or run once with a network so "
    "torchvision downloads them"
)



class DataNotFoundError(ValueError):
    """An explicit data path (``root`` / ``runtime.data_root`` or ``$TVCLAB_DATA``) that does not exist or lacks the
    data set's files; the message names the path, the files looked for and the fix."""


def channels(name: str) -> int:
    """Image channels of data set ``name`` (1 for Fashion-MNIST and the stand-in, 3 for CIFAR-10 / ImageNet)."""
    return _CHANNELS[_check_name(name)]


def native_size(name: str) -> int | None:
    """Side of the stored images (28, 32), or None for ImageNet (its images vary; ``image_size`` is required)."""
    return _NATIVE_SIZE[_check_name(name)]


def num_classes(name: str) -> int:
    return NUM_CLASSES[_check_name(name)]


def load(name: str, split: str, root: str | os.PathLike | None = None, image_size: int | None = None) -> Dataset:
    """The data set ``name`` / ``split`` as ``(image float32 [C,H,W] in [-1, 1], label int)`` pairs.

    ``split``: "train" (the training rest), "val" (carved from the official training split, see
    ``validation_split``) or "test". ``image_size`` None keeps the native size; Fashion-MNIST / the stand-in at 32
    are padded with -1 (background).
    """
    name = _check_name(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} for {name}; valid splits: {_SPLIT_MEANING}")
    image_size = _check_image_size(name, image_size)
    if name == "imagenet":
        return _imagenet(split, root, image_size)
    official = "test" if split == "test" else "train"
    if name == "fashion_mnist":
        images, labels, source = _fashion_mnist_arrays(official, root)
    elif name == "cifar10":
        images, labels, source = _cifar10_arrays(official, root)
    else:
        images, labels, source = _synthetic_arrays(official)
    if split == "test":
        return ImageTensorDataset(images, labels, image_size=image_size, name=name, split=split, source=source)
    n_official = len(labels)
    idx = carve_validation(name, n_official)[split]
    images, labels = _cached(("carved", name, source, split, n_official), lambda: (images[idx], labels[idx]))
    return ImageTensorDataset(images, labels, image_size=image_size, name=name, split=split, source=source,
                              indices=idx, validation=validation_split(name, n_official))


def val_size(name: str, n_train: int) -> int:
    """Validation images carved from an official training split of ``n_train`` images: ``VAL_SIZE[name]``
    (10% where it is None), never more than 10% of ``n_train``."""
    tenth = int(round(0.1 * n_train))
    count = VAL_SIZE[_check_name(name)]
    return tenth if count is None else min(count, tenth)


def carve_validation(name: str, n_train: int) -> dict[str, torch.Tensor]:
    """Positions in the official training split (``n_train`` images) of ``"val"`` and ``"train"`` (the rest),
    each sorted ascending: the first ``val_size`` entries of a permutation seeded with ``VAL_SEED`` go to val."""
    perm = torch.from_numpy(np.random.default_rng(VAL_SEED).permutation(n_train))
    n_val = val_size(name, n_train)
    return {"val": perm[:n_val].sort().values, "train": perm[n_val:].sort().values}


def validation_split(name: str, n_train: int | None = None) -> dict:
    """How ``val`` is carved, for results.json: size, seed, carved_from, n_train_rest, the official training count
    (``n_train``, default the documented one) and a SHA-256 of the validation positions (it changes if the split does).
    """
    name = _check_name(name)
    n_train = OFFICIAL_TRAIN_SIZE[name] if n_train is None else int(n_train)
    val = carve_validation(name, n_train)["val"]
    return {"dataset": name, "size": len(val), "seed": VAL_SEED, "carved_from": "train",
            "n_train_rest": n_train - len(val), "n_train_official": n_train, "size_rule": _size_rule(name),
            "val_indices_sha256": hashlib.sha256(val.numpy().astype("<i8").tobytes()).hexdigest()}


def _size_rule(name: str) -> str:
    count = VAL_SIZE[name]
    return ("10% of the official training split" if count is None else
            f"{count} images (at most 10% of the official training split)")


class ImageTensorDataset(Dataset):
    """uint8 images held in memory, turned into [-1, 1] floats (and padded / resized) item by item.

    ``.tensors()`` gives the whole split as one float batch (for metrics); ``.source`` says where it came from.
    For ``train`` / ``val``, ``.indices`` are the images' positions in the official training split and
    ``.validation`` is ``validation_split(name, n_official)``; both are None for ``test``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, image_size: int, name: str, split: str,
                 source: str, indices: torch.Tensor | None = None, validation: dict | None = None):
        assert images.dtype == torch.uint8 and images.ndim == 4, "images: uint8 [N, C, H, W]"
        self.images, self.labels = images, labels
        self.image_size, self.name, self.split, self.source = image_size, name, split, source
        self.indices, self.validation = indices, validation
        self.channels = images.shape[1]
        self.targets = labels  # torchvision's attribute name, for code that expects it

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return _to_float(self.images[i].unsqueeze(0), self.image_size)[0], int(self.labels[i])

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``idx`` (an index tensor) as float32 [B, C, S, S] in [-1, 1], and their labels: one fast call
        for training loops that sample their own batches."""
        return _to_float(self.images[idx], self.image_size), self.labels[idx]

    def tensors(self, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` (default all) images as float32 [n, C, S, S] in [-1, 1], and their labels."""
        n = len(self) if n is None else min(n, len(self))
        return _to_float(self.images[:n], self.image_size), self.labels[:n].clone()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name}/{self.split}: {len(self)} x [{self.channels},{self.image_size},"
                f"{self.image_size}] from {self.source})")


def _to_float(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [B,C,H,W] -> float32 in [-1, 1] at ``size``: 28 -> 32 pads with -1 (background), else bilinear."""
    x = x.float().div_(127.5).sub_(1.0)
    h = x.shape[-1]
    if size == h:
        return x
    if h == 28 and size == 32:
        return F.pad(x, (2, 2, 2, 2), value=-1.0)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < h)
    return x.clamp_(-1.0, 1.0)


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
    return name


def _check_image_size(name: str, image_size) -> int:
    if image_size is None:
        if _NATIVE_SIZE[name] is None:
            raise ValueError(f"{name} needs image_size (e.g. 64 or 256): its images are center-cropped and resized")
        return _NATIVE_SIZE[name]
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be an int in [8, 1024] (or None for the native size), got {image_size!r}")
    return int(image_size)


def explicit_root(root) -> tuple[Path, str] | None:
    """The data folder the user named, and how: ``root`` (``runtime.data_root``), else ``$TVCLAB_DATA``; None when
    neither is set (then, and only then, the default places are searched)."""
    if root is not None and str(root) != "":
        return Path(root).expanduser(), "data root (root= / runtime.data_root)"
    env = paths.data_env_root()
    return (env, "$TVCLAB_DATA") if env is not None else None


def _data_dirs(root) -> list[Path]:
    """The one explicit folder (``explicit_root``), or none."""
    given = explicit_root(root)
    return [given[0]] if given else []


def _not_in_explicit(dataset: str, root, wanted: str, looked: list[Path], fix: str) -> DataNotFoundError:
    folder, how = explicit_root(root)
    state = "does not exist" if not folder.exists() else ("is not a folder" if not folder.is_dir() else
                                                          f"does not hold {wanted}")
    return DataNotFoundError(
        f"{dataset}: the {how} {folder} {state} (looked for {wanted} in: {', '.join(map(str, looked))}). An "
        f"explicit path is not a hint: the default places are not searched. Fix: {fix}, or leave "
        f"runtime.data_root empty and TVCLAB_DATA unset to search the defaults.")


def download_root() -> Path:
    return paths.download_root()


def located_files(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The files ``load(name, ...)`` would read, found by the same search but not read, not downloaded and never
    raising: Fashion-MNIST's four IDX files (both official splits), CIFAR-10's batch pickles; ``[]`` for the
    stand-in, for ImageNet (a folder tree, not listed) and when the files are not there. ``tvclab.batch_cache``
    identifies a notebook's data by them."""
    name = _check_name(name)
    if name == "fashion_mnist":
        files = []
        for stems in _FMNIST_FILES.values():
            for folder in _fashion_mnist_candidates(root):
                found = [_find_idx(folder, stem) for stem in stems]
                if all(found):
                    files += found
                    break
        return files
    if name == "cifar10":
        folder = _cifar10_folder(root)
        return sorted(folder.glob("data_batch_*")) + [folder / "test_batch"] if folder else []
    return []


def network_available(host: str = "github.com", timeout: float = 3.0) -> bool:
    """True when ``host:443`` answers within ``timeout`` s (``TVCLAB_OFFLINE=1`` forces False)."""
    if os.environ.get("TVCLAB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- Fashion-MNIST (IDX files)

def _read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file (gzipped or not): big-endian magic, dims, then uint8 data (the MNIST format). A truncated or
    corrupt file (a cut or damaged ``.gz``, fewer or more bytes than its header states) raises ``DataFileError``
    naming it."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise _damaged(path, f"{_kind(e)}: {e}") from None
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise _damaged(path, f"not an IDX file of the expected kind: magic {got}, expected {magic}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _damaged(path, f"truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    need = int(np.prod(dims))
    if len(raw) - header != need:
        short = len(raw) - header < need
        raise _damaged(path, f"{'truncated' if short else 'too long'}: its header states {' x '.join(map(str, dims))}"
                             f" = {need} bytes of data, it holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, count=need, offset=header).reshape(dims)


class DataFileError(ValueError):
    """A data file that is there but cannot be read (truncated, corrupt, not of its kind); the message names it and
    the fix."""


def _kind(e: BaseException) -> str:
    """An exception's type as the user would look it up: ``EOFError``, ``zlib.error``, ``gzip.BadGzipFile``."""
    t = type(e)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def _damaged(path: Path, why: str) -> DataFileError:
    """The error of a damaged data file, with the fix for where it lies (the Debian copy, the download cache, a
    folder of the user's)."""
    path = Path(path)
    if DEBIAN_FASHION_MNIST in path.parents:
        fix = "reinstall it: apt-get install --reinstall dataset-fashion-mnist"
    elif download_root() in path.parents:
        fix = f"delete it so that the next run downloads it again into {download_root()} (needs a network)"
    else:
        fix = "replace it with a good copy of that file"
    return DataFileError(f"data file {path} is truncated or corrupt ({why}); {fix}")


def _find_idx(folder: Path, stem: str) -> Path | None:
    for cand in (folder / f"{stem}.gz", folder / stem):
        if cand.is_file():
            return cand
    return None


def _fashion_mnist_candidates(root) -> list[Path]:
    """The explicit folder's three layouts, or (none given) the Debian path and the download cache."""
    if explicit_root(root):
        d = explicit_root(root)[0]
        return [d / "fashion-mnist", d, d / "FashionMNIST" / "raw"]
    return [DEBIAN_FASHION_MNIST, download_root() / "FashionMNIST" / "raw"]


def _fashion_mnist_arrays(split: str, root):
    img_stem, lab_stem = _FMNIST_FILES[split]
    for folder in _fashion_mnist_candidates(root):
        img, lab = _find_idx(folder, img_stem), _find_idx(folder, lab_stem)
        if img and lab:
            return _cached(("fashion_mnist", str(img), split), lambda: _read_fmnist(img, lab)) + (str(folder),)
    searched = ", ".join(str(p) for p in _fashion_mnist_candidates(root))
    if explicit_root(root):
        raise _not_in_explicit("Fashion-MNIST", root, f"{img_stem}[.gz] and {lab_stem}[.gz]",
                               _fashion_mnist_candidates(root),
                               "put the four IDX files there (directly, under fashion-mnist/, or unzipped under "
                               "FashionMNIST/raw/) or correct the path (`apt-get install -y dataset-fashion-mnist` "
                               f"puts them in {DEBIAN_FASHION_MNIST}/)")
    if network_available():
        import torchvision

        try:
            torchvision.datasets.FashionMNIST(str(download_root()), train=split == "train", download=True)
        except Exception as e:  # noqa: BLE001 - any download failure ends in the same advice
            raise ValueError(f"Fashion-MNIST not found in: {searched}; torchvision's download failed ({e}). "
                             f"Fix: {FASHION_MNIST_FIX}.") from e
        return _fashion_mnist_arrays(split, root)
    raise ValueError(f"Fashion-MNIST {split} files ({img_stem}.gz, {lab_stem}.gz) not found in: {searched}; "
                     f"no network for a download. Fix: {FASHION_MNIST_FIX}.")


def _read_fmnist(img: Path, lab: Path):
    images = torch.from_numpy(_read_idx(img, 2051).copy()).unsqueeze(1)  # [N,1,28,28] uint8
    labels = torch.from_numpy(_read_idx(lab, 2049).astype(np.int64))
    if len(images) != len(labels):
        raise ValueError(f"{img} has {len(images)} images but {lab} has {len(labels)} labels")
    return images, labels


def _cached(key, build):
    return memo.get("data", key, build)


# ---------------------------------------------------------------- CIFAR-10 (python pickles)

def _cifar10_candidates(root) -> list[Path]:
    d = _data_dirs(root)[0] if explicit_root(root) else download_root()
    return [d / "cifar-10-batches-py", d]


def _cifar10_folder(root) -> Path | None:
    for cand in _cifar10_candidates(root):
        if (cand / "test_batch").is_file() and any(cand.glob("data_batch_*")):
            return cand
    return None


def _cifar10_arrays(split: str, root):
    folder = _cifar10_folder(root)
    if folder is None and explicit_root(root):
        raise _not_in_explicit("CIFAR-10 not found", root, "cifar-10-batches-py/ with data_batch_1..5 and test_batch",
                               _cifar10_candidates(root),
                               "unpack cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html so "
                               "that <path>/cifar-10-batches-py/ exists, or correct the path")
    if folder is None and network_available():
        import torchvision

        try:
            torchvision.datasets.CIFAR10(str(download_root()), train=split == "train", download=True)
        except Exception as e:  # noqa: BLE001 - fall through to the advice below
            print(f"tvclab.data: torchvision's CIFAR-10 download failed ({e})")
        folder = _cifar10_folder(root)
    if folder is None:
        searched = ", ".join(str(d) for d in _cifar10_candidates(root))
        raise ValueError(
            f"CIFAR-10 not found (looked for cifar-10-batches-py/ with data_batch_1..5 and test_batch in: {searched}) "
            "and no network for torchvision's download. Fix: unpack cifar-10-python.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html so that <DIR>/cifar-10-batches-py/ exists, then pass "
            "root=<DIR> or set TVCLAB_DATA=<DIR>.")
    return _cached(("cifar10", str(folder), split), lambda: _read_cifar10(folder, split)) + (str(folder),)


def _read_cifar10(folder: Path, split: str):
    if split == "train":
        files = sorted(folder.glob("data_batch_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    else:
        files = [folder / "test_batch"]
    xs, ys = [], []
    for f in files:
        try:
            with open(f, "rb") as fh:
                batch = pickle.load(fh, encoding="bytes")
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))  # rows: R, G, B planes
            ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
        except (EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
            raise _damaged(f, f"{_kind(e)}: {e}") from None
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


# ---------------------------------------------------------------- ImageNet (ImageFolder)

def _imagenet(split: str, root, image_size: int) -> Dataset:
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder

    sub = {"train": "train", "val": "train", "test": "val"}[split]
    cands = [d / "imagenet" / sub for d in _data_dirs(root)] + [d / sub for d in _data_dirs(root)]
    folder = next((c for c in cands if c.is_dir()), None)
    if folder is None and explicit_root(root):
        raise _not_in_explicit(f"ImageNet {split}", root, f"{sub}/<class>/*.JPEG (or imagenet/{sub}/...)", cands,
                               f"point it at the folder that holds {sub}/ with one subfolder per class")
    if folder is None:
        raise ValueError(f"ImageNet {split} folder not found (looked in: {', '.join(map(str, cands)) or 'nothing'}). "
                         f"Fix: pass root=<DIR> (or set TVCLAB_DATA=<DIR>) where <DIR>/{sub}/<class>/*.JPEG "
                         "(or <DIR>/imagenet/{sub}/...) exists, one subfolder per class.")
    tf = T.Compose([T.Resize(image_size), T.CenterCrop(image_size), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    ds = ImageFolder(str(folder), transform=tf, loader=_rgb)
    if split == "test":
        ds.indices, ds.validation = None, None
    else:  # val / train rest: a fixed subset of the official train/ folder (too big to hold in memory)
        validation = validation_split("imagenet", len(ds))
        ds = Subset(ds, carve_validation("imagenet", len(ds))[split].tolist())  # .indices: official positions
        ds.validation = validation
    ds.name, ds.split, ds.source, ds.channels, ds.image_size = "imagenet", split, str(folder), 3, image_size
    return ds


def _rgb(path):
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


# ---------------------------------------------------------------- generated stand-in

SYNTHETIC_SIZES = {"train": 6000, "test": 1000}
SYNTHETIC_SOURCE = "synthetic stand-in (seeded generated images, NOT a real data set)"


def _synthetic_arrays(split: str):
    """10 classes of 28x28 grayscale images: class k is a sinusoidal grating at angle k * 18 degrees (period 6 px)
    under a Gaussian envelope on a -1 background, with random phase, envelope position (+-3 px), contrast and
    pixel noise (seed 1 for train, 2 for test). Learnable, but not real images."""
    def build():
        g = torch.Generator().manual_seed({"train": 1, "test": 2}[split])
        n = SYNTHETIC_SIZES[split]
        labels = torch.randint(0, 10, (n,), generator=g)
        theta = labels.float() * torch.pi / 10
        phase = torch.rand(n, generator=g) * 2 * torch.pi
        cx, cy = (13.5 + 6 * (torch.rand(2, n, generator=g) - 0.5))
        contrast = 0.6 + 0.4 * torch.rand(n, generator=g)
        yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
        along = xx * torch.cos(theta).view(n, 1, 1) + yy * torch.sin(theta).view(n, 1, 1)
        grating = 0.5 + 0.5 * torch.sin(2 * torch.pi * along / 6 + phase.view(n, 1, 1))
        envelope = torch.exp(-((xx - cx.view(n, 1, 1)) ** 2 + (yy - cy.view(n, 1, 1)) ** 2) / (2 * 6.0**2))
        x = 2 * contrast.view(n, 1, 1) * envelope * grating - 1 + 0.1 * torch.randn(n, 28, 28, generator=g)
        images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).unsqueeze(1)
        return images, labels
    if memo.once("synthetic data"):
        print(f"tvclab.data: 'synthetic' is a {SYNTHETIC_SOURCE}; use fashion_mnist for real numbers.")
    return _cached(("synthetic", "", split), build) + (SYNTHETIC_SOURCE,)
