"""The loaded networks as one ComfyUI-managed model: an engine plus the ModelPatcher that moves its weights."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial

from torch import nn

from ..liveportrait_core.acceleration import kept_kernel_bytes
from ..liveportrait_core.pipeline.engine import LivePortraitEngine
from ..liveportrait_core.weights.files import load_networks
from .comfy import CallbacksMP, ModelPatcher, model_management
from .folders import weights_folder


@dataclass(frozen=True)
class LoadedModels:
    """What an ``LPK_MODELS`` socket carries; ``variant`` ("human" or "animals") picks the retargeting pipeline."""

    engine: LivePortraitEngine
    patcher: ModelPatcher
    variant: str = "human"

    @property
    def animals(self) -> bool:
        """Whether these are the animal checkpoints (driven by the official animal pipeline)."""
        return self.variant == "animals"

    def ready(self) -> LivePortraitEngine:
        """Put the weights on the compute device via ComfyUI's model management (again after /free) and return the engine."""
        model_management.load_models_gpu([self.patcher], force_full_load=True)
        return self.engine

    def on_weights_moved(self, key: str, release: Callable[[], None]) -> None:
        """Call ``release()`` whenever ComfyUI moves these weights, so that what was recorded against them (a CUDA
        graph holds their addresses) is dropped: when it unloads them whole (/free, "Unload Models", or room made
        for other models: ``ModelPatcher.detach(unpatch_all=True)``), and when it loads them again after unloading
        a part to make room (``ON_LOAD``). Asking for models that are loaded fires neither. Once per ``key``: a
        second call with the same key keeps the first."""
        if not self.patcher.get_callbacks(CallbacksMP.ON_DETACH, key):
            self.patcher.add_callback_with_key(CallbacksMP.ON_DETACH, key, partial(_on_detach, release))
            self.patcher.add_callback_with_key(CallbacksMP.ON_LOAD, key, lambda *_: release())


def _on_detach(release: Callable[[], None], patcher: ModelPatcher, unpatch_all: bool) -> None:
    """``release()`` on a whole unload only: ``load_models_gpu`` also detaches a model it is asked for again while it
    is loaded (without unpatching, before loading it in place), on every call."""
    if unpatch_all:
        release()


def load_models(variant: str, precision: str, download: bool, compile: bool = False) -> LoadedModels:
    """Load the five networks of ``variant`` from the registered weights folders (downloading when allowed);
    ``compile`` torch.compiles the warping module and the generator on CUDA (nothing on the CPU; see
    :data:`~liveportrait_core.acceleration.runtime.COMPILED_PARTS`)."""
    folder = weights_folder(variant, download)
    networks = load_networks(folder, variant, download=False)
    device = model_management.get_torch_device()
    engine = LivePortraitEngine(networks, device, precision, compile=compile)
    modules = {f.name: getattr(networks, f.name) for f in fields(networks)}
    container = nn.ModuleDict({name: m for name, m in modules.items() if isinstance(m, nn.Module)})
    # the size ComfyUI budgets: the weights plus the transformed kernels a float32 CPU engine keeps beside them
    # (Winograd's and the warping heads' spectra)
    size = model_management.module_size(container) + kept_kernel_bytes(container)
    patcher = ModelPatcher(container, load_device=device, offload_device=model_management.unet_offload_device(),
                           size=size)
    return LoadedModels(engine, patcher, variant)
