#!/usr/bin/env bash
# Install the Debian packages seam needs, only those that are missing (idempotent, no network when
# everything is present). Run as root or with sudo available.
set -euo pipefail
packages=(build-essential cmake libeigen3-dev doctest-dev libstb-dev zlib1g-dev dataset-fashion-mnist)
if [[ "${SEAM_WITH_FUZZ:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev); fi
if [[ "${SEAM_WITH_BENCH:-0}" == 1 ]]; then packages+=(libtorch-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "seam: installing missing packages: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "seam: all required packages are installed"
fi
