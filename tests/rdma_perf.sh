# shellcheck shell=bash
# tests/rdma_perf.sh — rdma_communication 的效能比較（./run_tests.sh -p rdma），由 tests/rdma.sh 載入；
# 用 tests/rdma.sh 的共用函式（rdma_run_cases、rdma_kv）與 RDMA_* 變數。
# 同一次 VM 開機裡，本程式與 perftest 交替跑三回合（tests/rdma_cases.sh perf），每項取中位數比較；
# 同一回合的兩個值配成一對，bench_pair 記下配對比值的 95% 區間，goal 只在整個區間過關時算達成。
# 開發時只跑部分項目、少一點次數：KB_PERF_TESTS="atomic_lat atomic_bw" KB_ROUNDS=1 KB_LAT_ITERS=200 KB_ATOMIC_ITERS=200

RDMA_PERF_TIMEOUT=600     # 秒：效能比較整次 VM 執行的上限（含 UDP 基準）

# @@OURS <test> rc=0 <[摘要] key=value>；@@PT <test> rc=0 <perftest 的結果列>
rdma_t_perf() {
    local log=$WORK/rdma_perf_console.log
    echo "  注意：這裡的 RDMA 是 Soft-RoCE（rdma_rxe，用 CPU 模擬 RNIC），又跑在 qemu TCG 模擬的 CPU 上：絕對數字很慢、"
    echo "        而且忽快忽慢（主機忙時差到毫秒級）。只看同一次 VM 開機裡本程式與 perftest 交替跑出的比值。"
    rdma_run_cases perf "$log" "$RDMA_PERF_TIMEOUT" || return 0
    grep '^@@KB perf_params' "$log" | sed 's/^@@KB perf_params/  參數：/'
    local t ratio unit better metric workload ptool params ls bs bd ad tests
    params=$(grep '^@@KB perf_params' "$log" | tail -n 1)
    ls=$(rdma_kv "$params" lat_size)
    bs=$(rdma_kv "$params" bw_size)
    bd=$(rdma_kv "$params" bw_depth)
    ad=$(rdma_kv "$params" atomic_depth)
    tests=$(rdma_kv "$params" tests | tr ',' ' ')
    for t in ${tests:-send_lat write_lat read_lat write_bw send_bw}; do
        local -a ol=() pl=() o=() p=()
        local k ov pv
        mapfile -t ol < <(grep "^@@OURS $t " "$log")
        mapfile -t pl < <(grep "^@@PT $t " "$log" | sed -E 's/ (tries|secs)=[0-9]+//g')
        # 同一回合的兩個值配成一對（bench_pair 的配對比值）；任一邊無效的回合整個不算
        for ((k = 0; k < ${#ol[@]} && k < ${#pl[@]}; k++)); do
            ov="" pv=""
            if [ "$(rdma_kv "${ol[k]}" rc)" == 0 ]; then
                case $t in
                *_lat) ov=$(rdma_kv "${ol[k]}" lat_p50_us) ;;
                atomic_bw) ov=$(rdma_kv "${ol[k]}" faa_mops) ;;
                *) ov=$(rdma_kv "${ol[k]}" bw_mbps) ;;
                esac
            fi
            # perftest 結果列：延遲 #bytes #iter t_min t_max t_typical ...；頻寬 #bytes #iter BW_peak BW_avg MsgRate，
            # 頻寬的 MB/sec 是 2^20 bytes：換成 10^6 bytes 的 MB/s 才能和本程式的 bw_mbps 比；atomic 速率比 MsgRate（Mpps）
            if [ "$(rdma_kv "${pl[k]}" rc)" == 0 ]; then
                case $t in
                *_lat) pv=$(awk '{print $8}' <<<"${pl[k]}") ;;
                atomic_bw) pv=$(awk '{print $8}' <<<"${pl[k]}") ;;
                *) pv=$(awk '{printf "%.2f", $7 * 1.048576}' <<<"${pl[k]}") ;;
                esac
            fi
            if [[ "$ov" =~ ^[0-9.]+$ && "$pv" =~ ^[0-9.]+$ ]] && awk -v x="$ov" -v y="$pv" 'BEGIN{exit !(x > 0 && y > 0)}'; then
                o+=("$ov")
                p+=("$pv")
            fi
        done
        ptool="perftest ib_${t%_q2}"
        ptool=${ptool%_bidir}
        [ "$t" != ud_lat ] || ptool="perftest ib_send_lat -c UD"
        [[ $t != atomic_* ]] || ptool+=" -A FETCH_AND_ADD"
        [[ $t != *_q2 ]] || ptool+=" -q 2"
        [[ $t != *_bidir ]] || ptool+=" -b"
        if [ ${#o[@]} == 0 ]; then
            fail "rdma.perf_$t" "$t 的量測" "本程式與 $ptool 至少一個兩邊都有效的回合" "本程式 ${#ol[@]} 行、perftest ${#pl[@]} 行，沒有有效的一對"
            grep -E "^@@LOG (ours|pt)_$t " "$log" | tail -n 8 | sed 's/^/    │ /'
            continue
        fi
        case $t in
        atomic_lat) metric=p50_latency unit=us better=lower workload="atomic FAA 8B one outstanding" ;;
        atomic_bw) metric=message_rate unit=Mops/s better=higher workload="atomic FAA 8B depth ${ad}" ;;
        ud_lat) metric=p50_latency unit=us better=lower workload="send UD ${ls}B ping-pong" ;;
        *_lat) metric=p50_latency unit=us better=lower workload="${t%_lat} ${ls}B ping-pong" ;;
        *_bidir) metric=bandwidth unit=MB/s better=higher workload="${t%_bw_bidir} ${bs}B depth ${bd} bidirectional" ;;
        *_q2) metric=bandwidth unit=MB/s better=higher workload="${t%_bw_q2} ${bs}B depth ${bd} × 2 QPs" ;;
        *) metric=bandwidth unit=MB/s better=higher workload="${t%_bw} ${bs}B depth ${bd}" ;;
        esac
        bench_pair RDMA "$workload" "$metric" "$unit" "$better" "${o[*]}" "${p[*]}" "$ptool"
        ratio=$(cut -d' ' -f1 <<<"$BENCH_CI")
        if [ "$better" == lower ]; then
            goal "rdma.perf_$t" "$t 延遲 p50（本程式 $(median "${o[@]}") µs，$ptool t_typical $(median "${p[@]}") µs）≤ 1.1 × perftest" "$ratio" '<=' 1.1
        else
            goal "rdma.perf_$t" "$t（本程式 $(median "${o[@]}") $unit，$ptool $(median "${p[@]}") $unit）≥ 0.9 × perftest" "$ratio" '>=' 0.9
        fi
    done
    rdma_perf_vs_udp "$log" "$ls" send_lat socket io_uring
    rdma_perf_vs_udp "$log" 1472 send_lat_1472 socket_1472 io_uring_1472
    if grep -q '^FAIL rdma.perf' "$RESULTS_FILE"; then show_log "$log" 10; fi
}

