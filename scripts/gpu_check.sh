#!/usr/bin/env bash
# GPU checks for a machine with CUDA, in one go (by hand or through a lent machine): conformance in strict fp32 and
# the low-precision deviations on CUDA, memory against video length (1,000 and 18,000 frames to an mp4), the
# layout/compile probe of warping + generator, the end-to-end benchmark, and the command line's run end to end with
# per-stage figures (scripts/end_to_end.py). Each step has its own time limit and
# its log goes to $OUT (default ./gpu_logs); STEPS picks a subset. Needs python3 with torch, numpy, scipy,
# safetensors, pillow, av, pytest, matplotlib, and the conformance folder (LIVEPORTRAIT_SHARED, default ../shared).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_logs}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 LIVEPORTRAIT_TEST_DEVICE=cuda
SHARED=${LIVEPORTRAIT_SHARED:-../shared}
WEIGHTS=${WEIGHTS:-$HOME/.cache/liveportrait-kit-tests/weights}
[ -f "$WEIGHTS/spade_generator.pth" ] || $PY "$SHARED/conformance/make_weights.py" "$WEIGHTS" > /dev/null
step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.txt
    local name=$1 limit=$2; shift 2
    echo "== $name (limit ${limit}s) =="
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"
}
STEPS=" ${STEPS:-conformance lengths probe benchmark end_to_end} "  # a subset, e.g. STEPS="probe benchmark"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
[[ $STEPS == *" conformance "* ]] &&
    step conformance 90 $PY -m pytest -q -p no:cacheprovider tests/networks/test_networks.py tests/acceleration/test_precision.py \
        tests/acceleration/test_acceleration.py
[[ $STEPS == *" lengths "* ]] && for n in 1000 18000; do
    step "length_$n" 240 $PY scripts/benchmark.py --device cuda --precision bf16 --batch 32 --weights "$WEIGHTS" --length-run $n
done
[[ $STEPS == *" probe "* ]] && step probe 200 $PY scripts/gpu_probe.py --weights "$WEIGHTS" --batch 32
[[ $STEPS == *" benchmark "* ]] &&
    step benchmark 180 $PY scripts/benchmark.py --device cuda --precision bf16 --frames 64 --batch 32 --compile \
        --weights "$WEIGHTS" --sweep 8,32 --plot "$OUT/benchmark_cuda.png"
[[ $STEPS == *" end_to_end "* ]] && for flag in "" --compile; do  # MediaPipe's box of s9's face: no detector needed
    step "end_to_end${flag}" 240 $PY scripts/end_to_end.py --device cuda --precision bf16 $flag --weights "$WEIGHTS" \
        --repeat-driving 6 --face-box 270,229,200,225 --json "$OUT/end_to_end${flag}.json"
done
exit 0
