#!/usr/bin/env bash
# Set up the test environment and run the whole test suite (what .ci/run runs). Arguments go to pytest, so
# `bash scripts/test.sh -m "not server and not slow"` runs the quick subset (markers in pytest.ini).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q "$@"
