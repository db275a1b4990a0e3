#!/usr/bin/env bash
# Trains the seed MLP for 5 epochs on full Fashion-MNIST (60,000 train / 10,000 test) with the
# executable and prints the test accuracy (expect ≥ 87 %: 87.5 % measured with seed 1). It uses Adam 1e-3
# with the recipe's ×0.6-per-epoch step decay; the MNIST recipe's SGD lr 0.05 gets 86.8 % here. Installs Debian's dataset-fashion-mnist if
# it is missing (needs root and the Debian archive).
set -euo pipefail
cd "$(dirname "$0")/.."
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "installing Debian's dataset-fashion-mnist…" >&2
  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
[ -x dist/wasmgrad ] || npm run build
exec dist/wasmgrad train --model mlp --epochs 5 --data "$data" --validation-split 0 --optimizer adam --lr 0.001 "$@"
