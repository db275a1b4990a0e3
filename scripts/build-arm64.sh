#!/usr/bin/env bash
# Cross-compiles the executable for linux-arm64 (edge boards: Raspberry Pi 4/5, Jetson, Graviton):
# dist/wasmgrad-linux-arm64. Bun fetches its arm64 runtime from the npm registry the first time; the
# kernels and data are the same WebAssembly and IDX files, and Dawn's dawn.node is swapped for the
# arm64 build while compiling.
#   npm run build && bash scripts/build-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bun=node_modules/.bin/bun
backup=$(mktemp)
cp build/runtime/dawn.node.gz "$backup"
trap 'cp "$backup" build/runtime/dawn.node.gz; rm -f "$backup"' EXIT
"$bun" scripts/build-runtime-assets.ts build/runtime linux-arm64 >/dev/null
"$bun" build --compile --target=bun-linux-arm64 --minify --sourcemap=none \
  src/cli/main.ts src/engine/gemm-worker.ts node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
  --outfile dist/wasmgrad-linux-arm64
file dist/wasmgrad-linux-arm64 2>/dev/null || ls -la dist/wasmgrad-linux-arm64
