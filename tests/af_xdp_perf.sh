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
    local kinds=(xdp_drop afxdp_rx afpacket_rx afxdp_bp afxdp_fwd afpacket_fwd) k r
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
    # 中位數（Mpps）與離散度
    declare -A med sp gmed
    for k in "${kinds[@]}"; do
        # shellcheck disable=SC2086 # 以空白分隔的數列
        med[$k]=$(median ${rx[$k]} | awk '{printf "%.3f", $1/1e6}')
        # shellcheck disable=SC2086
        sp[$k]=$(spread ${rx[$k]})
        # shellcheck disable=SC2086
        gmed[$k]=$(median ${gen[$k]} | awk '{printf "%.3f", $1/1e6}')
    done
    local n=$AF_XDP_BENCH_ROUNDS
    bench_row AF_XDP "rxdrop 64B veth copy" rx_rate Mpps higher \
        "${med[afxdp_rx]}" "${med[afpacket_rx]}" "AF_PACKET TPACKET_V3" "$n" "${sp[afxdp_rx]}/${sp[afpacket_rx]}"
    bench_row AF_XDP "rxdrop 64B 對 XDP_DROP 上限" rx_rate Mpps higher \
        "${med[afxdp_rx]}" "${med[xdp_drop]}" "XDP_DROP 上限" "$n" "${sp[afxdp_rx]}/${sp[xdp_drop]}"
    bench_row AF_XDP "rxdrop 64B --busy-poll" rx_rate Mpps higher \
        "${med[afxdp_bp]}" "${med[afpacket_rx]}" "AF_PACKET TPACKET_V3" "$n" "${sp[afxdp_bp]}/${sp[afpacket_rx]}"
    bench_row AF_XDP "l2fwd 64B veth copy" fwd_rate Mpps higher \
        "${med[afxdp_fwd]}" "${med[afpacket_fwd]}" "AF_PACKET 環+sendmmsg" "$n" "${sp[afxdp_fwd]}/${sp[afpacket_fwd]}"
    echo "  產生器自身速率（中位數，Mpps）：XDP_DROP 時 ${gmed[xdp_drop]}、AF_XDP rxdrop 時 ${gmed[afxdp_rx]}（busy-poll ${gmed[afxdp_bp]}）、AF_PACKET 時 ${gmed[afpacket_rx]}、l2fwd 時 ${gmed[afxdp_fwd]}/${gmed[afpacket_fwd]}"
    if awk -v a="${med[afxdp_rx]}" -v g="${gmed[afxdp_rx]}" 'BEGIN{exit !(a >= 0.97*g)}'; then
        echo "  注意：AF_XDP rxdrop 幾乎等於產生器速率——瓶頸可能在產生器，比值是下限"
    fi
    goal af_xdp.goal_rxdrop "AF_XDP rxdrop ≥ 4 × AF_PACKET 接收" \
        "$(awk -v a="${med[afxdp_rx]}" -v b="${med[afpacket_rx]}" 'BEGIN{printf "%.2f", (b>0?a/b:0)}')" '>=' 4
    goal af_xdp.goal_l2fwd "AF_XDP l2fwd ≥ 2 × AF_PACKET 轉送" \
        "$(awk -v a="${med[afxdp_fwd]}" -v b="${med[afpacket_fwd]}" 'BEGIN{printf "%.2f", (b>0?a/b:0)}')" '>=' 2
    echo "  AF_XDP rxdrop 達到 XDP_DROP 上限的 $(awk -v a="${med[afxdp_rx]}" -v b="${med[xdp_drop]}" 'BEGIN{printf "%.0f%%", (b>0?a/b*100:0)}')"
}

af_xdp_perf() {
    run_test af_xdp_t_perf
}
