"""tvclab.data: file formats read through the real code paths, ranges, padding, the validation split carved from
train, and the errors that name the fix."""
from __future__ import annotations

import gzip
import hashlib
import pickle
import struct

import numpy as np
import pytest
import torch

from tvclab import data, memo


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No Debian copy, no network, no download cache, no TVCLAB_DATA: only what the test writes exists."""
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setenv("TVCLAB_OFFLINE", "1")
    monkeypatch.setenv("TVCLAB_DOWNLOAD_ROOT", str(tmp_path / "no-download"))
    monkeypatch.delenv("TVCLAB_DATA", raising=False)
    memo.clear("data")
    return tmp_path


def write_idx(path, arr: np.ndarray, magic: int):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def write_fmnist(folder, n=7, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    imgs, labs = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
    for split, (img, lab) in data._FMNIST_FILES.items():
        write_idx(folder / f"{img}.gz", imgs, 2051)
        write_idx(folder / f"{lab}.gz", labs, 2049)
    return imgs, labs


def write_cifar(folder, n_per_batch=4, batches=2, seed=0):
    """Files in the real CIFAR-10 python-pickle format: dicts with b'data' (N x 3072 uint8, R/G/B planes) and b'labels'."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in [f"data_batch_{i}" for i in range(1, batches + 1)] + ["test_batch"]:
        x = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"data": x, b"labels": y, b"filenames": []}, f)
        out[name] = (x, y)
    return out


def test_cifar10_reads_test_written_pickles(offline):
    written = write_cifar(offline / "cifar-10-batches-py", batches=2)
    train = data.load("cifar10", "train", root=offline)
    val = data.load("cifar10", "val", root=offline)
    test = data.load("cifar10", "test", root=offline)
    assert (len(train), len(val), len(test)) == (7, 1, 4)  # 8 official train images: 10% (rounded) carved as val
    i = [k for k, pos in enumerate(train.indices.tolist()) if pos >= 4][1]  # second image of data_batch_2 in train
    pos = int(train.indices[i])
    x, y = train[i]
    raw_x, raw_y = written["data_batch_2"]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and isinstance(y, int) and y == raw_y[pos - 4]
    expect = torch.from_numpy(raw_x[pos - 4].reshape(3, 32, 32).astype(np.float32)) / 127.5 - 1
    assert torch.allclose(x, expect)


def test_cifar10_via_env_and_missing_error(offline, monkeypatch):
    with pytest.raises(ValueError, match="cifar-10-batches-py.*TVCLAB_DATA"):
        data.load("cifar10", "train")
    write_cifar(offline / "cifar-10-batches-py")
    monkeypatch.setenv("TVCLAB_DATA", str(offline))
    assert len(data.load("cifar10", "test")) == 4


def test_fashion_mnist_missing_says_what_to_run(offline):
    with pytest.raises(ValueError, match=r"apt-get install -y dataset-fashion-mnist.*TVCLAB_DATA"):
        data.load("fashion_mnist", "train", root=offline / "empty")


@pytest.mark.parametrize("layout", ["fashion-mnist", ".", "FashionMNIST/raw"])
def test_fashion_mnist_tvclab_data_layouts(offline, monkeypatch, layout):
    imgs, labs = write_fmnist(offline / "d" / layout)
    monkeypatch.setenv("TVCLAB_DATA", str(offline / "d"))
    ds = data.load("fashion_mnist", "test")
    x, y = ds[3]
    assert len(ds) == 7 and y == labs[3]
    assert torch.allclose(x[0], torch.from_numpy(imgs[3].astype(np.float32)) / 127.5 - 1)


