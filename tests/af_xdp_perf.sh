# shellcheck shell=bash
# tests/af_xdp_perf.sh — af_xdp_socket 的效能比較（./run_tests.sh -p af_xdp），由 tests/af_xdp.sh 載入；
# 用 tests/af_xdp.sh 的拓樸與共用函式（af_xdp_net、af_xdp_need、AF_XDP_* 變數）。

# 同一對 veth、同一個產生器、同一次執行、回合交錯、每項取 3 回合中位數。
# 產生器：對端 namespace 裡的 xdp_livegen（BPF_F_TEST_XDP_LIVE_FRAMES + XDP_TX），固定在 CPU 0；
#   veth 的接收 softirq（XDP 程式、複製進 UMEM 或建 sk_buff）也在觸發它的 CPU 0 上跑。
# 接收端的使用者程式固定在 CPU 1。所以「CPU 0 = 產生器 + 核心的接收路徑，CPU 1 = 應用程式」。
# 沒有 XDP 程式的 veth 收不到 XDP_TX 送來的訊框（沒有 NAPI），AF_PACKET 對照組因此開 GRO（ethtool -K gro on）：
#   那正是「沒有 XDP 的核心堆疊」路徑。
AF_XDP_BENCH_SECS=${AF_XDP_BENCH_SECS:-2}
# 產生器的來源 MAC 不是 kbxdp-b 的：l2fwd 交換 MAC 後送回的訊框在 kbxdp-b 是 PACKET_OTHERHOST，
# 核心在 ip_rcv 一開頭就丟掉，對端幾乎不花 CPU；轉送量用 kbxdp-a 的 tx 計數器（veth_xmit 成功才加）量。
AF_XDP_BENCH_SRC_MAC=02:6b:62:78:64:70
AF_XDP_BENCH_ROUNDS=${AF_XDP_BENCH_ROUNDS:-3}
AF_XDP_BENCH_FILL_DEPTH=512  # --fill-depth 那一列（見 README〈fill 環的深度〉）

# af_xdp_bench_gen LOG：產生器跑 AF_XDP_BENCH_SECS 秒
af_xdp_bench_gen() {
    nsx "$AF_XDP_NS" taskset -c 0 "$(tool xdp_livegen)" gen "$AF_XDP_PEER_IF" --duration "$AF_XDP_BENCH_SECS" \
        --dst-mac "$AF_XDP_MAC" --src-mac "$AF_XDP_BENCH_SRC_MAC" --src-ip "$AF_XDP_PEER_IP" --dst-ip "$AF_XDP_IP" \
        --port "$AF_XDP_PORT" >"$1" 2>&1
}

