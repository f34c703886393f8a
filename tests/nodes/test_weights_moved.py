"""When ComfyUI moves the LivePortrait weights, ``LoadedModels.on_weights_moved`` callers hear of it: checked against
ComfyUI's own model management (its real ``ModelPatcher`` and ``load_models_gpu``) in a subprocess, where a partial
unload can be made by hand, which no prompt does on the CPU test host."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.support.comfy_server import COMFYUI, REPO, require_comfyui

SCRIPT = textwrap.dedent("""
    import sys, types
    import comfy.options
    comfy.options.enable_args_parsing()
    sys.argv = ["test", "--cpu"]
    import torch
    import comfy.model_management as mm
    from comfy.model_patcher import ModelPatcher

    pack = types.ModuleType("lpk_under_test")
    pack.__path__ = [REPO]
    sys.modules["lpk_under_test"] = pack
    from lpk_under_test.nodes.models import LoadedModels

    cpu = torch.device("cpu")
    patcher = ModelPatcher(torch.nn.ModuleDict({"w": torch.nn.Linear(64, 64)}), load_device=cpu, offload_device=cpu)
    models = LoadedModels(engine=None, patcher=patcher)
    moved = []
    models.ready()
    models.on_weights_moved("test", lambda: moved.append("a"))
    models.on_weights_moved("test", lambda: moved.append("twice"))  # the same key: kept once
    models.ready()
    models.ready()
    print("asked again while loaded", len(moved))
    patcher.partially_unload(cpu, 1 << 30)  # what free_memory does to make room for another model
    models.ready()
    print("loaded again after a partial unload", len(moved))
    mm.unload_all_models()  # /free with unload_models
    print("unloaded whole", len(moved))
    models.ready()
    print("loaded after that", len(moved), sorted(set(moved)))
""")


def test_moving_the_weights_calls_back_and_asking_for_loaded_ones_does_not():
    require_comfyui()
    code = f"REPO = {str(REPO)!r}\n" + SCRIPT
    proc = subprocess.run([sys.executable, "-c", code], cwd=COMFYUI, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(COMFYUI)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("asked", "loaded", "unloaded"))]
    assert lines == ["asked again while loaded 0", "loaded again after a partial unload 1", "unloaded whole 2",
                     "loaded after that 3 ['a']"]
