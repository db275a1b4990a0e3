#!/usr/bin/env bash
# Installs PyTorch (CPU) for the PyTorch benchmark peer, bench/peers/torch-peer.py, from Debian's own
# package python3-torch (1.13.1 in bookworm main; no pip, no network beyond the Debian mirror).
#
#   bash bench/peers/install-torch.sh [--no-openblas]
#
# Debian's python3-torch installs into /usr/lib/python3/dist-packages, i.e. for the *system* interpreter
# /usr/bin/python3 (3.11 on bookworm). A pyenv (or other) python3 earlier on PATH will not see it, so this
# script checks, and the peer must be run, with /usr/bin/python3:
#
#   /usr/bin/python3 bench/peers/torch-peer.py --model cnn --batch 64 --threads 1 --json
#
# BLAS: installed with --no-install-recommends, python3-torch pulls in only the reference (netlib) libblas3,
# and Debian's torch does Linear/matmul through libblas.so.3 (convolutions go through oneDNN), which makes
# the MLP peers ~10× slower than PyTorch normally is. libtorch1.13 *recommends* libopenblas0, so unless
# --no-openblas is given we also install libopenblas0-openmp (~7 MB; the OpenMP build shares torch's libgomp
# thread pool and follows torch.set_num_threads). It becomes the system libblas.so.3 via update-alternatives
# (priority 100 over the reference 10); undo with: apt-get remove libopenblas0-openmp
#
# Does nothing (beyond the BLAS check) when torch already imports. Needs root and apt-get; otherwise it says why and exits 0
# (the peer is optional: nothing in the build or the tests depends on it).
set -u

PY=${PYTHON:-/usr/bin/python3}
OPENBLAS=1
for arg in "$@"; do
  case "$arg" in
    --no-openblas) OPENBLAS=0 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-torch: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

BLAS_LINK=/usr/lib/x86_64-linux-gnu/libblas.so.3
# True when libblas.so.3 is missing or resolves to the reference BLAS (.../blas/libblas.so.3).
reference_blas() {
  local target
  target=$(readlink -f "$BLAS_LINK" 2>/dev/null) || return 0
  [ -e "$target" ] || return 0
  case "$target" in */blas/libblas.so*) return 0 ;; *) return 1 ;; esac
}

apt_install() {
  # apt-get update only when the plain install fails (stale or empty package lists).
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" && return 0
  echo "install-torch: install of $* failed; running apt-get update and retrying ..."
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

ensure_openblas() {
  [ "$OPENBLAS" = 1 ] || { echo "install-torch: --no-openblas: leaving libblas.so.3 as is ($(readlink -f "$BLAS_LINK" 2>/dev/null))"; return 0; }
  if ! reference_blas; then
    echo "install-torch: libblas.so.3 is already an optimized BLAS ($(readlink -f "$BLAS_LINK"))"
    return 0
  fi
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-torch: libblas.so.3 is the slow reference BLAS; as root run:" >&2
    echo "  apt-get install --no-install-recommends libopenblas0-openmp" >&2
    return 0
  fi
  echo "install-torch: libblas.so.3 is the reference BLAS; installing libopenblas0-openmp ..."
  apt_install libopenblas0-openmp ||
    echo "install-torch: could not install libopenblas0-openmp; the peer will use the reference BLAS." >&2
  echo "install-torch: libblas.so.3 -> $(readlink -f "$BLAS_LINK" 2>/dev/null)"
}

if [ ! -x "$PY" ]; then
  echo "install-torch: $PY not found; python3-torch is for Debian's /usr/bin/python3, skipping." >&2
  exit 0
fi

if "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "install-torch: torch $("$PY" -c 'import torch; print(torch.__version__)') already importable by $PY"
  ensure_openblas
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "install-torch: torch is not importable by $PY and we are not root; install it with:" >&2
  echo "  sudo apt-get install --no-install-recommends python3-torch" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-torch: torch is not importable by $PY and apt-get is not available (not Debian/Ubuntu?)." >&2
  echo "  Install PyTorch for $PY some other way (e.g. pip install torch) to run the PyTorch peer." >&2
  exit 0
fi

echo "install-torch: installing python3-torch with apt-get ..."
if ! apt_install python3-torch; then
  echo "install-torch: apt-get could not install python3-torch; the PyTorch peer will be unavailable." >&2
  exit 0
fi
ensure_openblas

if "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "install-torch: torch $("$PY" -c 'import torch; print(torch.__version__)') installed for $PY"
else
  echo "install-torch: python3-torch installed but '$PY -c \"import torch\"' still fails." >&2
fi
exit 0
