#!/usr/bin/env bash
# Idempotent machine setup: Vulkan driver Dawn accepts (only when no GPU
# driver is present), Fashion-MNIST, headless Chromium, npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

# A Vulkan ICD that Debian's Mesa package does not own (NVIDIA's, say) is
# a real GPU driver: then no software renderer is installed over it.
hw_icd=""
for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json \
  /usr/local/nvidia/share/vulkan/icd.d/*.json; do
  [ -e "$f" ] || continue
  dpkg -S "$f" 2>/dev/null | grep -q mesa-vulkan-drivers || hw_icd="$f"
done

mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24
}

if [ -z "$hw_icd" ] && ! mesa_ok; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" \
      | $SUDO tee /etc/apt/sources.list.d/nas-backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -t bookworm-backports \
    mesa-vulkan-drivers libvulkan1 >/dev/null
fi
have libvulkan1 || need_pkgs+=(libvulkan1)
have dataset-fashion-mnist || need_pkgs+=(dataset-fashion-mnist)
have chromium || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ok"