# 比較表的 RDMA 列（tests/compare.sh 的工作負載搬進 VM）：同一次開機、同一個位址、同樣大小、一次一個在途。
# RDMA SEND 的來回 = send_lat 的 p50 × 2（本程式和 perftest 一樣報半個來回）；UDP 的是量測儀器的 RTT p50。
rdma_perf_vs_udp() { # LOG SIZE RDMA案例 SOCKET案例 IO_URING案例
    local log=$1 ls=$2 k ov sv iv
    local -a sl=() su=() si=() rtt=() sock=() iou=() sock2=()
    mapfile -t sl < <(grep "^@@OURS $3 " "$log")
    mapfile -t su < <(grep "^@@UDP $4 " "$log")
    mapfile -t si < <(grep "^@@UDP $5 " "$log")
    if [ ${#su[@]} == 0 ]; then
        skip "rdma.perf_vs_udp_${ls}B" "VM 裡沒有 UDP echo 基準（build/tools/udp_echo_ref、udp_echo_client 沒有編譯出來，或 send_lat 不在 KB_PERF_TESTS）"
        return 0
    fi
    for ((k = 0; k < ${#sl[@]} && k < ${#su[@]}; k++)); do
        ov=$(rdma_kv "${sl[k]}" lat_p50_us) sv=$(rdma_kv "${su[k]}" p50_us)
        if [ "$(rdma_kv "${sl[k]}" rc)" != 0 ] || [ "$(rdma_kv "${su[k]}" rc)" != 0 ]; then continue; fi
        [[ "$ov" =~ ^[0-9.]+$ && "$sv" =~ ^[0-9.]+$ ]] || continue
        rtt+=("$(awk -v x="$ov" 'BEGIN { printf "%.2f", 2 * x }')")
        sock+=("$sv")
        iv=$(rdma_kv "${si[k]:-}" p50_us)
        if [ "$(rdma_kv "${si[k]:-}" rc)" == 0 ] && [[ "$iv" =~ ^[0-9.]+$ ]]; then iou+=("$iv"); sock2+=("$sv"); fi
    done
    if [ ${#rtt[@]} == 0 ]; then
        fail "rdma.perf_vs_udp_${ls}B" "RDMA SEND 對 UDP echo 的來回（${ls} B）" "至少一個回合兩邊都有效" "send_lat ${#sl[@]} 行、UDP socket ${#su[@]} 行，沒有有效的一對"
        grep -E "^@@LOG (udp_|ours_$3 )" "$log" | tail -n 8 | sed 's/^/    │ /'
        return 0
    fi
    bench_pair RDMA "send ${ls}B RTT 對 VM 裡的 UDP socket echo" rtt_p50 us lower "${rtt[*]}" "${sock[*]}" "UDP socket echo（同一次開機）"
    goal "rdma.goal_rtt_vs_socket_${ls}B" "RDMA SEND 的 RTT p50（$(median "${rtt[@]}") µs）≤ 0.5 × 同一次開機裡 UDP socket echo 的 RTT（$(median "${sock[@]}") µs）" \
        "${BENCH_CI%% *}" '<=' 0.5
    if [ ${#iou[@]} -gt 0 ]; then
        bench_pair io_uring "UDP echo ${ls}B RTT（RDMA 的 VM 裡）" rtt_p50 us lower "${iou[*]}" "${sock2[*]}" "UDP socket echo（同一次開機）"
    fi
}

rdma_perf() {
    need_root rdma.perf || return 0
    run_test rdma_t_perf || return
}
