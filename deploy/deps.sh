#!/usr/bin/env bash
# Install the Debian 12 packages hazardd needs to build, test and run its demo.
# Idempotent: installs only what is missing. Works as root or through sudo.
set -euo pipefail

PKGS=(
  build-essential pkg-config git ca-certificates procps iproute2 util-linux
  libpaho-mqtt-dev librdkafka-dev libpq-dev
  protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
  libjansson-dev libyaml-dev libcmocka-dev libssl-dev
  postgresql-15 postgresql-client-15
  mosquitto mosquitto-clients kcat xxd jq
  clang-14 libclang-rt-14-dev cppcheck clang-tidy
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
echo "deps: installing ${missing[*]}" >&2
# Servers are started by our own scripts on free ports; keep Debian from
# starting its own instances during install where policy-rc.d is honoured.
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
