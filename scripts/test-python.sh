#!/usr/bin/env bash
# Builds the Python package into a virtual environment and runs its pytest suite.
#
#   scripts/test-python.sh [pytest args...]
#
# Creates .venv-py (or $PLUMEWATCH_VENV) with the pinned tools of
# crates/python/requirements-test.txt, builds the CLI (the tests compare against it)
# and the abi3 wheel in release mode, installs the wheel and runs
# crates/python/tests. Exits non-zero when the build fails, when any test fails, and
# when pytest collects no test at all (its exit status 5).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${PLUMEWATCH_VENV:-$root/.venv-py}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r crates/python/requirements-test.txt

cargo build --release -p plumewatch
export PLUMEWATCH_CLI="$root/target/release/plumewatch"

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
PYO3_PYTHON="$venv/bin/python" "$venv/bin/maturin" build --release \
    -m crates/python/Cargo.toml -i "$venv/bin/python" -o "$wheels"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --force-reinstall --no-deps "$wheels"/plumewatch-*.whl

status=0
(cd crates/python/tests && "$venv/bin/python" -m pytest -p no:cacheprovider "$@") || status=$?
if [[ $status -eq 5 ]]; then
    echo "test-python: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