# af_xdp_bench_case KIND ROUND：量一次，結果放在 AF_XDP_RES_RX、AF_XDP_RES_GEN（pps）
# （不用 $(...)：子 shell 裡登記的收尾會遺失）
af_xdp_bench_case() {
    local kind=$1 r=$2 d=$WORK/bench rlog glog pid rx gen secs
    mkdir -p "$d"
    rlog=$d/$kind.$r.rx.log glog=$d/$kind.$r.gen.log
    : >"$rlog"
    case $kind in
    xdp_drop) bg_start "$rlog" taskset -c 1 "$(tool xdp_livegen)" drop "$AF_XDP_IF" ;;
    afxdp_rx | afxdp_fwd)
        local m=rxdrop; [ "$kind" == afxdp_fwd ] && m=l2fwd
        bg_start "$rlog" taskset -c 1 "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" "$AF_XDP_IF" 0 \
            --mode "$m" --frames 16384 --pin-cpu 1 ;;
    afxdp_rx_fd)
        # 同上，但只交給核心 AF_XDP_BENCH_FILL_DEPTH 個 frame：copy 模式的核心輪流複製進去的 frame 少、熱
        bg_start "$rlog" taskset -c 1 "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" "$AF_XDP_IF" 0 \
            --mode rxdrop --frames 16384 --fill-depth "$AF_XDP_BENCH_FILL_DEPTH" --pin-cpu 1 ;;
    afxdp_bp)
        # busy-poll：NAPI 交給應用程式的系統呼叫來跑（在 CPU 1），核心建議同時設定這兩個 sysfs 值
        echo 2 >"/sys/class/net/$AF_XDP_IF/napi_defer_hard_irqs"
        echo 200000 >"/sys/class/net/$AF_XDP_IF/gro_flush_timeout"
        bg_start "$rlog" taskset -c 1 "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" "$AF_XDP_IF" 0 \
            --mode rxdrop --frames 16384 --pin-cpu 1 --busy-poll ;;
    afpacket_rx | afpacket_fwd)
        local m=recv; [ "$kind" == afpacket_fwd ] && m=fwd
        ethtool -K "$AF_XDP_IF" gro on >/dev/null
        bg_start "$rlog" taskset -c 1 "$(tool af_packet_peer)" "$m" "$AF_XDP_IF" --port "$AF_XDP_PORT" ;;
    esac
    pid=$BG_PID
    AF_XDP_RES_RX=0 AF_XDP_RES_GEN=0 AF_XDP_RES_NOTE=""
    wait_marker "$rlog" '\[就緒\]' 15 "$pid" || { echo "接收端沒有就緒（$kind）：$(tail -n 3 "$rlog")" >&2; stop_pid "$pid"; return 0; }
    local tx0
    tx0=$(cat "/sys/class/net/$AF_XDP_IF/statistics/tx_packets")
    af_xdp_bench_gen "$glog" || true
    stop_pid "$pid" INT
    [[ $kind != afpacket_* ]] || ethtool -K "$AF_XDP_IF" gro off >/dev/null
    if [ "$kind" == afxdp_bp ]; then
        echo 0 >"/sys/class/net/$AF_XDP_IF/napi_defer_hard_irqs"
        echo 0 >"/sys/class/net/$AF_XDP_IF/gro_flush_timeout"
    fi
    gen=$(summary_get "$glog" pps); secs=$(summary_get "$glog" seconds)
    if [[ $kind == *_fwd ]]; then  # 轉送回去的封包數 = kbxdp-a 的 tx 計數器增加量（veth_xmit 成功才算）
        rx=$(($(cat "/sys/class/net/$AF_XDP_IF/statistics/tx_packets") - tx0))
    else
        rx=$(summary_get "$rlog" rx_packets)
    fi
    AF_XDP_RES_RX=$(awk -v rx="${rx:-0}" -v s="${secs:-0}" 'BEGIN{ printf "%.0f", (s>0 ? rx/s : 0) }')
    AF_XDP_RES_GEN=${gen:-0}
    AF_XDP_RES_NOTE=""
    if [[ $kind == afxdp_* ]]; then  # 應用程式執行緒實際拿到的 CPU（遠低於 100% = 被其他程序搶走或在睡）
        AF_XDP_RES_NOTE="，AF_XDP 執行緒平均 CPU $(summary_get "$rlog" worker_cpu_pct)%、核心丟棄 $(($(summary_get "$rlog" rx_dropped) + $(summary_get "$rlog" rx_ring_full)))"
    fi
}

