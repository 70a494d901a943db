#!/usr/bin/env bash
# Run every benchmark, one after the other, from the repository root:
#   bash benchmarks/run_all.sh            (uses .venv/bin/python when present)
# Each script prints a table and ends with "NAME: RATIO x (equal results: yes/no)".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
for bench in bench_overhead bench_cache bench_views bench_measures bench_study bench_filtration; do
    echo "=== ${bench} ==="
    "${PYTHON}" "benchmarks/${bench}.py"
    echo
done
