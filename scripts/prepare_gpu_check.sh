#!/usr/bin/env bash
# Lay out what scripts/gpu_check.sh needs on a lent GPU machine, which receives only this checkout: the conformance
# and bench folders and the two README example inputs copied from ../shared into ./shared (git-ignored here through
# .git/info/exclude, never committed), and the PyAV wheel for that machine's Python 3.12 in ./.whl (likewise).
# Then, on the lent machine (carry .whl; shared/ travels by itself):
#   OUT=$OUT LIVEPORTRAIT_SHARED=$PWD/shared bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${LIVEPORTRAIT_SHARED:-../shared}
exclude="$(git rev-parse --git-common-dir)/info/exclude"
for ignored in /shared/ /.whl/; do
    grep -qxF "$ignored" "$exclude" 2>/dev/null || echo "$ignored" >> "$exclude"
done
mkdir -p shared/assets/source shared/assets/driving
cp -r "$SHARED/conformance" "$SHARED/bench" shared/
cp "$SHARED/assets/source/s9.jpg" shared/assets/source/
cp "$SHARED/assets/driving/d20.mp4" shared/assets/driving/
av_version=$(.venv/bin/python -c "import av; print(av.__version__)")
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl "av==$av_version"
du -sh shared .whl

# The ComfyUI run, scripts/gpu_comfyui.sh: a second call on the same warm machine, carrying .gpu_comfyui (it reuses
# the PyAV and the weights that gpu_check.sh left there; the two wheels do not fit in one call). It holds ComfyUI's
# tree, the packages that ComfyUI and MediaPipe need and that machine lacks (at this checkout's versions), installed
# for its Python and packed with xz (the MediaPipe wheel is 43 MB zipped, 29 MB as xz), and MediaPipe's face model.
# PYVER picks another Python for the packages (a local rehearsal).
bundle=.gpu_comfyui
grep -qxF "/$bundle/" "$exclude" || echo "/$bundle/" >> "$exclude"
rm -rf "$bundle" && mkdir -p "$bundle"
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
pins=$(.venv/bin/python - <<'PY'
from importlib.metadata import version
names = ["mediapipe", "alembic", "mako", "sqlalchemy", "torchsde", "trampoline", "pydantic", "pydantic-core",
         "pydantic-settings", "python-dotenv", "typing-inspection", "annotated-types", "spandrel", "websocket-client"]
print(" ".join(f"{name}=={version(name)}" for name in names))
PY
)
# shellcheck disable=SC2086
.venv/bin/python -m pip install -q --no-deps --no-compile --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --target "$site" $pins
XZ_OPT=-T2 tar -C "$site" -cJf "$bundle/site.tar.xz" .
XZ_OPT=-T2 tar -C "${COMFYUI_DIR:-.comfyui}" --exclude=./tests --exclude=./tests-unit --exclude=__pycache__ -cJf "$bundle/comfyui.tar.xz" .
.venv/bin/python scripts/fetch_test_models.py --dest "$bundle" > /dev/null  # $bundle/mediapipe/face_landmarker.task
du -sh "$bundle"
