#!/usr/bin/env bash
# The README's first command: animate a portrait with a driving video through ComfyUI's API and print the
# video's path (after scripts/setup.sh). Installs the ComfyUI host first when it is missing.
#   bash scripts/run_main.sh SOURCE DRIVING [--frames N] [--out DIR] [--weights DIR] [--work DIR]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
bash "$REPO/scripts/install_comfyui.sh" >&2
exec "$REPO/.venv/bin/python" "$REPO/scripts/run_main.py" "$@"
