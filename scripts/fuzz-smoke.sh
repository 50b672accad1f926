#!/usr/bin/env bash
# Fuzz smoke test: builds the libFuzzer targets in fuzz/ and runs each one for a bounded
# time over its committed seed corpus (fuzz/corpus/<target>), failing on the first crash,
# panic, overflow or hang. See fuzz/README.md.
#
# Installs cargo-fuzz if it is missing: `cargo install --locked cargo-fuzz --version
# $version`, built from its crates.io source into $CARGO_HOME/bin (about a minute, once);
# any other version is replaced by the pinned one.
#
# FUZZ_SECONDS: seconds per target (default 20). FUZZ_TARGETS: which targets (default:
# all). FUZZ_SANITIZER: none (default) or address. CARGO picks the cargo binary (default:
# cargo). Builds go to ${CARGO_TARGET_DIR:-target}/fuzz (fuzz-address for ASan), kept
# between runs so only the first build is cold.
#
# New inputs the fuzzer finds go to a temporary directory, never into the committed
# corpus. A crashing input is left in fuzz/artifacts/<target>/ (not committed); the
# script prints its path and the command that reproduces it.
set -euo pipefail
cargo=${CARGO:-cargo}
version=0.13.2
seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-none}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

have=$("$cargo" fuzz --version 2>/dev/null || true)
if [ "$have" = "cargo-fuzz $version" ]; then
  echo "==> cargo-fuzz $version present"
else
  if [ -n "$have" ]; then
    echo "==> replacing $have with the pinned cargo-fuzz $version (cargo install --locked, from crates.io)"
  else
    echo "==> installing cargo-fuzz $version (cargo install --locked, from crates.io; about a minute, once)"
  fi
  "$cargo" install --locked --quiet cargo-fuzz --version "$version"
  echo "==> installed: $("$cargo" fuzz --version)"
fi

# No AddressSanitizer by default: Rust code is memory safe (our crates forbid `unsafe`),
# and the panics and arithmetic overflows these targets look for are caught without it,
# since cargo-fuzz builds with debug assertions. Without ASan the targets run about seven
# times as many inputs in the same time, and build faster.
target_dir=${CARGO_TARGET_DIR:-$root/target}/fuzz
bootstrap=
if [ "$sanitizer" != none ]; then
  target_dir=$target_dir-$sanitizer
  # A sanitizer is the unstable rustc flag -Zsanitizer, which only a nightly compiler
  # accepts; the project pins a stable toolchain (rust-toolchain.toml) and no nightly
  # can be installed everywhere, so this lets the pinned rustc accept it, for this
  # script's builds only (the fuzz crate is its own workspace). Without a sanitizer,
  # cargo-fuzz's instrumentation is all stable -C flags and this is not needed.
  export RUSTC_BOOTSTRAP=1
  bootstrap="RUSTC_BOOTSTRAP=1 "
fi
build_flags=(--sanitizer "$sanitizer" --target-dir "$target_dir")

read -r -a targets <<<"${FUZZ_TARGETS:-$("$cargo" fuzz list | tr '\n' ' ')}"
echo "==> building the fuzz targets (sanitizer: $sanitizer)"
build_start=$SECONDS
"$cargo" fuzz build "${build_flags[@]}"
echo "==> built in $((SECONDS - build_start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  seeds=fuzz/corpus/$target
  mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
  touch "$scratch/$target.start"
  log=$scratch/$target.log
  echo "==> $target: ${seconds} s over $(find "$seeds" -type f | wc -l) seed inputs"
  # The first corpus directory receives new inputs: the scratch one. -timeout makes an
  # input that takes 10 s (a hang or quadratic blow-up) a failure too.
  if "$cargo" fuzz run "${build_flags[@]}" "$target" "$scratch/$target" "$seeds" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "    ok: ${runs:-?} inputs, no crash"
  else
    failed+=("$target")
    echo "    FAILED; the fuzzer said:"
    # The panic message, or libFuzzer's own report of a timeout, leak or signal (the
    # input itself may hold NULs); the tail of the output when neither is there.
    report=$(tr -d '\000' <"$log" |
      sed -n '/panicked at\|ERROR: libFuzzer\|ALARM: working on/,/stack backtrace:\|SUMMARY: libFuzzer/p' |
      head -n 40)
    if [ -z "$report" ]; then report=$(tr -d '\000' <"$log" | tail -n 40); fi
    sed 's/^/    | /' <<<"$report"
    find "fuzz/artifacts/$target" -type f -newer "$scratch/$target.start" | while read -r input; do
      echo "    crashing input: $input"
      echo "    reproduce: ${bootstrap}cargo fuzz run ${build_flags[*]} $target $input"
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "==> fuzz smoke FAILED: ${failed[*]}"
  exit 1
fi
echo "==> fuzz smoke passed: ${#targets[@]} targets, ${seconds} s each"
