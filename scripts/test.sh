#!/usr/bin/env bash
# Set everything up from nothing and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
# Which machine this is, first: float32 forward passes and BLAS round differently on other
# processors, so a failure report must say where it came from (versions follow the install).
echo "tda-widgets test run on: $(python3 scripts/machine_info.py | head -1)"
# CI installs the lower bound of every range pyproject.toml promises (ci/lower_bounds.py writes the file)
export PIP_CONSTRAINT="$PWD/ci/lower-bounds.txt${PIP_CONSTRAINT:+ $PIP_CONSTRAINT}"
bash scripts/setup.sh test
.venv/bin/python scripts/machine_info.py
# the documentation's build tools (tests/docs builds the site with warnings as errors)
.venv/bin/python -m pip install -q -e ".[test,docs]"
if [ -d tests/browser ]; then
  bash scripts/install_chromium.sh
fi
# the JupyterLab extension's linters (package-lock.json; ~30 s from npm's registry, less from its cache)
if command -v npm >/dev/null; then npm ci --prefer-offline --no-audit --no-fund --silent; fi
set +e
# two workers, a test file each at a time (module fixtures such as a browser page stay in one
# process; the notebooks' one execution is shared through a file lock): TDA_TEST_WORKERS=0 runs serially
.venv/bin/python -m pytest -q -p no:cacheprovider -n "${TDA_TEST_WORKERS:-2}" --dist loadfile "$@"
rc=$?
set -e
exit $rc