af_xdp_t_perf() {
    af_xdp_need af_xdp.perf || return 0
    [ -x "$(tool xdp_livegen)" ] || { skip af_xdp.perf "build/tools/xdp_livegen 沒有編譯出來"; return 0; }
    need_cmd ethtool af_xdp.perf ethtool || return 0
    af_xdp_net
    local kinds=(xdp_drop afxdp_rx afxdp_rx_fd afpacket_rx afxdp_bp afxdp_fwd afpacket_fwd) k r
    declare -A rx gen
    for k in "${kinds[@]}"; do rx[$k]=""; gen[$k]=""; done
    echo "  產生器：xdp_livegen（LIVE_FRAMES，64 bytes UDP）在 $AF_XDP_NS 的 CPU 0；接收端在 CPU 1；每項 ${AF_XDP_BENCH_SECS} 秒 × ${AF_XDP_BENCH_ROUNDS} 回合"
    for ((r = 1; r <= AF_XDP_BENCH_ROUNDS; r++)); do
        for k in "${kinds[@]}"; do
            af_xdp_bench_case "$k" "$r"
            rx[$k]+="$AF_XDP_RES_RX "; gen[$k]+="$AF_XDP_RES_GEN "
            printf '  回合 %d %-13s 接收端 %6.2f Mpps（產生器 %6.2f Mpps%s）\n' "$r" "$k" \
                "$(awk -v v="$AF_XDP_RES_RX" 'BEGIN{print v/1e6}')" "$(awk -v v="$AF_XDP_RES_GEN" 'BEGIN{print v/1e6}')" \
                "$AF_XDP_RES_NOTE"
        done
    done
    # 中位數（Mpps）
    declare -A med gmed
    for k in "${kinds[@]}"; do
        # shellcheck disable=SC2086 # 以空白分隔的數列
        med[$k]=$(median ${rx[$k]} | awk '{printf "%.3f", $1/1e6}')
        # shellcheck disable=SC2086
        gmed[$k]=$(median ${gen[$k]} | awk '{printf "%.3f", $1/1e6}')
    done
    # 每回合的 Mpps：bench_pair 用同一回合的兩個值配對，算比值的區間；goal 緊接在它的 bench_pair 之後（用 BENCH_CI）
    declare -A mp
    for k in "${kinds[@]}"; do
        # shellcheck disable=SC2086 # 以空白分隔的數列
        mp[$k]=$(printf '%s\n' ${rx[$k]} | awk '{printf "%.3f ", $1/1e6}')
    done
    bench_pair AF_XDP "rxdrop 64B veth copy" rx_rate Mpps higher "${mp[afxdp_rx]}" "${mp[afpacket_rx]}" "AF_PACKET TPACKET_V3"
    goal af_xdp.goal_rxdrop "AF_XDP rxdrop ≥ 4 × AF_PACKET 接收" "${BENCH_CI%% *}" '>=' 4
    bench_pair AF_XDP "rxdrop 64B 對 XDP_DROP 上限" rx_rate Mpps higher "${mp[afxdp_rx]}" "${mp[xdp_drop]}" "XDP_DROP 上限"
    bench_pair AF_XDP "rxdrop 64B --fill-depth $AF_XDP_BENCH_FILL_DEPTH 對 XDP_DROP 上限" rx_rate Mpps higher "${mp[afxdp_rx_fd]}" "${mp[xdp_drop]}" "XDP_DROP 上限"
    goal af_xdp.goal_ceiling "AF_XDP rxdrop（--fill-depth $AF_XDP_BENCH_FILL_DEPTH）≥ 0.75 × XDP_DROP 上限" "${BENCH_CI%% *}" '>=' 0.75
    bench_pair AF_XDP "rxdrop 64B --fill-depth $AF_XDP_BENCH_FILL_DEPTH 對預設（整個 fill 環）" rx_rate Mpps higher "${mp[afxdp_rx_fd]}" "${mp[afxdp_rx]}" "整個 fill 環（8192）"
    bench_pair AF_XDP "rxdrop 64B --busy-poll" rx_rate Mpps higher "${mp[afxdp_bp]}" "${mp[afpacket_rx]}" "AF_PACKET TPACKET_V3"
    bench_pair AF_XDP "l2fwd 64B veth copy" fwd_rate Mpps higher "${mp[afxdp_fwd]}" "${mp[afpacket_fwd]}" "AF_PACKET 環+sendmmsg"
    goal af_xdp.goal_l2fwd "AF_XDP l2fwd ≥ 2 × AF_PACKET 轉送" "${BENCH_CI%% *}" '>=' 2
    echo "  產生器自身速率（中位數，Mpps）：XDP_DROP 時 ${gmed[xdp_drop]}、AF_XDP rxdrop 時 ${gmed[afxdp_rx]}（busy-poll ${gmed[afxdp_bp]}）、AF_PACKET 時 ${gmed[afpacket_rx]}、l2fwd 時 ${gmed[afxdp_fwd]}/${gmed[afpacket_fwd]}"
    if awk -v a="${med[afxdp_rx]}" -v g="${gmed[afxdp_rx]}" 'BEGIN{exit !(a >= 0.97*g)}'; then
        echo "  注意：AF_XDP rxdrop 幾乎等於產生器速率——瓶頸可能在產生器，比值是下限"
    fi
    echo "  AF_XDP rxdrop 達到 XDP_DROP 上限的 $(awk -v a="${med[afxdp_rx]}" -v b="${med[xdp_drop]}" 'BEGIN{printf "%.0f%%", (b>0?a/b*100:0)}')（--fill-depth $AF_XDP_BENCH_FILL_DEPTH：$(awk -v a="${med[afxdp_rx_fd]}" -v b="${med[xdp_drop]}" 'BEGIN{printf "%.0f%%", (b>0?a/b*100:0)}')）"
}

