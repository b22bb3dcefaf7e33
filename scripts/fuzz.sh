#!/usr/bin/env bash
# Fuzzes Distributary's input boundaries with cargo-fuzz (libFuzzer), a short run per target, and
# fails if any target finds a crash, a panic, a broken contract or a hang.
#
#   workflow_yaml        workflow::load on a workflow file (marked-yaml, schema, graph checks,
#                        rendered diagnostics)
#   rhai_compile         RuleSet::compile of a rule script under the sandbox limits, then one run
#   exec_line            Envelope::parse + Engine::execute_line on a fresh in-memory engine
#                        (an input is up to 256 request lines; no answer may be `internal`)
#   adapter_shopee, adapter_lazada, adapter_tiktok_shop, adapter_temu
#                        each adapter's parse_orders / parse_order_list / map_status on any body,
#                        checked against the canonical-order contract
#
# Not part of CI (.ci/run): the instrumented build alone takes about ten minutes on two cores.
# Run it by hand after touching a parser, the loader, the rules runtime or the protocol:
#
#   cargo install cargo-fuzz --locked      # once
#   scripts/fuzz.sh                        # every target, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 scripts/fuzz.sh exec_line adapter_temu
#
# Environment:
#   FUZZ_SECONDS    how long each target runs (default 20)
#   FUZZ_TOOLCHAIN  the rustup toolchain (default stable: `--sanitizer none` needs no nightly;
#                   with nightly, FUZZ_SANITIZER=address also works)
#   FUZZ_SANITIZER  none (default), address, ...
#
# Targets are built like `cargo build --release` with debug assertions and overflow checks on
# (cargo-fuzz's default), so an arithmetic overflow is a crash. Each target's corpus grows in
# fuzz/corpus/<target>/ (ignored by git) and is read again on the next run; the seeds are the
# project's own fixtures, read in place (fuzz/seeds/exec_line is made from tests/scenarios by
# fuzz/seeds/exec_line_from_scenarios.py). A crashing input is written to
# fuzz/artifacts/<target>/; reproduce it with
#   cd fuzz && cargo +stable fuzz run --sanitizer none <target> artifacts/<target>/<file>
# then fix the cause and turn the input into a #[test] in the crate concerned.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-20}
toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
all=(workflow_yaml rhai_compile exec_line adapter_shopee adapter_lazada adapter_tiktok_shop adapter_temu)
targets=("${@:-${all[@]}}")

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# The seed folders of a target, relative to fuzz/.
seeds() {
    case "$1" in
        workflow_yaml) echo ../rules/workflows ../tests/packs/on_hold/workflows ;;
        rhai_compile) echo ../rules/scripts ../tests/packs/on_hold/scripts ;;
        exec_line) echo seeds/exec_line ;;
        adapter_tiktok_shop) echo ../marketplace-adapters/tiktok-shop/tests/fixtures ;;
        adapter_*) echo "../marketplace-adapters/${1#adapter_}/tests/fixtures" ;;
        *)
            echo "fuzz.sh: unknown target $1 (known: ${all[*]})" >&2
            exit 2
            ;;
    esac
}

cd "$root/fuzz"
for target in "${targets[@]}"; do seeds "$target" >/dev/null; done
cargo "+$toolchain" fuzz build --sanitizer "$sanitizer"

failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="corpus/$target.log"
    echo "== $target: ${seconds}s"
    # shellcheck disable=SC2046 # the seed folders are words
    if cargo "+$toolchain" fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" \
        $(seeds "$target") -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        failed+=("$target")
        tail -n 40 "$log"
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || echo 'cov: ?')
    summary+=("$(printf '%-20s %-6s %10s runs  %s' "$target" "$result" "$runs" "$cov")")
done

printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
