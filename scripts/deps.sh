#!/usr/bin/env bash
# Install the Debian bookworm packages spid-sp needs to build, run and test.
# Only missing packages are installed; safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  liblasso3-dev libxml2-dev libxmlsec1-dev libssl-dev libcurl4-openssl-dev
  libmicrohttpd-dev libgnutls28-dev libinih-dev libjansson-dev libsqlite3-dev libcmocka-dev
  xmlsec1 libxml2-utils sqlite3 opensaml-schemas xmltooling-schemas
  python3-pytest python3-requests python3-lxml python3-aiosmtpd wrk openssl nginx
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "Installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
