#!/usr/bin/env bash
# Set up the test environment and run the whole test suite (what .ci/run runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q "$@"
