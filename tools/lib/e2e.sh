# shellcheck shell=bash
# Shared scaffolding of the end-to-end tests (tests/e2e/*_test.sh). Source it after common.sh;
# then call e2e_init "<tmp tag>" once, at the top of the test.
#
# e2e_init does what every test needs before its first check:
#   - re-runs the script in a child bash and only waits for it here, so that Ctrl-C and TERM
#     reach the test promptly as a TERM, whose trap ends it and runs the cleanup;
#   - takes the test bed lock (one user of the fixed namespace names at a time);
#   - makes $TMP, sets the EXIT/INT/TERM traps: background helpers are killed, the test bed is
#     taken down (unless MPF_E2E_KEEP=1 and a check failed), $TMP removed; e2e_on_cleanup adds
#     a function to run first (stopping daemons the test started).
# Checks print "ok - ..." / "not ok - ..." (ok, nok); e2e_finish prints the summary and exits
# 0 when every check passed, 1 otherwise.

e2e_init() { # tmp-tag "$@"
    local tag="$1"; shift
    if [ "${MPF_E2E_INNER:-0}" != 1 ]; then
        MPF_E2E_INNER=1 bash "$0" "$@" &
        local child=$! sig=0 rc
        trap 'sig=130; kill -TERM "$child" 2>/dev/null || true' INT
        trap 'sig=143; kill -TERM "$child" 2>/dev/null || true' TERM
        while :; do
            rc=0
            wait "$child" || rc=$?
            kill -0 "$child" 2>/dev/null || break
        done
        if [ "$sig" != 0 ]; then exit "$sig"; fi
        exit "$rc"
    fi
    testbed_lock || { echo "not ok - test bed busy"; exit 1; }
    E2E_T0="$(now_ms)"
    TMP="$(mktemp -d "/tmp/mpf-e2e-$tag.XXXXXX")"
    PASS=0
    FAILS=()
    BG_PIDS=()
    E2E_CLEANUPS=()
    trap e2e_cleanup EXIT
    trap 'echo "not ok - interrupted"; exit 130' INT
    trap 'echo "not ok - interrupted (SIGTERM)"; exit 143' TERM
    trap 'echo "# command failed (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
}

e2e_on_cleanup() { E2E_CLEANUPS+=("$1"); }

# The test bed tool (TB), the dataplane it starts (BIN: MPF_DATAPLANE or the build's, exported
# for tools/testbed) and the appliances' configs: configs/examples/*-2paths.conf.
e2e_example_appliances() {
    TB=(bash "$MPF_ROOT/tools/testbed")
    BIN="${MPF_DATAPLANE:-$(mpf_build_dir)/dataplane/mpf-dataplane}"
    export MPF_DATAPLANE="$BIN"
    export MPF_GW_CONF="$MPF_ROOT/configs/examples/gateway-2paths.conf"
    export MPF_SRV_CONF="$MPF_ROOT/configs/examples/server-2paths.conf"
}

# ---- mpf-controld beside the appliances (tests that drive mpfctl). CTLD and CTL are the
# binaries (default: the build's); the test sets GW_SOCK / SRV_SOCK (the sockets, under $TMP);
# e2e_controld registers stopping the daemons at cleanup.
CTLD="${CTLD:-$(mpf_build_dir)/control/mpf-controld}"
CTL="${CTL:-$(mpf_build_dir)/control/mpfctl}"
e2e_controld() {
    declare -gA CTLD_PID=()
    e2e_on_cleanup stop_ctlds
}
start_ctld() { # gw|srv [controld args...]: true once its socket exists
    local a="$1" name=gateway sock="$GW_SOCK" i; shift
    [ "$a" = gw ] || { name=server; sock="$SRV_SOCK"; }
    bg "$TMP/controld-$a.log" "$CTLD" --dataplane "$name" --socket "$sock" "$@"
    CTLD_PID[$a]=$LAST_BG
    for i in $(seq 50); do [ -S "$sock" ] && return 0; sleep 0.1; done
    return 1
}
stop_ctlds() { local p; for p in "${CTLD_PID[@]}"; do kill "$p" 2>/dev/null || true; done; }
ctl() { # gw|srv mpfctl-args... (JSON out)
    local sock="$GW_SOCK"; [ "$1" = gw ] || sock="$SRV_SOCK"; shift
    "$CTL" --socket "$sock" --json "$@"
}
# A value from JSON on stdin: jget EXPR, EXPR in Python over `d` (e.g. d["counters"]["x"]).
jget() { "$MPF_PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# A field of a path in `mpfctl paths`; -1 when the daemon did not answer (the check using it
# then fails, the test goes on).
path_field() { # gw|srv path field
    ctl "$1" paths | jget "[p for p in d['paths'] if p['name'] == '$2'][0]['$3']" 2>/dev/null || echo -1
}

# ---- the appliances' logs (tools/testbed's state directory)
# Lines of an appliance's current log matching an extended regex.
count_in_log() { grep -cE "$2" "${MPF_TESTBED_STATE:-/tmp/mpf-testbed}/$1.log" 2>/dev/null || true; }
# Waits up to timeout_s for more than `before` lines matching the regex.
wait_count() { # gw|srv regex before timeout_s
    local _i
    for _i in $(seq $(( $4 * 20 ))); do
        [ "$(count_in_log "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# shellcheck disable=SC2317  # (invoked by trap)
e2e_cleanup() {
    local rc=$? p f
    trap - EXIT INT TERM
    for f in "${E2E_CLEANUPS[@]}"; do "$f" || true; done
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ "${MPF_E2E_KEEP:-0}" = 1 ] && [ "${#FAILS[@]}" -gt 0 ]; then
        echo "# MPF_E2E_KEEP=1: test bed left up (tools/testbed status / down); files in $TMP"
    else
        bash "$MPF_ROOT/tools/testbed" down >/dev/null 2>&1 || true
        rm -rf "$TMP"
    fi
    for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    exit "$rc"
}

ok()  { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAILS+=("$*"); echo "not ok - $*"; }
note() { echo "# $*"; }
check() { # description command...: ok when the command succeeds
    local what="$1"; shift
    if "$@"; then ok "$what"; else nok "$what"; fi
}
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
# Start a helper in the background, killed at exit; output to the file named first. bgns runs
# it in a namespace (the pid is the helper's own: ip netns exec execs it). LAST_BG = its pid.
bg() { # outfile cmd...
    local out="$1"; shift
    "$@" >"$out" 2>&1 </dev/null 9>&- &
    BG_PIDS+=("$!")
    LAST_BG=$!
}
bgns() { # outfile ns cmd...
    local out="$1" ns="$2"; shift 2
    ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null 9>&- &
    BG_PIDS+=("$!")
    LAST_BG=$!
}
fcmp() { awk "BEGIN { exit !($1) }"; }

e2e_finish() { # name
    local secs
    secs="$(fmt_secs $(( $(now_ms) - E2E_T0 )))"
    if [ "${#FAILS[@]}" -eq 0 ]; then
        echo "# $1: all $PASS checks passed in ${secs} s"
        exit 0
    fi
    echo "# $1: ${#FAILS[@]} failed, $PASS passed in ${secs} s:"
    local f
    for f in "${FAILS[@]}"; do echo "#   $f"; done
    exit 1
}
