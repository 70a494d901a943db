#!/usr/bin/env bash
# Set everything up from nothing and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
if [ -d tests/browser ]; then
  bash scripts/install_chromium.sh
fi
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
exit $rc
