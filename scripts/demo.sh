#!/usr/bin/env bash
# Set everything up and open the tour notebook on the embedded default (digits CNN).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# JupyterLab refuses to start as root (a container, a fresh VM) unless told it is allowed.
as_root=()
if [ "$(id -u)" = "0" ]; then
  as_root=(--allow-root)
fi
if [ -f notebooks/01_tour.ipynb ]; then
  exec .venv/bin/jupyter lab "${as_root[@]}" notebooks/01_tour.ipynb "$@"
else
  exec .venv/bin/python -m tda_widgets demo
fi
