#!/usr/bin/env bash
# Rebuild optnas/dashboard/plotly-optnas.min.js: plotly.js's partial bundle of the traces optnas draws.
#   tools/plotlyjs/build.sh [VERSION]      # VERSION: the plotly.js that plotly.py bundles (default: ask it)
# Needs node and npm (the npm registry); takes about a minute. See README.md here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="${1:-$(python -c 'from plotly.offline import get_plotlyjs_version as v; print(v())')}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "plotly.js@$version" >/dev/null
tar xzf "plotly.js-$version.tgz"
cd package
npm install --omit=dev --ignore-scripts --no-audit --no-fund --silent
npm install --no-save --ignore-scripts --no-audit --no-fund --silent \
    esbuild@0.28.1 esbuild-plugin-glsl@1.4.2 esbuild-plugin-inline-css@0.0.1 esbuild-plugin-environment@0.5.0 \
    stream-browserify@3.0.0
cp "$here/index-optnas.js" lib/index-optnas.js
cp "$here/build.js" build-optnas.js
node build-optnas.js
cp dist/plotly-optnas.min.js "$root/optnas/dashboard/plotly-optnas.min.js"
echo "plotly.js $version -> optnas/dashboard/plotly-optnas.min.js ($(wc -c < dist/plotly-optnas.min.js) bytes)"