# ---------------------------------------------------------------- 多佇列與兩埠轉送（issue 14）
# af_xdp_bench_gens LOGPREFIX CPU...：每顆 CPU 一個 LIVE_FRAMES 產生器（同時），從 kbxdp-b 送往 kbxdp-a。
# veth 的 XDP_TX（veth_xdp_xmit）把訊框放進對端「產生器所在 CPU % 佇列數」的 rx 佇列，所以 CPU 0 → 佇列 0、CPU 1 → 佇列 1。
# 結果：AF_XDP_GEN_PPS（各產生器 pps 的和）、AF_XDP_GEN_SECS（最長的秒數）
af_xdp_bench_gens() {
    local prefix=$1 cpu pids=() g
    shift
    for cpu in "$@"; do
        nsx "$AF_XDP_NS" taskset -c "$cpu" "$(tool xdp_livegen)" gen "$AF_XDP_PEER_IF" --duration "$AF_XDP_BENCH_SECS" \
            --dst-mac "$AF_XDP_MAC" --src-mac "$AF_XDP_BENCH_SRC_MAC" --src-ip "$AF_XDP_PEER_IP" --dst-ip "$AF_XDP_IP" \
            --port "$AF_XDP_PORT" >"$prefix.$cpu.log" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    AF_XDP_GEN_PPS=0 AF_XDP_GEN_SECS=0
    for cpu in "$@"; do
        g=$prefix.$cpu.log
        AF_XDP_GEN_PPS=$(awk -v a="$AF_XDP_GEN_PPS" -v b="$(summary_get "$g" pps)" 'BEGIN{printf "%.0f", a + b}')
        AF_XDP_GEN_SECS=$(awk -v a="$AF_XDP_GEN_SECS" -v b="$(summary_get "$g" seconds)" 'BEGIN{print (b > a ? b : a)}')
    done
}

