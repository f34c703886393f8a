#!/usr/bin/env bash
# Every GPU check in one call (about 7 minutes on an H200), by hand or on a lent machine. Steps, in order of
# importance, each with its own time limit (STEPS picks a subset, e.g. STEPS="benchmark end_to_end"):
#   conformance  the networks against the official golden data in fp32 on CUDA, the fp16/bf16 deviations, and every
#                CUDA route against the plain networks (tests/networks, tests/acceleration)
#   benchmark    side by side with the official modules read in place: official, plain and fast (fp16 and bf16,
#                compiled and eager), per module and end to end, with deviations (scripts/benchmark.py)
#   end_to_end   the README's default case (s9 with d20, paste-back at 720x1280) through the command line's code path,
#                eager (the default) and compiled, per stage, against the render alone (scripts/end_to_end.py)
#   live         one frame at a time through the live session (s9 with d20 played as a camera), with the one-frame
#                CUDA graph: p50 / p99 latency per stage, sustained fps, drops in real time (scripts/live_latency.py)
#   lengths      1,000 and 18,000 frames to an mp4 in fresh processes: each one's own peak RSS and VRAM
#   heads        W's two heads alone, incl. with their input channels padded to 8 (scripts/gpu_probe.py)
# Everything printed goes to $OUT/gpu_check.log, the figures to $OUT/*.json (a lent machine returns 8 files at most).
#
# Needs python3 with torch, numpy, scipy, safetensors, pillow, pyyaml, pytest, and PyAV: where `import av` fails,
# the PyAV wheel in .whl/ is installed into /tmp/site first (a lent H200 has no PyAV; carry .whl). Reads
# $LIVEPORTRAIT_SHARED (default ../shared): conformance/, bench/official_modules/, assets/source/s9.jpg and
# assets/driving/d20.mp4. On a lent machine ../shared does not travel: scripts/prepare_gpu_check.sh copies those into
# an ignored shared/ folder of the checkout, which does, and fetches the wheel; then run with
# LIVEPORTRAIT_SHARED=$PWD/shared.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_logs}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export PYTHONUNBUFFERED=1 LIVEPORTRAIT_TEST_DEVICE=cuda
export LIVEPORTRAIT_SHARED=${LIVEPORTRAIT_SHARED:-../shared}
WEIGHTS=${WEIGHTS:-$HOME/.cache/liveportrait-kit-tests/weights}
FACE_BOX=270,229,200,225  # MediaPipe's box of s9's face (scripts/end_to_end.py prints it): no detector needed here
STEPS=" ${STEPS:-conformance benchmark end_to_end live lengths heads} "

step() {  # step NAME SECONDS COMMAND...: run with a time limit, its output appended to the log
    local name=$1 limit=$2; shift 2
    echo "== $name (limit ${limit}s) ==" | tee -a "$LOG"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s ==" | tee -a "$LOG"
}

if ! $PY -c "import av" 2>/dev/null && compgen -G ".whl/av-*.whl" > /dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/av-*.whl &&
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  $PY -c "import torch, av; print('torch', torch.__version__, 'PyAV', av.__version__)"; } 2>&1 | tee -a "$LOG"
[ -f "$WEIGHTS/spade_generator.pth" ] || $PY "$LIVEPORTRAIT_SHARED/conformance/make_weights.py" "$WEIGHTS" > /dev/null

[[ $STEPS == *" conformance "* ]] &&
    step conformance 100 $PY -m pytest -q -p no:cacheprovider tests/networks/test_networks.py \
        tests/acceleration/test_precision.py tests/acceleration/test_acceleration.py
[[ $STEPS == *" benchmark "* ]] &&
    step benchmark 200 $PY scripts/benchmark.py --device cuda --variants fp16-compiled,fp16-eager,bf16-compiled \
        --frames 64 --batch 32 --weights "$WEIGHTS" --json "$OUT/benchmark.json"
[[ $STEPS == *" end_to_end "* ]] && for mode in eager compiled; do
    step "end_to_end $mode" 100 $PY scripts/end_to_end.py --device cuda $([ $mode = compiled ] && echo --compile) \
        --weights "$WEIGHTS" --repeat-driving 6 --face-box $FACE_BOX --json "$OUT/end_to_end_$mode.json"
done
[[ $STEPS == *" live "* ]] &&
    step live 60 $PY scripts/live_latency.py --device cuda --weights "$WEIGHTS" --face-box $FACE_BOX --frames 150 \
        --warm-up 5 --json "$OUT/live.json"
[[ $STEPS == *" lengths "* ]] &&
    step lengths 220 $PY scripts/benchmark.py --device cuda --variants fp16-eager --batch 32 --weights "$WEIGHTS" \
        --lengths 1000,18000 --lengths-only --json "$OUT/lengths.json"
[[ $STEPS == *" heads "* ]] &&
    step heads 40 $PY scripts/gpu_probe.py --weights "$WEIGHTS" --batch 32 --dtype fp16 --heads-only
grep "^== .*: exit" "$LOG"
exit 0
