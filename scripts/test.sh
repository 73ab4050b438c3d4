#!/usr/bin/env bash
# The whole test suite: typecheck every package, then each package's tests
# one package at a time (GPU tests share one software device on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
FORMATTED=("packages/*/src/**/*.ts" "packages/*/bench/*.ts" "packages/*/mod.ts"
  "packages/*/test-fixtures/*.ts" "test/*.ts")
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# Formatting first: cheap, and a diff in review is cheaper to avoid than to read.
npx prettier --check --log-level warn "${FORMATTED[@]}" ||
  { echo "formatting: run \`npm run format\` and commit the result" >&2; exit 1; }
npx turbo run typecheck test --concurrency=1 --log-order=stream --output-logs=full
