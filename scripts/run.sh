#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: the desktop app on a connected
# D415, or on the bundled demo recording when no camera is connected (generated on first run),
# or headless analysis of the demo recording when there is no display.
# Extra arguments go to `rt-sfamnet gui` (e.g. --source sim, --weights FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/rt-sfamnet gui "$@"
