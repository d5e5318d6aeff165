#!/usr/bin/env bash
# Re-download the dashboard's vendored files from the npm registry and rewrite MANIFEST.toml.
#
# For humans bumping a version: the build never runs this, and nothing in the product needs Node
# (the files below are committed; crates/admin/build.rs checks each one against the manifest's
# sha256 at every build). Needs npm and python3.
#
#   ui/vendor/refresh.sh          # fetch the pinned versions below, overwrite the vendored files
#
# To bump: change a version in PACKAGES, run the script, look at `git diff ui/vendor`, run the
# dashboard's browser test (cargo nextest run -p switchboard-server --test dashboard).
#
# What it does to the files: bare module specifiers ("preact", "preact/hooks",
# "@preact/signals-core") are rewritten to relative paths, so the browser needs no import map
# (an import map is an inline script, which the dashboard's CSP does not allow), and the
# `//# sourceMappingURL=` lines are dropped (the maps are not shipped). Nothing else changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# dir | npm package@version | files to take (package-relative) | license file
PACKAGES=(
  "preact@10.29.8|preact@10.29.8|dist/preact.module.js hooks/dist/hooks.module.js|LICENSE"
  "htm@3.1.1|htm@3.1.1|dist/htm.module.js|LICENSE"
  "signals-core@1.14.5|@preact/signals-core@1.14.5|dist/signals-core.module.js|LICENSE"
  "signals@2.11.4|@preact/signals@2.11.4|dist/signals.module.js|LICENSE"
  "uplot@1.6.32|uplot@1.6.32|dist/uPlot.iife.min.js dist/uPlot.min.css|LICENSE"
)

# Where each bare specifier points, relative to a file one level down in ui/vendor/<dir>/.
rewrite() {
  sed -E \
    -e 's#from ?"preact"#from"../preact@10.29.8/preact.module.js"#g' \
    -e 's#from ?"preact/hooks"#from"../preact@10.29.8/hooks.module.js"#g' \
    -e 's#from ?"@preact/signals-core"#from"../signals-core@1.14.5/signals-core.module.js"#g' \
    -e '/^\/\/# sourceMappingURL=/d' "$1"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
manifest="$work/MANIFEST.toml"
{
  echo "# The dashboard's vendored files: written by refresh.sh, checked by crates/admin/build.rs"
  echo "# (each file's sha256) at every build, listed with their licenses at /ui/licenses."
} >"$manifest"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r dir spec files license <<<"$entry"
  name="${spec%@*}"
  version="${spec##*@}"
  echo "refresh: $spec"
  info="$(cd "$work" && npm pack "$spec" --json --silent)"
  tarball="$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["filename"])' <<<"$info")"
  integrity="$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])' <<<"$info")"
  spdx="$(tar xzf "$work/$tarball" -O package/package.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["license"])')"
  rm -rf "$dir"
  mkdir -p "$dir"
  tar xzf "$work/$tarball" -O "package/$license" >"$dir/LICENSE"
  {
    echo
    echo "[[package]]"
    echo "name = \"$name\""
    echo "version = \"$version\""
    echo "license = \"$spdx\""
    echo "integrity = \"$integrity\""
    echo "dir = \"$dir\""
  } >>"$manifest"
  for f in $files; do
    base="$(basename "$f")"
    tar xzf "$work/$tarball" -O "package/$f" >"$work/raw"
    case "$base" in
      *.js) rewrite "$work/raw" >"$dir/$base" ;;
      *) cp "$work/raw" "$dir/$base" ;;
    esac
    {
      echo "[[package.file]]"
      echo "path = \"$base\""
      echo "from = \"$f\""
      echo "sha256 = \"$(sha256sum "$dir/$base" | cut -d' ' -f1)\""
    } >>"$manifest"
  done
  echo "[[package.file]]" >>"$manifest"
  echo "path = \"LICENSE\"" >>"$manifest"
  echo "from = \"$license\"" >>"$manifest"
  echo "sha256 = \"$(sha256sum "$dir/LICENSE" | cut -d' ' -f1)\"" >>"$manifest"
done
cp "$manifest" MANIFEST.toml
echo "refresh: done; review with: git diff --stat -- ui/vendor"
