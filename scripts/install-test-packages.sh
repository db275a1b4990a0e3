#!/usr/bin/env bash
# Debian packages the tests use when they are missing: Mesa's EGL/OpenGL ES (llvmpipe), a software
# WebGPU adapter for Dawn, so the WebGPU execution provider is tested even on machines without a GPU.
# Without root or apt this does nothing, and the WebGPU tests say they were skipped and why.
set -u
packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libegl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: ${missing[*]} missing and cannot be installed here (need root and apt); WebGPU tests will be skipped" >&2
  exit 0
fi
echo "installing ${missing[*]} (software WebGPU adapter for the tests)" >&2
(apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1)) ||
  echo "note: installing ${missing[*]} failed; WebGPU tests will be skipped" >&2
exit 0
