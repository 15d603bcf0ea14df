#!/usr/bin/env bash
# Installs the Debian packages fuelcard needs that are missing: the PC/SC
# library to build the reader, pcscd with the virtual reader driver for the
# reader tests, Chromium and its driver for the page tests.
set -euo pipefail
packages=(pkg-config libpcsclite-dev "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
