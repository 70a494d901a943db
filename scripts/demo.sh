#!/usr/bin/env bash
# Set everything up and open the tour notebook on the embedded default (digits CNN).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f notebooks/01_tour.ipynb ]; then
  exec .venv/bin/jupyter lab notebooks/01_tour.ipynb "$@"
else
  exec .venv/bin/python -m tda_widgets demo
fi
