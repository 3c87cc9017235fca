#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need (idempotent).
# Runs apt-get as root directly, or through sudo for a person.
set -euo pipefail
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      libev-dev libjansson-dev libyaml-dev libzmq3-dev libssl-dev libsystemd-dev libcmocka-dev
      curl python3 python3-venv util-linux systemd openjdk-17-jre-headless procps iproute2
      # tests/e2e and make demo: Debian's browser (never a downloaded one)
      chromium fonts-dejavu-core
      # tests/integration/test_slurm.py: a private single-host Slurm (no service is started)
      slurmctld slurmd slurm-client munge)
# node and npm (configurable-http-proxy): Debian's unless the machine has them
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: all ${#pkgs[@]} packages present"
        exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
