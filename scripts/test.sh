#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the test suite (no camera, no GPU, no display
# needed; Qt runs offscreen). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
