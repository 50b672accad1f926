#!/usr/bin/env bash
# Installs cargo-deny, the checker of the dependency policy in deny.toml (licenses, bans,
# sources, advisories), if it is missing: `cargo install --locked cargo-deny --version
# $version`, built from its crates.io source into $CARGO_HOME/bin (a few minutes, once).
# Idempotent: does nothing when the pinned version is installed; any other version is
# replaced by the pinned one, so every machine checks with the same rules.
# CARGO picks the cargo binary (default: cargo).
set -euo pipefail
cargo=${CARGO:-cargo}
version=0.20.2

have=$("$cargo" deny --version 2>/dev/null || true)
if [ "$have" = "cargo-deny $version" ]; then
  echo "==> cargo-deny $version present"
  exit 0
fi
if [ -n "$have" ]; then
  echo "==> replacing $have with the pinned cargo-deny $version (cargo install --locked, from crates.io)"
else
  echo "==> installing cargo-deny $version (cargo install --locked, from crates.io; a few minutes, once)"
fi
"$cargo" install --locked --quiet cargo-deny --version "$version"
echo "==> installed: $("$cargo" deny --version)"
