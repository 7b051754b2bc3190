"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, with an explicit error when backbone weights are absent.

``lpips`` ships its small linear heads (``lpips/weights/v0.1/<net>.pth``) but loads the ImageNet backbone through
torchvision from ``$TORCH_HOME/hub/checkpoints/`` (default ``~/.cache/torch/hub/checkpoints/``). Without that file
``lpips_distance`` raises ``LPIPSUnavailableError`` instead of trying a download; the reconstruction loss catches
exactly that class and drops the LPIPS term with a notice (README, "Metrics without network").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tvclab import memo

from .fidelity import hub_checkpoints

BACKBONE_WEIGHTS = {"vgg": "vgg16-397923af.pth", "alex": "alexnet-owt-7be5be79.pth",
                    "squeeze": "squeezenet1_1-b8a52dc0.pth"}
MIN_SIZE = 32  # alex and squeeze reject inputs under 32 px; smaller images are upsampled bilinearly


class LPIPSUnavailableError(RuntimeError):
    """The LPIPS backbone weights are not in the torch hub cache."""


def lpips_weights_path(net: str = "vgg"):
    if net not in BACKBONE_WEIGHTS:
        raise ValueError(f"net must be one of {', '.join(BACKBONE_WEIGHTS)}, got {net!r}")
    return hub_checkpoints() / BACKBONE_WEIGHTS[net]


def lpips_model(net: str = "vgg", device="cpu"):
    """The frozen ``lpips.LPIPS(net=net)`` module, built once per (net, device) in this process."""
    path = lpips_weights_path(net)
    if not path.is_file():
        raise LPIPSUnavailableError(
            f"LPIPS-{net} needs the torchvision ImageNet backbone {path.name}; it is not in {path.parent}. "
            f"Fix: copy {path.name} to {path} (from a machine with a network: "
            f"python -c \"import torchvision; torchvision.models.{'vgg16' if net == 'vgg' else net}(weights='DEFAULT')\""
            f" fills that cache), or set TORCH_HOME to a folder holding hub/checkpoints/{path.name}.")
    key = (net, str(path), str(device))
    def build():
        import warnings

        import lpips

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's "pretrained is deprecated"
            model = lpips.LPIPS(net=net, verbose=False)
        return model.eval().requires_grad_(False).to(device)

    return memo.get("lpips", key, build)


def lpips_distance(a: torch.Tensor, b: torch.Tensor, net: str = "vgg") -> torch.Tensor:
    """Per-image LPIPS [B] between images [B,C,H,W] in [-1, 1] (Zhang et al. 2018, eq. 1), differentiable in a, b.

    Grayscale is repeated to 3 channels; images under 32 px are upsampled bilinearly to 32 first.
    Raises LPIPSUnavailableError (naming the file and folder) when the backbone weights are absent.
    """
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"a and b must be equal-shape [B,C,H,W], got {tuple(a.shape)} and {tuple(b.shape)}")
    model = lpips_model(net, a.device)
    if a.shape[1] == 1:
        a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
    if min(a.shape[-2:]) < MIN_SIZE:
        a = F.interpolate(a, size=(MIN_SIZE, MIN_SIZE), mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=(MIN_SIZE, MIN_SIZE), mode="bilinear", align_corners=False)
    return model(a, b).flatten()
