"""Node: load the five LivePortrait networks."""
from __future__ import annotations

from ..liveportrait_core.pipeline.precision import PRECISIONS
from ..liveportrait_core.weights.files import HUB_REPO_ID, VARIANTS
from .choices import check_choices
from .comfy import io
from .folders import WEIGHTS
from .models import load_models
from .sockets import CATEGORY, Models


class LoadModels(io.ComfyNode):
    """Load LivePortrait Models."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LoadModels",
            display_name="Load LivePortrait Models",
            category=CATEGORY,
            description=(
                f"Loads the five LivePortrait networks (official .pth or converted .safetensors) from models/{WEIGHTS}/ or a "
                f"'{WEIGHTS}' folder of extra_model_paths.yaml, in the hub layout or flat as ComfyUI-LivePortraitKJ keeps "
                f"them (animals: its animal/ subfolder). Missing files are downloaded from {HUB_REPO_ID} when allowed; "
                f"animals never load human files kept flat."
            ),
            inputs=[
                io.Combo.Input("variant", options=list(VARIANTS), default="human",
                               tooltip="human: people and painted or sculpted faces; animals: cats and dogs (the animal checkpoints)."),
                io.Combo.Input("precision", options=list(PRECISIONS), default="auto",
                               tooltip="Compute precision. auto: fp16 on NVIDIA GPUs (the official default, closest to fp32 and as fast as bf16); fp32 on CPU. On CPUs with AMX (Xeon 4th gen and later) choose bf16: about 4x faster."),
                io.Boolean.Input("download", default=True,
                                 tooltip=f"Fetch missing weights from huggingface.co/{HUB_REPO_ID}. Off, or offline "
                                         "(HF_HUB_OFFLINE=1), missing weights are an error naming the folder and files."),
                io.Boolean.Input("compile", default=False, optional=True,
                                 tooltip="GPU: torch.compile the warping module and the generator (inductor): "
                                         "the first render waits while they compile, later ones run faster in "
                                         "bf16/fp16. Falls back to eager with a warning where compiling is not "
                                         "supported. On the CPU it changes nothing (eager runs as fast); the fastest "
                                         "CPU route is precision bf16 on CPUs with AMX."),
            ],
            outputs=[Models.Output(display_name="models", tooltip="The loaded networks, for every other LivePortrait node.")],
        )

    @classmethod
    def validate_inputs(cls, variant: str, precision: str) -> bool | str:
        return check_choices(cls, variant=variant, precision=precision)

    @classmethod
    def execute(cls, variant: str, precision: str, download: bool, compile: bool | None = False) -> io.NodeOutput:
        return io.NodeOutput(load_models(variant, precision, download, bool(compile)))
