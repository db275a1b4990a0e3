#!/usr/bin/env bash
# Debian packages the tests use when they are missing:
#  - Mesa's EGL/OpenGL ES (llvmpipe), a software WebGPU adapter for Dawn, so the WebGPU execution provider
#    is tested even on machines without a GPU;
#  - PyTorch and torchvision (python3-torch, python3-torchvision: 1.13 and 0.14 in bookworm), which the
#    PyTorch comparison tests (test/onnx/pytorch-*.test.ts) export models with. Debian's torch is for the
#    system interpreter /usr/bin/python3, which is what those tests run. Measured on the 2-core machine:
#    about 80 s to download and unpack (560 MB installed with their libraries), once; 0.3 s afterwards.
#  - scikit-learn (python3-sklearn: 1.2.1 in bookworm), whose bundled tables (breast cancer, iris, wine,
#    digits, diabetes) and LogisticRegression/LinearRegression the table tests (test/cli/sklearn-tables.test.ts)
#    compare with, for /usr/bin/python3 as well (21 packages with scipy and joblib on a machine that has
#    numpy already).
# Without root or apt this does nothing but say so. The WebGPU tests then skip and say why; the PyTorch
# and scikit-learn tests skip and say why, except under CI=true, where a missing package is a failure.
set -u

missing_among() {
  local p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || printf '%s ' "$p"; done
}

# Installs the named packages with apt-get (running apt-get update first only when the plain install
# fails, i.e. the package lists are stale or empty); says what for, and what it means when it fails.
install_for() {
  local what=$1 without=$2
  shift 2
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "note: $* missing and cannot be installed here (need root and apt); $without" >&2
    return 0
  fi
  echo "installing $* ($what)" >&2
  local started=$SECONDS
  (DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    (apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1)) ||
    { echo "note: installing $* failed; $without" >&2; return 0; }
  echo "installed $* in $((SECONDS - started)) s" >&2
}

# shellcheck disable=SC2046  # word splitting of the package list is intended
install_for "software WebGPU adapter for the tests" "WebGPU tests will be skipped" \
  $(missing_among libegl1 libegl-mesa0 libgl1-mesa-dri libegl-dev)
# shellcheck disable=SC2046
install_for "PyTorch for the ONNX comparison tests" "PyTorch comparison tests will be skipped (and fail under CI=true)" \
  $(missing_among python3-torch python3-torchvision)
# shellcheck disable=SC2046
install_for "scikit-learn for the table comparison tests" "scikit-learn comparison tests will be skipped (and fail under CI=true)" \
  $(missing_among python3-sklearn)
exit 0
