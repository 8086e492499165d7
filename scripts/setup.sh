#!/usr/bin/env bash
# Installs Eddy's build and test dependencies from Debian 12's archive.
# Idempotent; must run as root (or with sudo available) on Debian 12.
# --fuzz adds clang and libFuzzer (scripts/fuzz.sh, scripts/test.sh).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  librdkafka-dev librocksdb-dev libeigen3-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsimdjson-dev libxxhash-dev zlib1g-dev libjemalloc-dev
  kcat
)
# --fuzz: also clang and its libFuzzer runtime (scripts/fuzz.sh).
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
