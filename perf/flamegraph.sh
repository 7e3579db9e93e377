#!/usr/bin/env bash
# perf/flamegraph.sh — profile a proxy under load with `perf record` and
# write the profile as text reports, `perf script` output and folded stacks
# (plus an SVG flame graph when inferno or FlameGraph is installed).
#
# Two ways to run it:
#   perf/flamegraph.sh [--proxy portier]   starts backend nginx (CPU 1),
#        the proxy (CPU 0, one worker) and wrk (CPU 1) exactly like load.sh,
#        and records the proxy while wrk runs;
#   perf/flamegraph.sh --pid PID           attaches to a process that is
#        already running (a staging portier, say) for --duration while you
#        generate the load yourself.
#
# Output: perf/out/flame-<timestamp>-<name>/ with perf.data, report.txt,
# perf.script, stacks.folded and, if a renderer is found, flamegraph.svg.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PROXY=portier
ATTACH_PID=""
DURATION=10s
WARMUP=2s
URL_PATH=/100b
CONNS=64
CALL_GRAPH=dwarf
FREQ=999
BUILD=0

usage() {
    cat <<EOF
usage: $0 [options]
  --proxy NAME         portier, nginx or haproxy: start it and profile it (default $PROXY)
  --pid PID            profile this running process instead (you generate the load)
  --duration D         recording time (default $DURATION)
  --warmup D           load before recording starts (default $WARMUP)
  --path P             /100b or /1m (default $URL_PATH)
  --connections C      wrk connections (default $CONNS)
  --call-graph MODE    dwarf (default: works without frame pointers) or fp (= perf record -g)
  --freq HZ            sampling frequency (default $FREQ)
  --build              run 'cargo build --release' first
environment: PORTIER_BIN=path, KEEP_TMP=1
EOF
}

while (($#)); do
    case $1 in
        --proxy) PROXY=${2:?}; shift 2 ;;
        --pid) ATTACH_PID=${2:?}; shift 2 ;;
        --duration) DURATION=${2:?}; shift 2 ;;
        --warmup) WARMUP=${2:?}; shift 2 ;;
        --path) URL_PATH=${2:?}; shift 2 ;;
        --connections) CONNS=${2:?}; shift 2 ;;
        --call-graph) CALL_GRAPH=${2:?}; shift 2 ;;
        --freq) FREQ=${2:?}; shift 2 ;;
        --build) BUILD=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

DUR_S=$(dur_to_secs "$DURATION")
WARM_S=$(dur_to_secs "$WARMUP")
case $CALL_GRAPH in
    dwarf) CG_ARGS=(--call-graph "dwarf,16384") ;;
    fp) CG_ARGS=(-g) ;;
    *) die "--call-graph must be dwarf or fp" ;;
esac
case $URL_PATH in /100b | /1m) ;; *) die "--path must be /100b or /1m" ;; esac
[[ $FREQ =~ ^[1-9][0-9]*$ ]] || die "--freq must be a positive integer"

need_tool perf awk
if [[ $(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 0) -gt 1 && $EUID -ne 0 ]]; then
    die "perf needs root or kernel.perf_event_paranoid <= 1 (sysctl -w kernel.perf_event_paranoid=1)"
fi

perf_init
mkdir -p "$OUT_DIR"

if [[ -n $ATTACH_PID ]]; then
    kill -0 "$ATTACH_PID" 2>/dev/null || die "no process $ATTACH_PID"
    NAME=$(cat "/proc/$ATTACH_PID/comm")
    mapfile -t TARGET_PIDS < <(proc_tree "$ATTACH_PID")
    RESULT="$OUT_DIR/flame-$(date +%Y%m%d-%H%M%S)-$NAME"
    mkdir -p "$RESULT"
    log "recording $NAME (PIDs ${TARGET_PIDS[*]}) for ${DUR_S}s; generate the load now"
    run_waitable perf record -F "$FREQ" "${CG_ARGS[@]}" -p "$(
        IFS=,
        echo "${TARGET_PIDS[*]}"
    )" -o "$RESULT/perf.data" -- sleep "$DUR_S" 2>"$RESULT/record.log" >&2 ||
        { cat "$RESULT/record.log" >&2; die "perf record failed"; }
