#!/usr/bin/env bash
# Pack the executors' Python environment for spark-submit --archives: a fresh virtualenv with what Python tasks on
# executors import, at the versions in constraints.txt, packed by venv-pack as a zip.
#
#   deploy/executor-env.sh [OUTPUT]           (default OUTPUT: dist/executor-env.zip)
#
# Python tasks on executors are the E-step's numpy/scipy kernel over Arrow batches (model/distributed.py) and
# PySpark's own Arrow and pandas conversions; csc-demand's code comes with each job's wheel (--py-files). MLflow,
# matplotlib and the rest run on the driver only, so they stay out (the archive is half the size with them left out).
# A zip, not a tar: Spark 4.1 unpacks --archives in Java, which drops a tar entry's execute bit and refuses the
# venv's absolute interpreter symlink; a zip keeps the mode and stores the interpreter as the file it points to.
# That interpreter still loads its standard library from the base Python the venv was made from, so every worker
# needs that Python at the same path (printed at the end). Environment: PYTHON (default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUTPUT="${1:-$ROOT/dist/executor-env.zip}"
EXECUTOR_PACKAGES=(numpy scipy pandas pyarrow)

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
"$PYTHON" -m venv --without-pip "$build/env"
"$PYTHON" -m pip --python "$build/env/bin/python" install --quiet --disable-pip-version-check \
  -c "$ROOT/constraints.txt" "${EXECUTOR_PACKAGES[@]}"
"$PYTHON" -m venv_pack --quiet --prefix "$build/env" --format zip --exclude 'lib64' --exclude 'lib64/*' \
  --output "$build/env.zip"
mkdir -p "$(dirname "$OUTPUT")"
mv "$build/env.zip" "$OUTPUT"
echo "executor-env.sh: $OUTPUT ($(du -h "$OUTPUT" | cut -f1)); workers need Java and Python at" \
     "$("$PYTHON" -c 'import sys; print(sys.base_prefix)')" >&2
