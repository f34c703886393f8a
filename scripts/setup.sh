#!/usr/bin/env bash
# Create (or update) the project's environment at .venv/ in the repository root.
#   scripts/setup.sh          runtime: torch + the pack's requirements
#   scripts/setup.sh --test   also what the tests need (pytest, ONNX tools, the ComfyUI test host, test models,
#                             Debian's chromium + chromium-driver for the browser test when run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# The ComfyUI host pins this torch pair; on these machines both install from local wheels.
.venv/bin/python -c "import torch, torchvision" 2>/dev/null || pip install "torch==2.14.1" "torchvision==0.29.1"
pip install -r requirements.txt
if [ "${1:-}" = "--test" ]; then
  pip install -r requirements-test.txt
  bash scripts/install_comfyui.sh
  .venv/bin/python scripts/fetch_test_models.py
  if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
        echo "setup: could not install chromium; the browser test will be skipped" >&2
    else
      echo "setup: chromium / chromium-driver missing (apt-get install chromium chromium-driver); the browser test will be skipped" >&2
    fi
  fi
fi
