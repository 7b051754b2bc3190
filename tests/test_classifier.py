"""tvclab.classifier: config hashing, cache location, determinism, size handling, the train command."""
from __future__ import annotations

import pytest
import torch

from tvclab import classifier as clf
from tvclab import data, memo

TINY = clf.ClassifierConfig(dataset="synthetic", width=8, feature_dim=16, steps=60, batch_size=64, lr=5e-3)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TVCLAB_CACHE", str(tmp_path))
    memo.clear("classifier")
    return tmp_path


def test_hash_covers_every_field_and_names_the_checkpoint(cache):
    assert TINY.hash() == clf.ClassifierConfig(**vars(TINY)).hash()
    assert TINY.hash() != clf.ClassifierConfig(**{**vars(TINY), "steps": 61}).hash()
    assert clf.checkpoint_path(TINY) == cache / "classifier" / f"synthetic-{TINY.hash()}.pt"
    assert clf.train_command(TINY).startswith("python -m tvclab.classifier train --dataset synthetic --width 8")


def test_tiny_training_is_seeded_cached_and_learns(cache, capsys):
    with pytest.raises(FileNotFoundError, match="python -m tvclab.classifier train --dataset synthetic"):
        clf.load_classifier(config=TINY, train_if_missing=False)
    model = clf.load_classifier(config=TINY, progress=False)  # missing: trains with a notice
    assert "training it now" in capsys.readouterr().out
    assert clf.checkpoint_path(TINY).is_file()
    assert model.test_accuracy > 0.5  # 10 classes: chance is 0.1
    ckpt = torch.load(clf.checkpoint_path(TINY), weights_only=True)
    assert ckpt["hash"] == TINY.hash() and "stand-in" in ckpt["data_source"]
    memo.clear("classifier")
    again = clf.train_classifier(TINY, progress=False)  # same seed -> the same weights
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    memo.clear("classifier")
    loaded = clf.load_classifier(config=TINY)
    x, _ = data.load("synthetic", "test").tensors(64)
    assert torch.equal(loaded(x), again.eval()(x))


def test_accepts_28_and_padded_32_inputs(cache):
    model = clf.DataClassifier(TINY).eval()
    x28, _ = data.load("synthetic", "test").tensors(8)
    x32, _ = data.load("synthetic", "test", image_size=32).tensors(8)
    assert torch.equal(model.features(x28), model.features(x32))  # 32 px is the -1 padded 28: cropped back
    assert model.features(torch.zeros(2, 1, 64, 64)).shape == (2, TINY.feature_dim)
    with pytest.raises(ValueError, match="expects"):
        model(torch.zeros(2, 3, 28, 28))


def test_train_command_line(cache, capsys):
    assert clf.main(["train", "--dataset", "synthetic", "--width", "4", "--feature-dim", "8", "--steps", "3",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "synthetic-" in out
    assert clf.main(["train", "--dataset", "synthetic", "--width", "4", "--feature-dim", "8", "--steps", "3"]) == 0
    assert "exists" in capsys.readouterr().out