else
    need_tool wrk nginx taskset python3 curl timeout
    PORTIER=""
    case $PROXY in
        portier) PORTIER=$(portier_binary "$BUILD") ;;
        haproxy) need_tool haproxy ;;
        nginx) ;;
        *) die "--proxy must be portier, nginx or haproxy" ;;
    esac
    perf_choose_cpus
    perf_raise_nofile
    make_docroot
    read -r BACKEND_PORT PORT <<<"$(free_ports 2)"
    log "backend nginx on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"
    start_backend
    log "starting $PROXY on 127.0.0.1:$PORT (CPU $PROXY_CPU)"
    start_proxy "$PROXY" "$PORT" "$PORTIER"
    NAME=$PROXY
    RESULT="$OUT_DIR/flame-$(date +%Y%m%d-%H%M%S)-$NAME"
    mkdir -p "$RESULT"
    mapfile -t TARGET_PIDS < <(proc_tree "${PROXY_PID[$PROXY]}")

    # One wrk run covers warm-up + recording (+1 s of slack at the end), so
    # the recording never sees connection set-up or tear-down.
    total=$((WARM_S + DUR_S + 1))
    log "load: wrk -c$CONNS for ${total}s on $URL_PATH; recording ${DUR_S}s after ${WARM_S}s"
    timeout $((total + 30)) taskset -c "$LOAD_CPU" \
        wrk -t1 -c"$CONNS" -d"${total}s" --timeout 5s --latency "http://127.0.0.1:$PORT$URL_PATH" \
        >"$RESULT/wrk.txt" 2>&1 &
    WRK_PID=$!
    STARTED_PIDS+=("$WRK_PID")
    sleep "$WARM_S"
    t0=$(cpu_ticks "${TARGET_PIDS[@]}")
    run_waitable perf record -F "$FREQ" "${CG_ARGS[@]}" -p "$(
        IFS=,
        echo "${TARGET_PIDS[*]}"
    )" -o "$RESULT/perf.data" -- sleep "$DUR_S" 2>"$RESULT/record.log" >&2 ||
        { cat "$RESULT/record.log" >&2; die "perf record failed"; }
    t1=$(cpu_ticks "${TARGET_PIDS[@]}")
    wait "$WRK_PID" || die "wrk failed: $(cat "$RESULT/wrk.txt")"
    forget_pid "$WRK_PID"
    kill -0 "${PROXY_PID[$PROXY]}" 2>/dev/null || {
        tail_log "${PROXY_LOG[$PROXY]}"
        die "$PROXY died under load"
    }
    log "proxy CPU while recording: $(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v d="$DUR_S" \
        'BEGIN { printf "%.2f s (%.0f%% of one core)", t / hz, 100 * t / hz / d }') — perf's own overhead is included"
fi

log "writing reports to $RESULT"
{
    echo "# perf profile of $NAME — $(date '+%Y-%m-%d %H:%M:%S')"
    echo "# perf record -F $FREQ ${CG_ARGS[*]} -p $(IFS=,; echo "${TARGET_PIDS[*]}") -- sleep $DUR_S"
    echo "# kernel $(uname -r), $(perf --version)"
    echo
    echo "## Where the time goes: user space vs kernel (by object)"
    perf report -i "$RESULT/perf.data" --stdio --no-children -g none --sort dso --percent-limit 0.5 2>/dev/null |
        grep -v '^#' | grep -v '^$' || true
    echo
    echo "## Hottest functions (self time)"
    perf report -i "$RESULT/perf.data" --stdio --no-children -g none --sort dso,sym --percent-limit 0.3 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 80 || true
    echo
    echo "## Inclusive time (children), top callers"
    perf report -i "$RESULT/perf.data" --stdio --children -g none --sort sym --percent-limit 2 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 60 || true
} >"$RESULT/report.txt"

perf script -i "$RESULT/perf.data" -F comm,ip,sym,dso 2>/dev/null >"$RESULT/perf.script" || true

# Fold the stacks (the format of FlameGraph's stackcollapse-perf.pl): one
# line per distinct stack, root first, frames joined by ';', sample count
# last. Kernel frames get the '_[k]' suffix the renderers colour.
awk '
    function flush(   i, s) {
        if (comm == "") return
        s = comm
        for (i = n; i >= 1; i--) s = s ";" frame[i]
        count[s]++
        comm = ""; n = 0
    }
    /^[^ \t]/ { flush(); comm = $0; sub(/[ \t]+$/, "", comm); gsub(/[ ;]/, "_", comm); n = 0; next }
    /^[ \t]*$/ { flush(); next }
    {
        line = $0; sub(/^[ \t]+[0-9a-f]+[ \t]+/, "", line)
        dso = ""
        if (match(line, / \([^()]*\)$/)) { dso = substr(line, RSTART + 2, RLENGTH - 3); line = substr(line, 1, RSTART - 1) }
        sub(/\+0x[0-9a-f]+$/, "", line)
        sub(/::h[0-9a-f]{16}$/, "", line)           # Rust legacy-mangling hash
        if (line == "[unknown]" && dso != "") { n2 = split(dso, parts, "/"); line = "[" parts[n2] "]" }
        gsub(/;/, ":", line)
        if (dso ~ /kernel\.kallsyms|^\[kernel/) line = line "_[k]"
        frame[++n] = line
    }
    END { flush(); for (s in count) print s, count[s] }
' "$RESULT/perf.script" | sort >"$RESULT/stacks.folded"

SVG=""
if command -v inferno-flamegraph >/dev/null 2>&1; then
    inferno-flamegraph --title "$NAME ($URL_PATH, ${DUR_S}s)" <"$RESULT/stacks.folded" >"$RESULT/flamegraph.svg" && SVG=yes
elif command -v flamegraph.pl >/dev/null 2>&1; then
    flamegraph.pl --title "$NAME ($URL_PATH, ${DUR_S}s)" "$RESULT/stacks.folded" >"$RESULT/flamegraph.svg" && SVG=yes
fi

echo
sed -n '1,/^## Inclusive/p' "$RESULT/report.txt" | head -n 60
echo
echo "Profile:        $RESULT/perf.data  (perf report -i $RESULT/perf.data)"
echo "Text report:    $RESULT/report.txt"
echo "perf script:    $RESULT/perf.script"
echo "Folded stacks:  $RESULT/stacks.folded ($(wc -l <"$RESULT/stacks.folded") distinct stacks)"
if [[ -n $SVG ]]; then
    echo "Flame graph:    $RESULT/flamegraph.svg"
else
    echo "No flame graph renderer found: 'cargo install inferno' then"
    echo "    inferno-flamegraph < $RESULT/stacks.folded > flamegraph.svg"
fi
