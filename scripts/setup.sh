#!/usr/bin/env bash
# Installs everything rliv needs on a fresh Debian machine with Node 20, then builds it.
#   Debian packages: a C toolchain and OpenBLAS (the native gemm addon), Redis
#   (the online system's store and stream, used by its tests), Chromium (the
#   report's browser test) and PyTorch (the reference the numeric core is
#   measured and gradient-checked against); curl and jq for the README's
#   walkthrough of the online service.
#   npm packages: exactly the lockfile (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES="build-essential python3 libopenblas-dev redis-server chromium python3-torch curl jq"
if ! dpkg -s $PACKAGES >/dev/null 2>&1; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends $PACKAGES
fi
npm ci --no-audit --no-fund
npm run build
