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
