#!/usr/bin/env bash
# The README's case (s9 with d20, paste-back at 720x1280) through ComfyUI on a lent GPU, by two shipped workflows,
# each timed per node over three prompts (scripts/run_main.py --timings --repeat 3; the prompts after the first run
# every node but the model loaders): animate_driving_video (the README's: core video nodes, driving faces detected
# per frame, IMAGE batches between the nodes, Save Video) and long_video_to_file (Render to Video File: decoding,
# rendering, paste-back and encoding overlapped in one node).
#
# The second call on the machine that has just run scripts/gpu_check.sh: it reuses the PyAV that script put in
# /tmp/site and the weights it generated, and carries .gpu_comfyui from scripts/prepare_gpu_check.sh (ComfyUI's
# tree and the packages it and MediaPipe need, unpacked here into /tmp). ComfyUI runs without its frontend package.
#   OUT=$OUT LIVEPORTRAIT_SHARED=$PWD/shared bash scripts/gpu_comfyui.sh      (carry .gpu_comfyui)
# Output: $OUT/gpu_comfyui.log and $OUT/comfyui_<workflow>.json. FRAMES=N animates only the first N driving frames (a rehearsal
# on a CPU: PYTHON=a device-like Python, after scripts/prepare_gpu_check.sh with PYVER set to its version).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_logs}
SHARED=${LIVEPORTRAIT_SHARED:-../shared}
WEIGHTS=${WEIGHTS:-$HOME/.cache/liveportrait-kit-tests/weights}
UNPACKED=${UNPACKED:-/tmp/lp_comfyui}
mkdir -p "$OUT"
LOG="$OUT/gpu_comfyui.log"
exec > >(tee -a "$LOG") 2>&1

start=$SECONDS
rm -rf "$UNPACKED" && mkdir -p "$UNPACKED"/{site,comfyui,frontend,weights}
tar -C "$UNPACKED/site" -xJf .gpu_comfyui/site.tar.xz && tar -C "$UNPACKED/comfyui" -xJf .gpu_comfyui/comfyui.tar.xz ||
    { echo "error: .gpu_comfyui is missing or damaged: run scripts/prepare_gpu_check.sh and carry .gpu_comfyui"; exit 1; }
export PYTHONPATH=$UNPACKED/site${PYTHONPATH:+:$PYTHONPATH}
[ -d /tmp/site ] && export PYTHONPATH=$PYTHONPATH:/tmp/site
$PY -c "import av, mediapipe, websocket" ||
    { echo "error: PyAV or MediaPipe does not import: run scripts/gpu_check.sh on this machine first (it installs PyAV)"; exit 1; }
[ -f "$WEIGHTS/spade_generator.pth" ] || $PY "$SHARED/conformance/make_weights.py" "$WEIGHTS" > /dev/null
ln -sf "$WEIGHTS"/*.pth "$UNPACKED/weights/" && cp -r .gpu_comfyui/mediapipe "$UNPACKED/weights/"
echo "unpacked in $((SECONDS - start)) s"

export PYTHONUNBUFFERED=1 COMFYUI_DIR=$UNPACKED/comfyui
export COMFYUI_ARGS="--front-end-root $UNPACKED/frontend --disable-api-nodes"
for workflow in animate_driving_video long_video_to_file; do
    timeout 150 $PY scripts/run_main.py "$SHARED/assets/source/s9.jpg" "$SHARED/assets/driving/d20.mp4" \
        --workflow $workflow --weights "$UNPACKED/weights" --work "$UNPACKED/work_$workflow" --out "$UNPACKED/out" \
        --timings --repeat 3 --frames "${FRAMES:-0}" --json "$OUT/comfyui_$workflow.json"
    echo "== comfyui $workflow: exit $? after $((SECONDS - start)) s =="
    tail -n 20 "$UNPACKED/work_$workflow/comfyui.log" 2>/dev/null
done
exit 0
