#!/usr/bin/env bash
# Installs everything RefleXGen needs on a Debian/Ubuntu machine: the open analyzers (when
# missing, with apt-get as root), the npm packages from the lock file, and the compiled build.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v bandit >/dev/null 2>&1 || need+=(python3-bandit)
command -v cppcheck >/dev/null 2>&1 || need+=(cppcheck)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v git >/dev/null 2>&1 || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing analyzers (${need[*]}); install them with: sudo apt-get install ${need[*]}" >&2
  fi
fi

# onnxruntime-node (under the optional @huggingface/transformers) would download CUDA binaries at
# install time; offline that fails and npm drops the optional embedding runtime. The checkout's own
# install keeps it: the CPU binaries ship in the npm package, only the GPU ones are downloaded.
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
