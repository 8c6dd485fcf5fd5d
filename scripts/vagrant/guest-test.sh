#!/usr/bin/env bash
# Vagrant provisioner "test" (runs as root in the guest): the test suite.
#   XDP_VSWITCH_TESTS=all (default)  npm test  (setup.sh + mocha unit + integration)
#   XDP_VSWITCH_TESTS=unit           npm run test:unit
#   XDP_VSWITCH_TESTS="PATTERN ..."  setup.sh, then mocha on those patterns (under dist/; {a,b} lists
#                                    are expanded here, * and ** by mocha), e.g.
#                                    "dist/test/unit/**/*.test.js dist/test/integration/{switch,vlan}.test.js"
# XDP_VSWITCH_MOCHA_ARGS adds mocha options (e.g. "--timeout 180000" under TCG).
# Usage: guest-test.sh [PROJECT_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
[ "$(id -u)" -eq 0 ] || { echo "test: run as root (the integration tests need netns, veth, XDP, TC)" >&2; exit 1; }
export PATH=/usr/local/bin:$PATH
echo "test: kernel $(uname -r), node $(node -v), $(nproc) cpus, suite: ${XDP_VSWITCH_TESTS:-all}"
set -f   # the patterns are mocha's to expand
read -r -a EXTRA <<<"${XDP_VSWITCH_MOCHA_ARGS:-}"
case "${XDP_VSWITCH_TESTS:-all}" in
  all)  if ((${#EXTRA[@]})); then npm test -- "${EXTRA[@]}"; else npm test; fi ;;
  unit) if ((${#EXTRA[@]})); then npm run test:unit -- "${EXTRA[@]}"; else npm run test:unit; fi ;;
  *)    eval "PATS=( $XDP_VSWITCH_TESTS )"   # brace lists ({a,b}) expanded here: mocha does not
        bash scripts/setup.sh
        npx mocha "${EXTRA[@]}" "${PATS[@]}" ;;
esac
