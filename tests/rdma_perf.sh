# shellcheck shell=bash
# tests/rdma_perf.sh — rdma_communication 的效能比較（./run_tests.sh -p rdma），由 tests/rdma.sh 載入；
# 用 tests/rdma.sh 的共用函式（rdma_run_cases、rdma_kv）與 RDMA_* 變數。
# 同一次 VM 開機裡，本程式與 perftest 交替跑三回合（tests/rdma_cases.sh perf），每項取中位數比較。

RDMA_PERF_TIMEOUT=420     # 秒：效能比較整次 VM 執行的上限

# @@OURS <test> rc=0 <[摘要] key=value>；@@PT <test> rc=0 <perftest 的結果列>
rdma_t_perf() {
    local log=$WORK/rdma_perf_console.log
    echo "  注意：這裡的 RDMA 是 Soft-RoCE（rdma_rxe，用 CPU 模擬 RNIC），又跑在 qemu TCG 模擬的 CPU 上：絕對數字很慢、"
    echo "        而且忽快忽慢（主機忙時差到毫秒級）。只看同一次 VM 開機裡本程式與 perftest 交替跑出的比值。"
    rdma_run_cases perf "$log" "$RDMA_PERF_TIMEOUT" || return 0
    grep '^@@KB perf_params' "$log" | sed 's/^@@KB perf_params/  參數：/'
    local t ours peer rounds sp ratio unit better metric workload ptool
    local params
    params=$(grep '^@@KB perf_params' "$log" | tail -n 1)
    local ls bs bd
    ls=$(rdma_kv "$params" lat_size)
    bs=$(rdma_kv "$params" bw_size)
    bd=$(rdma_kv "$params" bw_depth)
    for t in send_lat write_lat read_lat write_bw send_bw; do
        local -a o=() p=()
        local line v
        while read -r line; do
            [ "$(rdma_kv "$line" rc)" == 0 ] || continue
            if [[ $t == *_lat ]]; then v=$(rdma_kv "$line" lat_p50_us); else v=$(rdma_kv "$line" bw_mbps); fi
            [[ "$v" =~ ^[0-9.]+$ ]] && o+=("$v")
        done < <(grep "^@@OURS $t " "$log")
        while read -r line; do
            [ "$(rdma_kv "$line" rc)" == 0 ] || continue
            # perftest 結果列：延遲 #bytes #iter t_min t_max t_typical ...；頻寬 #bytes #iter BW_peak BW_avg MsgRate，
            # 頻寬的 MB/sec 是 2^20 bytes：換成 10^6 bytes 的 MB/s 才能和本程式的 bw_mbps 比
            line=$(sed -E 's/ (tries|secs)=[0-9]+//g' <<<"$line")
            if [[ $t == *_lat ]]; then v=$(awk '{print $8}' <<<"$line"); else v=$(awk '{printf "%.2f", $7 * 1.048576}' <<<"$line"); fi
            [[ "$v" =~ ^[0-9.]+$ ]] && awk -v x="$v" 'BEGIN{exit !(x > 0)}' && p+=("$v")
        done < <(grep "^@@PT $t " "$log")
        ptool="perftest ib_$t"
        if [ ${#o[@]} == 0 ] || [ ${#p[@]} == 0 ]; then
            fail "rdma.perf_$t" "$t 的量測" "本程式與 $ptool 各至少一個有效回合" "本程式 ${#o[@]} 個、perftest ${#p[@]} 個"
            grep -E "^@@LOG (ours|pt)_$t " "$log" | tail -n 8 | sed 's/^/    │ /'
            continue
        fi
        rounds=$(( ${#o[@]} < ${#p[@]} ? ${#o[@]} : ${#p[@]} ))
        ours=$(median "${o[@]}")
        peer=$(median "${p[@]}")
        sp="$(spread "${o[@]}")/$(spread "${p[@]}")"
        if [[ $t == *_lat ]]; then
            metric=p50_latency unit=us better=lower workload="${t%_lat} ${ls}B ping-pong"
            bench_row RDMA "$workload" "$metric" "$unit" "$better" "$ours" "$peer" "$ptool" "$rounds" "$sp"
            ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN{printf "%.3f", a/b}')
            goal "rdma.perf_$t" "${t%_lat} 延遲 p50（本程式 $ours µs，perftest t_typical $peer µs）≤ 1.1 × perftest" "$ratio" '<=' 1.1
        else
            metric=bandwidth unit=MB/s better=higher workload="${t%_bw} ${bs}B depth ${bd}"
            bench_row RDMA "$workload" "$metric" "$unit" "$better" "$ours" "$peer" "$ptool" "$rounds" "$sp"
            ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN{printf "%.3f", a/b}')
            goal "rdma.perf_$t" "${t%_bw} 頻寬（本程式 $ours MB/s，perftest $peer MB/s）≥ 0.9 × perftest" "$ratio" '>=' 0.9
        fi
    done
    if grep -q '^FAIL rdma.perf' "$RESULTS_FILE"; then show_log "$log" 10; fi
}

rdma_perf() {
    need_root rdma.perf || return 0
    run_test rdma_t_perf || return
}