def test_fashion_mnist_pad_to_32_uses_background(offline):
    write_fmnist(offline / "d")
    x28, _ = data.load("fashion_mnist", "train", root=offline / "d")[0]
    x32, _ = data.load("fashion_mnist", "train", root=offline / "d", image_size=32)[0]
    assert x32.shape == (1, 32, 32) and torch.equal(x32[:, 2:30, 2:30], x28)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (x32[0][border] == -1).all()
    x16, _ = data.load("fashion_mnist", "train", root=offline / "d", image_size=16)[0]
    assert x16.shape == (1, 16, 16) and x16.min() >= -1 and x16.max() <= 1


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_counts_and_range():
    train, val, test = (data.load("fashion_mnist", s) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (55000, 5000, 10000)
    x, y = test.tensors(256)
    assert x.shape == (256, 1, 28, 28) and x.min() == -1 and x.max() == 1
    assert set(torch.bincount(test.labels).tolist()) == {1000}


def test_synthetic_stand_in_is_seeded_and_labelled():
    a, b = data.load("synthetic", "test"), data.load("synthetic", "test")
    assert "stand-in" in a.source and "NOT a real" in a.source
    assert torch.equal(a.images, b.images) and len(torch.unique(a.labels)) == 10
    x, y = a[0]
    assert x.shape == (data.channels("synthetic"), 28, 28) and -1 <= x.min() and x.max() <= 1


def test_names_sizes_and_errors():
    assert set(data.DATASETS) == {"fashion_mnist", "cifar10", "imagenet", "synthetic"}
    assert (data.channels("fashion_mnist"), data.channels("cifar10")) == (1, 3)
    assert (data.native_size("fashion_mnist"), data.native_size("cifar10")) == (28, 32)
    with pytest.raises(ValueError, match="valid names: fashion_mnist, cifar10"):
        data.load("mnist", "train")
    with pytest.raises(ValueError, match="image_size"):
        data.load("synthetic", "train", image_size=0)
    with pytest.raises(ValueError, match="needs image_size"):
        data.load("imagenet", "train")
    with pytest.raises(ValueError, match="unknown split 'valid'.*train.*val.*test"):
        data.load("synthetic", "valid")


def test_imagenet_imagefolder_center_crop(offline):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("n01", "n02"):
        (offline / "val" / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(offline / "val" / cls / f"{i}.png")
    ds = data.load("imagenet", "test", root=offline, image_size=16)
    x, y = ds[3]
    assert len(ds) == 4 and x.shape == (3, 16, 16) and y == 1 and -1 <= x.min() and x.max() <= 1
    with pytest.raises(ValueError, match="ImageFolder|class"):
        data.load("imagenet", "train", root=offline, image_size=16)
    for cls in ("n01", "n02"):  # an official train/ folder of 20 images: val is 2 of them, the rest 18
        (offline / "train" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(offline / "train" / cls / f"{i}.png")
    train = data.load("imagenet", "train", root=offline, image_size=16)
    val = data.load("imagenet", "val", root=offline, image_size=16)
    assert (len(train), len(val)) == (18, 2) and sorted(train.indices + val.indices) == list(range(20))
    assert val.validation == data.validation_split("imagenet", 20) and val[0][0].shape == (3, 16, 16)


# ---------------------------------------------------------------- the validation split (docs/protocol.md)

def content_hashes(images: torch.Tensor) -> list[str]:
    return [hashlib.sha256(x.numpy().tobytes()).hexdigest() for x in images]


def check_carve(name: str, official: torch.Tensor, n_val: int):
    """val and train are disjoint from each other and from test (by image content), together they are the official
    training split (as a multiset of images, and position by position through ``.indices``), sizes as documented."""
    train, val, test = (data.load(name, s) for s in data.SPLITS)
    assert (len(val), len(train)) == (n_val, len(official) - n_val)
    h_train, h_val, h_test = (content_hashes(d.images) for d in (train, val, test))
    assert len(set(h_val)) == len(h_val)  # no duplicate images inside these sets, so disjoint sets are a real check
    assert not set(h_val) & set(h_train) and not set(h_val) & set(h_test) and not set(h_train) & set(h_test)
    assert sorted(h_train + h_val) == sorted(content_hashes(official))
    assert torch.equal(torch.sort(torch.cat([train.indices, val.indices])).values, torch.arange(len(official)))
    assert torch.equal(val.images, official[val.indices]) and torch.equal(train.images, official[train.indices])
    info = data.validation_split(name)
    assert info == val.validation == train.validation
    assert (info["size"], info["seed"], info["carved_from"], info["n_train_rest"]) == (
        n_val, data.VAL_SEED, "train", len(official) - n_val)


def test_synthetic_validation_split_is_disjoint_and_complete():
    check_carve("synthetic", data._synthetic_arrays("train")[0], n_val=600)  # 10% of 6000


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_validation_split_is_disjoint_and_complete():
    check_carve("fashion_mnist", data._fashion_mnist_arrays("train", None)[0], n_val=5000)


def test_validation_split_is_seeded(monkeypatch):
    a = data.load("synthetic", "val")
    memo.clear("data")
    b = data.load("synthetic", "val")
    assert torch.equal(a.indices, b.indices) and torch.equal(a.images, b.images)
    assert data.validation_split("synthetic")["val_indices_sha256"] == a.validation["val_indices_sha256"]
    monkeypatch.setattr(data, "VAL_SEED", 1)
    other = data.carve_validation("synthetic", 6000)["val"]
    assert len(other) == 600 and not torch.equal(other, a.indices)
    assert data.validation_split("synthetic")["seed"] == 1


def test_validation_sizes_as_documented():
    assert data.VAL_SEED == 0
    sizes = {name: data.validation_split(name)["size"] for name in data.DATASETS}
    assert sizes == {"fashion_mnist": 5000, "cifar10": 5000, "imagenet": 10000, "synthetic": 600}
    assert data.validation_split("cifar10")["n_train_rest"] == 45000
    assert data.val_size("cifar10", 8) == 1 and data.val_size("fashion_mnist", 20000) == 2000  # capped at 10%
