"""What one process keeps in memory, in one place: loaded data arrays, metric backbones, the FD-clf classifier,
the notices printed once, the LPIPS-in-the-loss state. ``table(name)`` is one namespace (a dict); ``clear()``
forgets everything (tests start from a clean process state with it).

Everything on disk lives under the roots of ``tvclab.paths``; nothing here outlives the process.
"""
from __future__ import annotations

from typing import Callable

_STORE: dict[str, dict] = {}
NAMESPACES = {
    "data": "decoded data arrays per (kind, path, split) (tvclab.data)",
    "lpips": "LPIPS networks per (net, weights, device) (tvclab.metrics.perceptual)",
    "classifier": "loaded FD-clf classifiers per checkpoint (tvclab.classifier)",
    "notices": "messages already printed once",
    "lpips_loss": "whether the reconstruction loss could use LPIPS (tvclab.losses)",
}


def table(name: str) -> dict:
    if name not in NAMESPACES:
        raise ValueError(f"unknown memo namespace {name!r}; namespaces: {', '.join(NAMESPACES)}")
    return _STORE.setdefault(name, {})


def get(name: str, key, build: Callable[[], object]):
    """``build()`` once per process for ``key`` in namespace ``name``."""
    t = table(name)
    if key not in t:
        t[key] = build()
    return t[key]


def once(message: str) -> bool:
    """True the first time ``message`` is seen in this process (print it then)."""
    t = table("notices")
    if message in t:
        return False
    t[message] = True
    return True


def clear(name: str | None = None) -> None:
    if name is None:
        _STORE.clear()
    else:
        table(name).clear()
