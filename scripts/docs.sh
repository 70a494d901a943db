#!/usr/bin/env bash
# Build the documentation site offline into docs/_build/html, with warnings as errors, then
# check that every internal link resolves (sphinx's linkcheck with external links ignored
# would need the network for nothing; tests/docs/test_docs_build.py reads the built pages).
#   bash scripts/docs.sh                     the gallery's notebooks executed at build time (once:
#                                            docs/execute_notebooks.py keeps the executed copies in
#                                            docs/_build/executed until a notebook or the package changes;
#                                            tests/notebooks checks the same copies)
#   TDA_DOCS_EXECUTE=0 bash scripts/docs.sh  the stored, stripped notebooks (a preview without figures)
# Needs the docs extra: pip install -e ".[docs]" (scripts/setup.sh docs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if [ ! -x "$PY" ]; then PY=python3; fi
rm -rf docs/_build/html docs/api/generated
"$PY" -m sphinx -b html -W --keep-going -q docs docs/_build/html
"$PY" docs/check_links.py docs/_build/html