# af_xdp_bench_mq KIND ROUND：mq1 = 一個佇列（產生器在 CPU 0，執行緒在 CPU 1），mq2 = 兩個佇列（產生器在 CPU 0 與 1，
# 執行緒在 CPU 0 與 1）。結果 AF_XDP_RES_RX（pps）、AF_XDP_RES_NOTE（每個佇列的 CPU）
af_xdp_bench_mq() {
    local kind=$1 r=$2 d=$WORK/bench rlog pid
    mkdir -p "$d"
    rlog=$d/$kind.$r.rx.log
    if [ "$kind" == mq1 ]; then
        bg_start "$rlog" "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" "$AF_XDP_IF" 0 --mode rxdrop --frames 16384 --pin-cpu 1
    else
        bg_start "$rlog" "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" "$AF_XDP_IF" 0 --mode rxdrop --frames 16384 --queues 2
    fi
    pid=$BG_PID
    AF_XDP_RES_RX=0 AF_XDP_RES_NOTE=""
    wait_marker "$rlog" '\[就緒\]' 15 "$pid" || { echo "接收端沒有就緒（$kind）：$(tail -n 3 "$rlog")" >&2; stop_pid "$pid"; return 0; }
    if [ "$kind" == mq1 ]; then af_xdp_bench_gens "$d/$kind.$r.gen" 0; else af_xdp_bench_gens "$d/$kind.$r.gen" 0 1; fi
    stop_pid "$pid" INT
    AF_XDP_RES_RX=$(awk -v rx="$(summary_get "$rlog" rx_packets)" -v s="$AF_XDP_GEN_SECS" 'BEGIN{ printf "%.0f", (s>0 ? rx/s : 0) }')
    AF_XDP_RES_NOTE="產生器合計 $(awk -v v="$AF_XDP_GEN_PPS" 'BEGIN{printf "%.2f", v/1e6}') Mpps，q0 $(summary_get "$rlog" q0_rx_packets) 個"
    [ "$kind" == mq1 ] || AF_XDP_RES_NOTE+="、q1 $(summary_get "$rlog" q1_rx_packets) 個"
    AF_XDP_RES_NOTE+="，執行緒 CPU 合計 $(summary_get "$rlog" worker_cpu_pct)%、核心丟棄 $(($(summary_get "$rlog" rx_dropped) + $(summary_get "$rlog" rx_ring_full)))"
}

# af_xdp_bench_tp KIND ROUND：兩埠轉送 kbxdp-f1 → kbxdp-f2。tp_afxdp = af_xdp_socket --fwd-if（共用 UMEM），
# tp_afpacket = af_packet_peer fwd --out（TPACKET_V3 環收、sendmmsg 從另一個埠送）；都固定在 CPU 1，產生器在 h1 的 CPU 0。
# 產生器的目的 MAC 不是 h2 的：h2 在 ip_rcv 一開頭就丟掉（PACKET_OTHERHOST），量測不花 CPU。轉送量 = kbxdp-f2 的 tx 增加量
af_xdp_bench_tp() {
    local kind=$1 r=$2 d=$WORK/bench rlog glog pid tx0 gen secs
    mkdir -p "$d"
    rlog=$d/$kind.$r.rx.log glog=$d/$kind.$r.gen.log
    if [ "$kind" == tp_afxdp ]; then
        bg_start "$rlog" taskset -c 1 "$(bin af_xdp_socket)" --bpf-obj "$ROOT/xdp_redirect.bpf.o" kbxdp-f1 0 --mode l2fwd \
            --fwd-if kbxdp-f2 --frames 16384 --pin-cpu 1
    else
        ethtool -K kbxdp-f1 gro on >/dev/null
        bg_start "$rlog" taskset -c 1 "$(tool af_packet_peer)" fwd kbxdp-f1 --out kbxdp-f2 --port "$AF_XDP_PORT"
    fi
    pid=$BG_PID
    AF_XDP_RES_RX=0 AF_XDP_RES_NOTE=""
    wait_marker "$rlog" '\[就緒\]' 15 "$pid" || { echo "轉送器沒有就緒（$kind）：$(tail -n 3 "$rlog")" >&2; stop_pid "$pid"; return 0; }
    tx0=$(cat /sys/class/net/kbxdp-f2/statistics/tx_packets)
    nsx kbxdp-h1 taskset -c 0 "$(tool xdp_livegen)" gen kbxdp-g1 --duration "$AF_XDP_BENCH_SECS" --dst-mac 02:6b:62:78:64:71 \
        --src-mac "$AF_XDP_BENCH_SRC_MAC" --src-ip 198.18.7.1 --dst-ip 198.18.7.2 --port "$AF_XDP_PORT" >"$glog" 2>&1 || true
    stop_pid "$pid" INT
    [ "$kind" == tp_afxdp ] || ethtool -K kbxdp-f1 gro off >/dev/null
    gen=$(summary_get "$glog" pps); secs=$(summary_get "$glog" seconds)
    AF_XDP_RES_RX=$(awk -v tx="$(($(cat /sys/class/net/kbxdp-f2/statistics/tx_packets) - tx0))" -v s="${secs:-0}" \
        'BEGIN{ printf "%.0f", (s>0 ? tx/s : 0) }')
    AF_XDP_RES_NOTE="產生器 $(awk -v v="${gen:-0}" 'BEGIN{printf "%.2f", v/1e6}') Mpps"
    [ "$kind" != tp_afxdp ] || AF_XDP_RES_NOTE+="，轉送執行緒 CPU $(summary_get "$rlog" worker_cpu_pct)%、核心丟棄 $(($(summary_get "$rlog" rx_dropped) + $(summary_get "$rlog" rx_ring_full)))"
}

