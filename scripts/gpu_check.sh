#!/usr/bin/env bash
# GPU checks for a machine with CUDA (run by hand or through the device tool): conformance in strict fp32,
# low-precision deviations, and the benchmark at a few batch sizes. Needs python3 with torch, numpy, scipy,
# safetensors, pillow and pytest, and the conformance folder (LIVEPORTRAIT_SHARED, default ../shared).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 LIVEPORTRAIT_TEST_DEVICE=cuda
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
$PY -m pytest -q -p no:cacheprovider tests/test_networks.py tests/test_precision.py 2>&1 | tail -15
for b in 1 8 32; do $PY scripts/benchmark.py --device cuda --precision bf16 --frames 64 --batch $b; done
$PY scripts/benchmark.py --device cuda --precision fp16 --frames 64 --batch 32
$PY scripts/benchmark.py --device cuda --precision bf16 --frames 64 --batch 32 --compile
