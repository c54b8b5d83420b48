#!/usr/bin/env bash
# Software GPU for the WebGPU tests on a Debian machine without a GPU.
# Installs (once; quick when already there):
#   - Mesa llvmpipe through EGL / OpenGL ES (Dawn's `opengles` backend, compatibility level),
#   - the Vulkan loader and Debian's `chromium` package, which ships SwiftShader
#     (/usr/lib/chromium/vk_swiftshader_icd.json) and is the browser of the browser test.
# The environment variables the adapters need (EGL_PLATFORM, VK_ICD_FILENAMES,
# XDG_RUNTIME_DIR) are set by the library / test helper in-process, not here.
# Idempotent. Needs root for apt-get; without root it only reports what is missing.
set -euo pipefail

PKGS=(libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-software-gpu: software GPU packages present (${PKGS[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-software-gpu: apt-get not found; install by hand: ${missing[*]}" >&2
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup-software-gpu: not root; run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 0
fi

echo "setup-software-gpu: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-software-gpu: done"
