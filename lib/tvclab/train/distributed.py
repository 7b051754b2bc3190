"""One entry point for one and many processes (nanoGPT's train.py): under ``torchrun`` the environment carries
RANK / WORLD_SIZE / LOCAL_RANK; we join a process group (gloo on CPU, nccl on GPU), wrap the model in
DistributedDataParallel and let only rank 0 write files.
"""
from __future__ import annotations

import gc
import os
from datetime import timedelta
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # we initialised the process group (and must destroy it)

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Dist:
    """Read the torchrun environment and join the process group when WORLD_SIZE > 1. A ``device`` this machine
    does not have raises ``faults.DeviceError`` (one line naming it and the fix)."""
    from .faults import check_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    check_device(device, local)
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        dev = torch.device("cuda", local if world > 1 else torch.cuda.current_device())
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = True  # authors' code: use_tf32
        torch.backends.cudnn.allow_tf32 = True
    else:
        dev = torch.device(device if device not in ("auto", "cuda") else "cpu")
    owns = False
    if world > 1 and not dist.is_initialized():
        # long timeout: rank 0 alone encodes data sets / evaluates while the others wait at a barrier
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", timeout=timedelta(hours=2))
        owns = True
    return Dist(rank, world, local, dev, owns)


def wrap(model: torch.nn.Module, d: Dist) -> torch.nn.Module:
    """DDP around ``model`` (no-op in one process). Buffers are not broadcast from rank 0 at every forward: the
    suite's buffers are constants or per-process counts that are summed explicitly (the VQ usage count of the
    dead-code restart), which a broadcast would overwrite."""
    if not d.distributed:
        return model
    return DDP(model, device_ids=[d.device.index] if d.device.type == "cuda" else None, broadcast_buffers=False)


def barrier(d: Dist) -> None:
    if d.distributed:
        dist.barrier()


def all_gather_objects(obj, d: Dist) -> list:
    if not d.distributed:
        return [obj]
    out = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(t: torch.Tensor, d: Dist) -> torch.Tensor:
    """Sum ``t`` over the process group in place (a no-op in one process); returns it."""
    if d.distributed:
        dist.all_reduce(t)
    return t


def broadcast_object(obj, d: Dist):
    if not d.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def teardown(d: Dist, clean: bool = True) -> None:
    """Leave the process group. The stages drop their model/optimizer references (``del model, optimizer``) before
    returning; ``gc.collect()`` before ``destroy_process_group`` then stops the ~1-in-10 SIGABRT at exit seen under
    DDP on gloo. ``clean=False`` (after an error) skips the final barrier, which the other ranks may never reach."""
    gc.collect()
    if d.owns_group and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()
