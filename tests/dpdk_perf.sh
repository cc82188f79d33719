# shellcheck shell=bash
# tests/dpdk_perf.sh — dpdk_packet_processing 的效能比較（-p），由 tests/dpdk.sh 載入（用它的 DPDK_PROG、DPDK_PY、dpdk_gen）。

# ---------------------------------------------------------------- 效能比較（-p）：對上 dpdk-testpmd
# 速率一律是「每秒讀數」：我們讀 [統計] 行的 rx_pps / tx_pps（程式每秒把計數差除以經過時間），
# testpmd 用 --stats-period 1 非互動執行，讀它每個週期印的 Rx-pps / Tx-pps——就是 `show port stats`
# 的算法（這次與上次 ipackets/opackets 的差，除以兩次之間的時間），各 port 相加。
# 丟掉前面的讀數（啟動、暖機），取最後 DPDK_PERF_KEEP 個讀數的中位數當這一回合的值。
DPDK_PERF_SECS=${DPDK_PERF_SECS:-5}
DPDK_PERF_KEEP=${DPDK_PERF_KEEP:-3}
DPDK_PERF_ROUNDS=${DPDK_PERF_ROUNDS:-3}  # 交錯幾回合（只重跑某幾列時可以減少，例如 DPDK_PERF_ROUNDS=2）
DPDK_PERF_ONLY=${DPDK_PERF_ONLY:-}      # 非空時 dpdk_t_perf_null 只跑這些模式（空白分隔，例如 "macswap io"），其他 -p 列略過
DPDK_TESTPMD_COMMON=(--in-memory --no-pci)

