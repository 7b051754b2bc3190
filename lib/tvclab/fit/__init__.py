"""The one way the suite trains anything: ``fit`` (the loop: step, log, evaluate, checkpoint, resume), its
optimiser and learning-rate schedule (``optim``), and the data order as a pure function of (seed, step)
(``batches``). Both training stages (``tvclab.train``), the toy flows, the FD-clf classifier and later stages use it;
it imports nothing of theirs."""
from .batches import Batches, iterate, used_indices
from .loop import NonFiniteError, fit, nonfinite, optimizer_step
from .optim import build_optimizer, lr_at, set_lr

__all__ = ["Batches", "iterate", "used_indices", "fit", "NonFiniteError", "nonfinite", "optimizer_step", "build_optimizer", "lr_at", "set_lr"]
