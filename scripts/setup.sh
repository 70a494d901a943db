#!/usr/bin/env bash
# Create ./.venv (if missing) and install tda-widgets into it.
#   scripts/setup.sh          the package and JupyterLab (torch from the range in pyproject.toml)
#   scripts/setup.sh test     also the test extras, with torch/torchvision pinned to the
#                             versions CI uses (TORCH_PINS overrides them)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "test" ]; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q ${TORCH_PINS:-torch==2.14.1 torchvision==0.29.1}
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
# An editable install does not install data files (setuptools' PEP 660 wheels carry none), so
# link the committed prebuilt JupyterLab extension (tda_widgets/labextension) into the venv, as
# the extension template's development install does; a plain `pip install .` needs no step.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/jupyter labextension develop --overwrite . >/dev/null
