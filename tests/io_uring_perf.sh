# shellcheck shell=bash
# tests/io_uring_perf.sh — io_uring_async 的效能比較（./run_tests.sh -p io_uring），由 tests/io_uring.sh 載入；
# 用 tests/io_uring.sh 的共用函式（iou_free_port、IOU 變數）與 build/tools/epoll_echo 對照組。

# 伺服器固定在 CPU 0、負載客戶端在 CPU 1；io_uring 與 epoll 輪流跑，每種負載 IOU_ROUNDS 回合取中位數。
IOU_ROUNDS=${IOU_ROUNDS:-5}
IOU_SECONDS=${IOU_SECONDS:-4}

# cpu_ticks PID：utime + stime（時脈滴答）
iou_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# iou_perf_round IMPL CONNS SIZE DEPTH：印出「req_per_s p99_us errors stalled 伺服器CPU% 客戶端CPU%」
# 伺服器 CPU 從 /proc/PID/stat 算（含整段執行），客戶端 CPU 由它自己在 [摘要] 的 cpu_pct 回報（只算量測窗口）
iou_perf_round() {
    local impl=$1 conns=$2 size=$3 depth=$4 port log blog srv t0 t1 hz
    hz=$(getconf CLK_TCK)
    port=$(iou_free_port)
    log=$WORK/perf-$impl-srv.log
    blog=$WORK/perf-$impl-$conns-$size-$depth.log
    if [ "$impl" == io_uring ]; then srv=$(bin "$IOU"); else srv=$(tool epoll_echo); fi
    taskset -c 0 "$srv" "$port" >"$log" 2>&1 &
    local pid=$!
    wait_marker "$log" '\[就緒\]' 10 "$pid" || { echo "0 0 1 0 0 0"; stop_pid "$pid"; return 0; }
    t0=$(iou_cpu_ticks "$pid")
    taskset -c 1 "$(bin "$IOU")" bench 127.0.0.1 "$port" --conns "$conns" --size "$size" --depth "$depth" \
        --duration "$IOU_SECONDS" --quiet >"$blog" 2>&1 &
    local cpid=$! c0 c1
    c0=$(date +%s%N)
    wait_exit "$cpid" $((IOU_SECONDS + 40)) || true
    c1=$(date +%s%N)
    t1=$(iou_cpu_ticks "$pid")
    stop_pid "$pid" INT
    local wall_s
    wall_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{print (b-a)/1e9}')
    echo "$(summary_get "$blog" req_per_s) $(summary_get "$blog" p99_us) $(summary_get "$blog" errors)" \
        "$(summary_get "$blog" conns_stalled) $(awk -v t="$((t1 - t0))" -v hz="$hz" -v w="$wall_s" 'BEGIN{printf "%.0f", t/hz/w*100}')" \
        "$(summary_get "$blog" cpu_pct)"
}

io_uring_perf() {
    need_bin "$IOU" io_uring.perf || return 0
    run_test io_uring_t_perf
}
io_uring_t_perf() {
    [ -x "$(tool epoll_echo)" ] || { fail io_uring.perf "對照組 build/tools/epoll_echo 不存在"; return 0; }
    local -a workloads=("50 64 1" "500 4096 16")
    local w impl r line a b c d e f
    declare -A rps p99 errs stalls cpu ccpu
    echo "  io_uring_async 對 epoll echo（伺服器 CPU 0、客戶端 CPU 1，每回合 ${IOU_SECONDS} 秒，${IOU_ROUNDS} 回合交錯，先後順序每回合對調）"
    local -a order
    for ((r = 1; r <= IOU_ROUNDS; r++)); do
        # 奇數回合 io_uring 先跑、偶數回合 epoll 先跑：不讓同一個程式總是接在另一個後面
        if ((r % 2)); then order=(io_uring epoll); else order=(epoll io_uring); fi
        for w in "${workloads[@]}"; do
            for impl in "${order[@]}"; do
                # shellcheck disable=SC2086 # 故意拆開成 CONNS SIZE DEPTH
                line=$(iou_perf_round "$impl" $w)
                read -r a b c d e f <<<"$line"
                rps[$impl,$w]+="$a "
                p99[$impl,$w]+="$b "
                errs[$impl,$w]=$(( ${errs[$impl,$w]:-0} + ${c:-1} ))
                stalls[$impl,$w]=$(( ${stalls[$impl,$w]:-0} + ${d:-1} ))
                cpu[$impl,$w]+="$e "
                ccpu[$impl,$w]+="$f "
                printf '    回合 %d  %-8s %-14s req/s %-9s p99 %-6s µs  errors %s  stalled %s  CPU 伺服器 %s%% 客戶端 %s%%\n' \
                    "$r" "$impl" "$(iou_wname "$w")" "$a" "$b" "$c" "$d" "$e" "$f"
            done
        done
    done
    for w in "${workloads[@]}"; do
        local name
        name=$(iou_wname "$w")
        bench_pair io_uring "$name" req_per_s req/s higher "${rps[io_uring,$w]}" "${rps[epoll,$w]}" epoll_echo
        bench_pair io_uring "$name" p99_latency us lower "${p99[io_uring,$w]}" "${p99[epoll,$w]}" epoll_echo
        bench_pair io_uring "$name" server_cpu % lower "${cpu[io_uring,$w]}" "${cpu[epoll,$w]}" epoll_echo
        bench_pair io_uring "$name" client_cpu % lower "${ccpu[io_uring,$w]}" "${ccpu[epoll,$w]}" epoll_echo
    done
    # 目標以同回合配對的比值區間判定（pair_ci 印出「中位數 下限 上限」）
    local m lo hi
    read -r m lo hi <<<"$(pair_ci "${rps[io_uring,50 64 1]}" "${rps[epoll,50 64 1]}")"
    goal io_uring.perf_50c_64B "50 連線 × 64 B × depth 1 的 req/s（io_uring / epoll ≥ 1.05）" "$m" '>=' 1.05 "$lo" "$hi"
    read -r m lo hi <<<"$(pair_ci "${rps[io_uring,500 4096 16]}" "${rps[epoll,500 4096 16]}")"
    goal io_uring.perf_500c_4K "500 連線 × 4 KiB × depth 16 的 req/s（io_uring / epoll ≥ 1.0）" "$m" '>=' 1.0 "$lo" "$hi"
    check_eq io_uring.perf_500c_4K_clean "500 連線 × 4 KiB × depth 16：io_uring 所有回合的 errors + stalled" 0 "$(( ${errs[io_uring,500 4096 16]} + ${stalls[io_uring,500 4096 16]} ))"
    read -r m lo hi <<<"$(pair_ci "${p99[io_uring,50 64 1]}" "${p99[epoll,50 64 1]}")"
    goal io_uring.perf_50c_p99 "50 連線的 p99 延遲（io_uring / epoll ≤ 1.0）" "$m" '<=' 1.0 "$lo" "$hi"
}
iou_wname() { local c s d; read -r c s d <<<"$1"; echo "${c}c×${s}B×d${d}"; }
