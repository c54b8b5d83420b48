#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs the npm packages and (where
# it can: as root) the software GPU for the WebGPU suites, then runs the lint
# (npm run lint: Biome, warnings included, and the unnecessary-non-null check)
# and every vitest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/vitest ]; then
  npm ci --no-audit --no-fund
fi
if [ -f scripts/setup-software-gpu.sh ]; then
  bash scripts/setup-software-gpu.sh
fi
npm run lint
exec node_modules/.bin/vitest run "$@"
