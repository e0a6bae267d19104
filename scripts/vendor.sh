#!/usr/bin/env bash
# Vendor the portal's browser libraries from the npm registry into static/vendor/.
# No CDN at run time: the built file is committed, with its version and SHA-256 in
# static/vendor/VENDORED.md. Run after changing a version below, review the diff, commit.
#
#   scripts/vendor.sh            # fetch and copy (needs npm)
#   scripts/vendor.sh --check    # only verify the committed files against VENDORED.md
set -euo pipefail
cd "$(dirname "$0")/.."

KONVA_VERSION="10.9.1"   # https://konvajs.org — the workspace canvas
DEST="static/vendor/konva"
RECORD="static/vendor/VENDORED.md"

if [[ "${1:-}" == "--check" ]]; then
  want=$(grep -E '^\| konva ' "$RECORD" | awk -F'|' '{gsub(/ /,"",$5); print $5}')
  have=$(sha256sum "$DEST/konva.min.js" | cut -d' ' -f1)
  [[ "$want" == "$have" ]] || { echo "konva.min.js: sha256 $have, VENDORED.md says $want" >&2; exit 1; }
  echo "vendored files match $RECORD"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> npm pack konva@$KONVA_VERSION"
# npm pack checks the tarball against the registry's integrity hash (sha512) while fetching.
(cd "$tmp" && npm pack --silent "konva@$KONVA_VERSION" >/dev/null && tar xzf "konva-$KONVA_VERSION.tgz")
got=$(node -p "require('$tmp/package/package.json').version")
[[ "$got" == "$KONVA_VERSION" ]] || { echo "npm gave konva $got, wanted $KONVA_VERSION" >&2; exit 1; }
integrity=$(cd "$tmp" && npm view --silent "konva@$KONVA_VERSION" dist.integrity)

mkdir -p "$DEST"
cp "$tmp/package/konva.min.js" "$DEST/konva.min.js"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
sha=$(sha256sum "$DEST/konva.min.js" | cut -d' ' -f1)

cat > "$RECORD" <<MD
# Vendored browser libraries

Written by \`scripts/vendor.sh\` (do not edit by hand). The files are served by Django's
static files; nothing is loaded from a CDN. \`scripts/vendor.sh --check\` verifies them.

| package | version | file | sha256 | npm tarball integrity |
|---|---|---|---|---|
| konva | $KONVA_VERSION | $DEST/konva.min.js | $sha | $integrity |
MD
echo "==> $DEST/konva.min.js  konva $KONVA_VERSION  sha256 $sha"
