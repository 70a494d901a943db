#!/usr/bin/env bash
# Rebuild the prebuilt JupyterLab extension (labextension/src -> tda_widgets/labextension).
# The built files are committed, so `pip install` needs no Node; run this after changing
# labextension/ and commit tda_widgets/labextension/ with the sources.
#   needs: Node >= 18 and a Python with jupyterlab 4 (PYTHON, default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(cd "$(dirname "$PY")" && pwd)
export PATH="$BIN:$PATH"
cd labextension
jlpm install
jlpm build:prod
# What `jupyter labextension list` reports as the installer (the template's install.json).
cp install.json ../tda_widgets/labextension/install.json
# The tour the "Open the tda-widgets tour" command copies, served from the extension's folder.
cp ../notebooks/01_tour.ipynb ../tda_widgets/labextension/static/01_tour.ipynb
