#!/usr/bin/env bash
# Creates bench/.venv with the peer implementations, from PyPI only:
#   mag1c 1.2.0 (needs a torch that still has torch.cholesky: <= 2.13),
#   fastmag1c 0.1.0, Spectral Python, numpy.
# Usage: bench/setup.sh        (idempotent; re-run to repair)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --upgrade pip >/dev/null
# torch first (the largest); CPU execution only is used.
"$venv/bin/pip" install "torch<=2.13"
"$venv/bin/pip" install "mag1c==1.2.0" "fastmag1c==0.1.0" spectral numpy scikit-image
"$venv/bin/python" - <<'PY'
import numpy as np
np.int = int  # mag1c 1.2.0 still uses np.int
import torch, spectral
print("torch", torch.__version__, "has cholesky:", hasattr(torch, "cholesky"))
print("spectral", spectral.__version__)
import importlib.metadata as md
for p in ("mag1c", "fastmag1c"):
    print(p, md.version(p))
PY