af_xdp_t_perf_features() {
    af_xdp_need af_xdp.perf_features || return 0
    [ -x "$(tool xdp_livegen)" ] || { skip af_xdp.perf_features "build/tools/xdp_livegen 沒有編譯出來"; return 0; }
    need_cmd ethtool af_xdp.perf_features ethtool || return 0
    [ "$(nproc)" -ge 2 ] || { skip af_xdp.perf_features "只有 1 顆 CPU：多佇列沒有東西可比"; return 0; }
    af_xdp_net 2
    af_xdp_two_hosts
    local kinds=(mq1 mq2 tp_afxdp tp_afpacket) k r
    declare -A rx
    for k in "${kinds[@]}"; do rx[$k]=""; done
    echo "  多佇列：兩個佇列的 veth，每個佇列一個 LIVE_FRAMES 產生器（CPU 0、1）；兩埠轉送：h1 的產生器在 CPU 0，轉送器在 CPU 1；每項 ${AF_XDP_BENCH_SECS} 秒 × ${AF_XDP_BENCH_ROUNDS} 回合，交錯"
    for ((r = 1; r <= AF_XDP_BENCH_ROUNDS; r++)); do
        for k in "${kinds[@]}"; do
            if [[ $k == mq* ]]; then af_xdp_bench_mq "$k" "$r"; else af_xdp_bench_tp "$k" "$r"; fi
            rx[$k]+="$(awk -v v="$AF_XDP_RES_RX" 'BEGIN{printf "%.3f", v/1e6}') "
            printf '  回合 %d %-12s %6.2f Mpps（%s）\n' "$r" "$k" "$(awk -v v="$AF_XDP_RES_RX" 'BEGIN{print v/1e6}')" "$AF_XDP_RES_NOTE"
        done
    done
    # 同一回合配對的比值與 95% 區間（bench_pair）
    bench_pair AF_XDP "rxdrop 64B --queues 2（2 個產生器）" rx_rate Mpps higher "${rx[mq2]}" "${rx[mq1]}" "--queues 1（1 個產生器）"
    echo "  多佇列擴展 2 佇列 / 1 佇列：比值中位數與 95% 區間 $BENCH_CI（兩顆核心同時跑產生器、veth 的接收 softirq 與 AF_XDP 執行緒，不是純粹的接收端擴展）"
    bench_pair AF_XDP "兩埠 l2fwd 64B 共用 UMEM（--fwd-if）" fwd_rate Mpps higher "${rx[tp_afxdp]}" "${rx[tp_afpacket]}" \
        "AF_PACKET 兩埠（環+sendmmsg）"
    local ratio lo hi
    read -r ratio lo hi <<<"$BENCH_CI"
    goal af_xdp.goal_two_port "兩埠 l2fwd（共用 UMEM）≥ 2 × AF_PACKET 兩埠轉送" "$ratio" '>=' 2 "$lo" "$hi"
    pass af_xdp.perf_features "多佇列與兩埠轉送的比較列已寫進 results/bench.csv"
}

af_xdp_perf() {
    run_test af_xdp_t_perf
    run_test af_xdp_t_perf_features
}