# dpdk_ours_rate LOG METRIC：[統計] 行的 METRIC（rx_pps|tx_pps）最後 KEEP 個讀數的中位數
dpdk_ours_rate() {
    local vals
    mapfile -t vals < <(grep '^\[統計\]' "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p" | tail -n "$DPDK_PERF_KEEP")
    [ ${#vals[@]} -gt 0 ] || { echo 0; return 0; }
    median "${vals[@]}"
}
# dpdk_testpmd_rate LOG PORTS WHICH(Rx|Tx)：testpmd 每個週期各 port 的 WHICH-pps 相加，最後 KEEP 個週期的中位數
dpdk_testpmd_rate() {
    local vals
    mapfile -t vals < <(awk -v p="$2" -v w="$3-pps:" '$1 == w { s += $2; n++; if (n % p == 0) { print s; s = 0 } }' "$1" |
        tail -n "$DPDK_PERF_KEEP")
    [ ${#vals[@]} -gt 0 ] || { echo 0; return 0; }
    median "${vals[@]}"
}

# dpdk_perf_run LOG KIND METRIC PORTS CMD...：執行 CMD（我們的程式或 testpmd）DPDK_PERF_SECS + DPDK_PERF_KEEP 秒，輸出速率
# PRE 是前置指令（例如 ip netns exec NS），INJECT 變數非空時在 [就緒] 後執行它（注入封包）
dpdk_perf_run() { # LOG KIND(ours|testpmd) METRIC PORTS CMD...
    local log=$1 kind=$2 metric=$3 ports=$4
    shift 4
    local secs=$((DPDK_PERF_SECS + DPDK_PERF_KEEP))
    if [ -n "${DPDK_INJECT:-}" ]; then secs=$((secs + 2)); fi
    "$@" >"$log" 2>&1 &
    local pid=$! marker='\[就緒\]'
    [ "$kind" == ours ] || marker='Rx-pps'
    if [ -n "${DPDK_INJECT:-}" ] && wait_marker "$log" "$marker" 20 "$pid"; then
        eval "$DPDK_INJECT" >/dev/null 2>&1 || true
    fi
    local t0=$SECONDS
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < secs)); do sleep 0.2; done
    kill -INT "$pid" 2>/dev/null || true
    wait_exit "$pid" 15 >/dev/null || true
    if [ "$kind" == ours ]; then
        dpdk_ours_rate "$log" "$metric"
    else
        local w=Tx
        [ "$metric" == rx_pps ] && w=Rx
        dpdk_testpmd_rate "$log" "$ports" "$w"
    fi
}

# dpdk_bench NAME 說明 METRIC PORTS OURS_CMD_VAR TESTPMD_CMD_VAR：交錯 DPDK_PERF_ROUNDS 回合，以 bench_pair 寫一列
# （兩邊各回合的中位數、離散度與配對比值的 95% 區間）；DPDK_BENCH_RATIO = 配對比值的中位數，goal 會用 bench_pair 留下的區間。
# OURS_CMD/TESTPMD_CMD 以陣列名稱傳入（nameref）
dpdk_bench() {
    local name=$1 workload=$2 metric=$3 ports=$4
    local -n _ours=$5 _peer=$6
    local r o p os=() ps=()
    for ((r = 1; r <= DPDK_PERF_ROUNDS; r++)); do
        o=$(dpdk_perf_run "$WORK/dpdk-perf-$name-ours-$r.log" ours "$metric" "$ports" "${_ours[@]}")
        p=$(dpdk_perf_run "$WORK/dpdk-perf-$name-testpmd-$r.log" testpmd "$metric" "$ports" "${_peer[@]}")
        os+=("$(awk -v v="$o" 'BEGIN{printf "%.3f", v/1e6}')") ps+=("$(awk -v v="$p" 'BEGIN{printf "%.3f", v/1e6}')")
    done
    bench_pair DPDK "$workload" "${metric/_pps/}_rate" Mpps higher "${os[*]}" "${ps[*]}" dpdk-testpmd
    DPDK_BENCH_OURS=$(awk -v v="$(median "${os[@]}")" 'BEGIN{printf "%.0f", v*1e6}')
    DPDK_BENCH_PEER=$(awk -v v="$(median "${ps[@]}")" 'BEGIN{printf "%.0f", v*1e6}')
    DPDK_BENCH_RATIO=$(cut -d' ' -f1 <<<"$BENCH_CI")
}

dpdk_t_perf_null() {
    need_root dpdk.perf_null || return 0
    need_bin "$DPDK_PROG" dpdk.perf_null || return 0
    need_cmd dpdk-testpmd dpdk.perf_null dpdk-dev || return 0
    local prog=$ROOT/$DPDK_PROG pair mode tmode metric
    local null=(--vdev net_null0 --vdev net_null1)
    for pair in macswap:macswap:tx_pps io:io:tx_pps drop:rxonly:rx_pps; do
        IFS=: read -r mode tmode metric <<<"$pair"
        [ -z "$DPDK_PERF_ONLY" ] || [[ " $DPDK_PERF_ONLY " == *" $mode "* ]] || continue
        # shellcheck disable=SC2034 # 以 nameref 傳給 dpdk_bench
        local ours=("$prog" -l 0-1 --no-pci "${null[@]}" -- --mode "$mode")
        # shellcheck disable=SC2034
        local peer=(dpdk-testpmd -l 0-1 "${DPDK_TESTPMD_COMMON[@]}" "${null[@]}" --
            "--forward-mode=$tmode" --stats-period 1 --total-num-mbufs=8191)
        dpdk_bench "null_$mode" "net_null×2 $mode 1 worker" "$metric" 2 ours peer
        # issue 的目標：每個模式 ≥ 1.0 × testpmd。testpmd 的 io 不看 frame 內容，我們每個 frame 都先做 malformed 檢查
        # （讀一條 cache line），在每個 frame 只花約 9 ns 的 net_null 上這個差別看得出來；比值寫在 bench.csv。
        goal "dpdk.perf_null_$mode" "$mode（testpmd $tmode）1 個 worker，兩個 net_null port：我們 / testpmd ≥ 1.0" \
            "$DPDK_BENCH_RATIO" '>=' 1.0
        if [ "$mode" == macswap ]; then DPDK_ONE_WORKER=$DPDK_BENCH_OURS DPDK_ONE_WORKER_PEER=$DPDK_BENCH_PEER; fi
    done
    [ -z "$DPDK_PERF_ONLY" ] || return 0
    # 兩個 worker：lcore 0（main，幾乎都在睡）與 worker 1 共用 CPU 0，worker 2 在 CPU 1；每個 port 2 個 queue
    # shellcheck disable=SC2034
    local ours2=("$prog" --lcores '0@0,1@0,2@1' --no-pci "${null[@]}" -- --mode macswap)
    # shellcheck disable=SC2034
    local peer2=(dpdk-testpmd --lcores '0@0,1@0,2@1' "${DPDK_TESTPMD_COMMON[@]}" "${null[@]}" --
        --forward-mode=macswap --stats-period 1 --total-num-mbufs=16383 --nb-cores=2 --rxq=2 --txq=2)
    dpdk_bench null_macswap_2w "net_null×2 macswap 2 workers" tx_pps 2 ours2 peer2
    local s_ours s_peer
    s_ours=$(awk -v a="$DPDK_BENCH_OURS" -v b="${DPDK_ONE_WORKER:-0}" 'BEGIN{ if (b+0==0) print "nan"; else printf "%.2f", a/b }')
    s_peer=$(awk -v a="$DPDK_BENCH_PEER" -v b="${DPDK_ONE_WORKER_PEER:-0}" 'BEGIN{ if (b+0==0) print "nan"; else printf "%.2f", a/b }')
    bench_row DPDK "macswap 2 workers / 1 worker" scaling x higher "$s_ours" "$s_peer" dpdk-testpmd 3 "-"
    pass dpdk.perf_scaling "兩個 worker（2 顆 CPU，main lcore 與 worker 共用 CPU 0）：我們 ×$s_ours，testpmd ×$s_peer（相對一個 worker）"
}

# net_pcap：從記憶體裡的 pcap 無限重播（infinite_rx=1），送到 /dev/null；一個 port，frame 從同一個 port 送回
dpdk_t_perf_pcap() {
    need_root dpdk.perf_pcap || return 0
    need_bin "$DPDK_PROG" dpdk.perf_pcap || return 0
    need_cmd dpdk-testpmd dpdk.perf_pcap dpdk-dev || return 0
    local dir=$WORK/dpdk-frames
    dpdk_gen "$dir"
    local vdev="net_pcap0,rx_pcap=$dir/expected_io.pcap,infinite_rx=1,tx_pcap=/dev/null"
    # shellcheck disable=SC2034
    local ours=("$ROOT/$DPDK_PROG" -l 0-1 --no-pci --vdev "$vdev" -- --mode io)
    # shellcheck disable=SC2034
    local peer=(dpdk-testpmd -l 0-1 "${DPDK_TESTPMD_COMMON[@]}" --vdev "$vdev" -- --forward-mode=io
        --port-topology=loop --stats-period 1 --total-num-mbufs=8191)
    dpdk_bench pcap_io "net_pcap 重播→/dev/null io" tx_pps 1 ours peer
    pass dpdk.perf_pcap "net_pcap 路徑：我們 $(awk -v v="$DPDK_BENCH_OURS" 'BEGIN{printf "%.2f", v/1e6}') Mpps，testpmd $(awk -v v="$DPDK_BENCH_PEER" 'BEGIN{printf "%.2f", v/1e6}') Mpps（比值 $DPDK_BENCH_RATIO；對照 net_null 可看出虛擬裝置的成本）"
}

# net_af_packet：netns kbdpdk-p 裡的 veth 對 kbdpdk-pa ↔ kbdpdk-pb，兩端各是一個 DPDK port（0↔1 配對）。
# [就緒] 後從 kbdpdk-pa 注入 256 個 frame，之後它們就在 port 與 veth 之間不停循環；速率 = 核心 veth + AF_PACKET 的成本
dpdk_t_perf_af_packet() {
    need_root dpdk.perf_af_packet || return 0
    need_bin "$DPDK_PROG" dpdk.perf_af_packet || return 0
    need_cmd dpdk-testpmd dpdk.perf_af_packet dpdk-dev || return 0
    local ns=kbdpdk-p
    netns_add "$ns"
    ip -n "$ns" link add kbdpdk-pa type veth peer name kbdpdk-pb
    local i
    for i in kbdpdk-pa kbdpdk-pb; do
        nsx "$ns" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
        ip -n "$ns" link set "$i" up
    done
    local vdevs=(--vdev 'net_af_packet0,iface=kbdpdk-pa' --vdev 'net_af_packet1,iface=kbdpdk-pb')
    # shellcheck disable=SC2034
    local ours=(ip netns exec "$ns" "$ROOT/$DPDK_PROG" -l 0-1 --no-pci "${vdevs[@]}" -- --mode io)
    # shellcheck disable=SC2034
    local peer=(ip netns exec "$ns" dpdk-testpmd -l 0-1 "${DPDK_TESTPMD_COMMON[@]}" "${vdevs[@]}" --
        --forward-mode=io --stats-period 1 --total-num-mbufs=8191)
    local DPDK_INJECT="ip netns exec $ns $DPDK_PY $DPDK_FRAMES send kbdpdk-pa 02:00:00:00:03:01 02:00:00:00:03:02 256 $WORK/dpdk-inject.pcap"
    dpdk_bench afp_io "net_af_packet×2（veth 迴圈）io" tx_pps 2 ours peer
    pass dpdk.perf_af_packet "net_af_packet 路徑：我們 $(awk -v v="$DPDK_BENCH_OURS" 'BEGIN{printf "%.3f", v/1e6}') Mpps，testpmd $(awk -v v="$DPDK_BENCH_PEER" 'BEGIN{printf "%.3f", v/1e6}') Mpps（比值 $DPDK_BENCH_RATIO；每個 frame 都要經過核心的 veth 與 AF_PACKET）"
}

dpdk_perf() {
    run_test dpdk_t_perf_null
    [ -z "$DPDK_PERF_ONLY" ] || return 0
    run_test dpdk_t_perf_pcap
    run_test dpdk_t_perf_af_packet
}
