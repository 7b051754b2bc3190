"""Data order as a pure function of (seed, step): resuming at any step reproduces the batches exactly, and 1 or N
processes see the same global batch (each rank takes a contiguous 1/N slice of it).

Epoch e is a permutation of the data set drawn from the "batches" stream of (seed, e); step s reads slice
s mod (N // B) of epoch s // (N // B) (the incomplete last batch of an epoch is dropped).
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from tvclab.streams import generator


class Batches:
    """Global-batch indices for any step; ``fetch`` returns this rank's share as tensors on ``device``."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 limit: int = 0):
        self.dataset = dataset
        self.n = len(dataset) if not limit else min(limit, len(dataset))
        if batch_size > self.n:
            raise ValueError(f"batch size {batch_size} exceeds the {self.n} training examples")
        if batch_size % world:
            raise ValueError(f"global batch {batch_size} is not divisible by the {world} processes")
        self.batch, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.per_epoch = self.n // batch_size
        self._perm_epoch, self._perm = None, None
        # in-memory data sets (tvclab.data.ImageTensorDataset) are read in one piece; others item by item
        self._images = self._labels = None
        if hasattr(dataset, "tensors"):
            self._images, self._labels = dataset.tensors(self.n)

    def indices(self, step: int) -> torch.Tensor:
        epoch, b = divmod(step, self.per_epoch)
        if epoch != self._perm_epoch:
            self._perm = torch.randperm(self.n, generator=generator(self.seed, "batches", epoch))
            self._perm_epoch = epoch
        idx = self._perm[b * self.batch : (b + 1) * self.batch]
        per = self.batch // self.world
        return idx[self.rank * per : (self.rank + 1) * per]

    def fetch(self, step: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.indices(step)
        if self._images is not None:
            x, y = self._images[idx], self._labels[idx]
        else:
            items = [self.dataset[int(i)] for i in idx]
            x = torch.stack([it[0] for it in items])
            y = torch.tensor([int(it[1]) for it in items])
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


class _Sized:
    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


def used_indices(n: int, batch_size: int, seed: int, steps: int) -> torch.Tensor | None:
    """The sorted indices of the examples a run of ``steps`` global batches over ``n`` examples reads (the same
    order as ``Batches``), or None when it reads every example (a full epoch or more): what is worth preparing."""
    b = Batches(_Sized(n), batch_size, seed)
    if steps >= b.per_epoch:
        return None
    return torch.unique(torch.cat([b.indices(s) for s in range(steps)]))


class _StepSampler(Sampler):
    """Yields this rank's index list for steps start..stop-1 (a batch_sampler for DataLoader workers)."""

    def __init__(self, batches: Batches, start: int, stop: int):
        self.batches, self.start, self.stop = batches, start, stop

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.batches.indices(step).tolist()

    def __len__(self) -> int:
        return self.stop - self.start


def iterate(batches: Batches, start: int, stop: int, device, num_workers: int = 0):
    """(x, y) for steps start..stop-1: straight from memory for in-memory data sets, else through a DataLoader with
    ``num_workers`` worker processes (ImageNet at the paper tier), in the same order."""
    if batches._images is not None or num_workers <= 0:
        for step in range(start, stop):
            yield batches.fetch(step, device)
        return
    loader = DataLoader(batches.dataset, batch_sampler=_StepSampler(batches, start, stop), num_workers=num_workers,
                        pin_memory=torch.device(device).type == "cuda")
    for x, y in loader:
        yield x.to(device, non_blocking=True), torch.as_tensor(y).to(device, non_blocking=True)
