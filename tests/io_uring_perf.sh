# shellcheck shell=bash
# tests/io_uring_perf.sh — io_uring_async 的效能比較（./run_tests.sh -p io_uring），由 tests/io_uring.sh 載入；
# 用 tests/io_uring.sh 的共用函式（iou_free_port、IOU 變數）與 build/tools/epoll_echo 對照組。

# 伺服器固定在 CPU 0、負載客戶端在 CPU 1；io_uring 與 epoll 輪流跑，每種負載 IOU_ROUNDS 回合取中位數。
IOU_ROUNDS=${IOU_ROUNDS:-5}
IOU_SECONDS=${IOU_SECONDS:-4}

# cpu_ticks PID：utime + stime（時脈滴答）
iou_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# 進階選項的對照列（-p）：每個名字對應的伺服器選項；epoll 是 build/tools/epoll_echo
# buf_depth：buffer ring 上最多 IOU_BUF_DEPTH 個緩衝區（README〈buffer ring 的深度〉）；
# epoll_rotate：epoll 每次 recv 輪流用 32 MiB 池子裡的下一塊（和 io_uring 預設的緩衝池一樣大），量「緩衝區冷掉」本身的成本
IOU_BUF_DEPTH=${IOU_BUF_DEPTH:-16}
declare -A IOU_IMPL_ARGS=([io_uring]="" [zc]="--zc" [fixed]="--fixed" [bundle]="--bundle" [fixed_bundle]="--fixed --bundle" [epoll]=""
    [buf_depth]="--buf-depth $IOU_BUF_DEPTH" [epoll_rotate]="--rotate 32")

# iou_perf_round IMPL CONNS SIZE DEPTH：印出「req_per_s p99_us errors stalled 伺服器CPU% 客戶端CPU% 伺服器µs/請求」
# 伺服器 CPU 從 /proc/PID/stat 算（從就緒到客戶端結束），客戶端 CPU 由它自己在 [摘要] 的 cpu_pct 回報（只算量測窗口）；
# 每個請求的伺服器 CPU = 那段 CPU 時間 ÷ 伺服器 [摘要] 的 bytes（收到的位元組）÷ 訊息大小
iou_perf_round() {
    local impl=$1 conns=$2 size=$3 depth=$4 port log blog srv t0 t1 hz
    local -a args
    read -r -a args <<<"${IOU_IMPL_ARGS[$impl]}"
    hz=$(getconf CLK_TCK)
    port=$(iou_free_port)
    log=$WORK/perf-$impl-srv.log
    blog=$WORK/perf-$impl-$conns-$size-$depth.log
    if [[ $impl != epoll* ]]; then srv=$(bin "$IOU"); else srv=$(tool epoll_echo); fi
    taskset -c 0 "$srv" "$port" "${args[@]}" >"$log" 2>&1 &
    local pid=$!
    wait_marker "$log" '\[就緒\]' 10 "$pid" || { echo "0 0 1 0 0 0 0"; stop_pid "$pid"; return 0; }
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
    # 客戶端的 [摘要] 不完整（沒有 errors=）時把兩邊的日誌留下來說明（stdout 是這一回合的結果，所以寫到 stderr）
    if [ -z "$(summary_get "$blog" errors)" ]; then
        echo "    $impl $(iou_wname "$conns $size $depth") 這一回合客戶端的 [摘要] 不完整（牆上時間 ${wall_s} 秒）：" >&2
        { show_log "$blog" 8; show_log "$log" 8; } >&2
    fi
    echo "$(summary_get "$blog" req_per_s) $(summary_get "$blog" p99_us) $(summary_get "$blog" errors)" \
        "$(summary_get "$blog" conns_stalled) $(awk -v t="$((t1 - t0))" -v hz="$hz" -v w="$wall_s" 'BEGIN{printf "%.0f", t/hz/w*100}')" \
        "$(summary_get "$blog" cpu_pct)" \
        "$(awk -v t="$((t1 - t0))" -v hz="$hz" -v b="$(summary_get "$log" bytes)" -v s="$size" 'BEGIN{ if (b+0 > 0) printf "%.3f", t/hz/(b/s)*1e6; else print 0 }')"
}

io_uring_perf() {
    need_bin "$IOU" io_uring.perf || return 0
    run_test io_uring_t_perf
    run_test io_uring_t_perf_features
    run_test io_uring_t_perf_napi
}
io_uring_t_perf() {
    [ -x "$(tool epoll_echo)" ] || { fail io_uring.perf "對照組 build/tools/epoll_echo 不存在"; return 0; }
    local -a workloads=("50 64 1" "500 4096 16")
    local w impl r line a b c d e f g i
    declare -A rps p99 errs stalls cpu ccpu cpr
    echo "  io_uring_async 對 epoll echo（伺服器 CPU 0、客戶端 CPU 1，每回合 ${IOU_SECONDS} 秒，${IOU_ROUNDS} 回合交錯，先後順序每回合輪換）"
    echo "  500 連線 × 4 KiB × depth 16 另加 --buf-depth $IOU_BUF_DEPTH 的伺服器與 epoll --rotate 32（recv 輪流用 32 MiB）"
    local -a order impls
    for ((r = 1; r <= IOU_ROUNDS; r++)); do
        for w in "${workloads[@]}"; do
            impls=(io_uring epoll)
            [ "$w" != "500 4096 16" ] || impls+=(buf_depth epoll_rotate)
            # 每回合輪換先後：不讓同一個程式總是接在另一個後面
            order=()
            for ((i = 0; i < ${#impls[@]}; i++)); do order+=("${impls[$(((i + r) % ${#impls[@]}))]}"); done
            for impl in "${order[@]}"; do
                # shellcheck disable=SC2086 # 故意拆開成 CONNS SIZE DEPTH
                line=$(iou_perf_round "$impl" $w)
                read -r a b c d e f g <<<"$line"
                rps[$impl,$w]+="$a "
                p99[$impl,$w]+="$b "
                errs[$impl,$w]=$(( ${errs[$impl,$w]:-0} + ${c:-1} ))
                stalls[$impl,$w]=$(( ${stalls[$impl,$w]:-0} + ${d:-1} ))
                cpu[$impl,$w]+="$e "
                ccpu[$impl,$w]+="$f "
                cpr[$impl,$w]+="$g "
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
        bench_pair io_uring "$name" server_cpu_per_req us lower "${cpr[io_uring,$w]}" "${cpr[epoll,$w]}" epoll_echo
    done
    # --buf-depth：對預設伺服器（它換到什麼）與對 epoll（還差多少）
    w="500 4096 16"
    name="$(iou_wname "$w") buf_depth"
    bench_pair io_uring "$name" req_per_s req/s higher "${rps[buf_depth,$w]}" "${rps[io_uring,$w]}" io_uring_default
    bench_pair io_uring "$name" p99_latency us lower "${p99[buf_depth,$w]}" "${p99[io_uring,$w]}" io_uring_default
    bench_pair io_uring "$name" server_cpu_per_req us lower "${cpr[buf_depth,$w]}" "${cpr[io_uring,$w]}" io_uring_default
    bench_pair io_uring "$name" server_cpu_per_req us lower "${cpr[buf_depth,$w]}" "${cpr[epoll,$w]}" epoll_echo
    bench_pair io_uring "$name" req_per_s req/s higher "${rps[buf_depth,$w]}" "${rps[epoll,$w]}" epoll_echo
    # 對照組自己換成輪流用 32 MiB 的緩衝區時貴了多少：io_uring 預設的差距有多少來自這裡
    bench_pair io_uring "$(iou_wname "$w") epoll_rotate32M" server_cpu_per_req us lower "${cpr[epoll_rotate,$w]}" "${cpr[epoll,$w]}" epoll_echo
    # 目標以同回合配對的比值區間判定（pair_ci 印出「中位數 下限 上限」）
    local m lo hi
    read -r m lo hi <<<"$(pair_ci "${rps[io_uring,50 64 1]}" "${rps[epoll,50 64 1]}")"
    goal io_uring.perf_50c_64B "50 連線 × 64 B × depth 1 的 req/s（io_uring / epoll ≥ 1.05）" "$m" '>=' 1.05 "$lo" "$hi"
    read -r m lo hi <<<"$(pair_ci "${rps[io_uring,500 4096 16]}" "${rps[epoll,500 4096 16]}")"
    goal io_uring.perf_500c_4K "500 連線 × 4 KiB × depth 16 的 req/s（io_uring / epoll ≥ 1.0）" "$m" '>=' 1.0 "$lo" "$hi"
    check_eq io_uring.perf_500c_4K_clean "500 連線 × 4 KiB × depth 16：io_uring（預設與 --buf-depth）所有回合的 errors + stalled" 0 \
        "$(( ${errs[io_uring,500 4096 16]} + ${stalls[io_uring,500 4096 16]} + ${errs[buf_depth,500 4096 16]} + ${stalls[buf_depth,500 4096 16]} ))"
    read -r m lo hi <<<"$(pair_ci "${p99[io_uring,50 64 1]}" "${p99[epoll,50 64 1]}")"
    goal io_uring.perf_50c_p99 "50 連線的 p99 延遲（io_uring / epoll ≤ 1.0）" "$m" '<=' 1.0 "$lo" "$hi"
}
iou_wname() { local c s d; read -r c s d <<<"$1"; echo "${c}c×${s}B×d${d}"; }

# 8< perf-features
# 進階選項各自對預設伺服器（同一次執行、回合交錯、每回合換先後），再加 epoll 當共同的基準：
#   500 連線 × 64 B × depth 1：伺服器（不是客戶端）是成本的地方，看每個請求的伺服器 CPU；
#   50 連線 × 64 KiB × depth 4：大訊息，零複製與 bundle 可能有差的地方。
# 目標：每個請求的伺服器 CPU ≤ 0.8 × epoll，事先選定的組合 fixed_bundle（直接描述符 + recv bundle）與預設伺服器各記一次。
IOU_FEATURE_IMPLS=(io_uring zc fixed bundle fixed_bundle buf_depth epoll)
io_uring_t_perf_features() {
    [ -x "$(tool epoll_echo)" ] || { fail io_uring.perf_features "對照組 build/tools/epoll_echo 不存在"; return 0; }
    local -a workloads=("500 64 1" "50 65536 4") order
    local w impl r line a b c d e f g n
    declare -A rps p99 cpr errs
    echo "  進階選項對預設伺服器（伺服器 CPU 0、客戶端 CPU 1，每回合 ${IOU_SECONDS} 秒，${IOU_ROUNDS} 回合交錯，每回合輪換先後）"
    for ((r = 1; r <= IOU_ROUNDS; r++)); do
        order=()
        n=${#IOU_FEATURE_IMPLS[@]}
        for ((i = 0; i < n; i++)); do order+=("${IOU_FEATURE_IMPLS[$(((i + r) % n))]}"); done
        for w in "${workloads[@]}"; do
            for impl in "${order[@]}"; do
                # shellcheck disable=SC2086 # 故意拆開成 CONNS SIZE DEPTH
                line=$(iou_perf_round "$impl" $w)
                read -r a b c d e f g <<<"$line"
                rps[$impl,$w]+="$a "
                p99[$impl,$w]+="$b "
                cpr[$impl,$w]+="$g "
                errs[$impl,$w]=$(( ${errs[$impl,$w]:-0} + ${c:-1} + ${d:-1} ))
                printf '    回合 %d  %-12s %-16s req/s %-9s p99 %-6s µs  errors %s  stalled %s  CPU 伺服器 %s%%（%s µs/請求）客戶端 %s%%\n' \
                    "$r" "$impl" "$(iou_wname "$w")" "$a" "$b" "$c" "$d" "$e" "$g" "$f"
            done
        done
    done
    local name m lo hi bad=""
    for w in "${workloads[@]}"; do
        name=$(iou_wname "$w")
        for impl in zc fixed bundle fixed_bundle buf_depth; do
            bench_pair io_uring "$name $impl" req_per_s req/s higher "${rps[$impl,$w]}" "${rps[io_uring,$w]}" io_uring_default
            bench_pair io_uring "$name $impl" server_cpu_per_req us lower "${cpr[$impl,$w]}" "${cpr[io_uring,$w]}" io_uring_default
        done
        for impl in io_uring fixed_bundle buf_depth; do
            bench_pair io_uring "$name $impl" server_cpu_per_req us lower "${cpr[$impl,$w]}" "${cpr[epoll,$w]}" epoll_echo
        done
        for impl in "${IOU_FEATURE_IMPLS[@]}"; do
            [ "${errs[$impl,$w]}" == 0 ] || bad+=" $impl/$name=${errs[$impl,$w]}"
        done
    done
    check_eq io_uring.perf_features_clean "每個選項、每種負載、每個回合的 errors + stalled 總和" 0 "${bad:-0}"
    read -r m lo hi <<<"$(pair_ci "${cpr[fixed_bundle,500 64 1]}" "${cpr[epoll,500 64 1]}")"
    goal io_uring.cpu_per_req_500c_64B "500 連線 × 64 B × depth 1 每個請求的伺服器 CPU（--fixed --bundle / epoll ≤ 0.8）" "$m" '<=' 0.8 "$lo" "$hi"
    # 預設伺服器也記一個：這台機器上它才是每個請求最省的（README〈進階選項〉的解釋：loopback 上九成是 TCP 本身）
    read -r m lo hi <<<"$(pair_ci "${cpr[io_uring,500 64 1]}" "${cpr[epoll,500 64 1]}")"
    goal io_uring.cpu_per_req_500c_64B_default "500 連線 × 64 B × depth 1 每個請求的伺服器 CPU（預設伺服器 / epoll ≤ 0.8）" "$m" '<=' 0.8 "$lo" "$hi"
}

# --napi 的對照：loopback 沒有 NAPI，所以在開了 GRO 的 veth 上（伺服器在 netns 測試主機 198.18.3.1，客戶端在根 namespace），
# 50 連線 × 64 B × depth 1 的 p50／p99 與 req/s，--napi 50 對預設伺服器，回合交錯
io_uring_t_perf_napi() {
    need_root io_uring.perf_napi || return 0
    local ns=kbiou-napi r impl w="50 64 1" port=12345 log blog
    declare -A rps p50 p99 napi
    iou_napi_veth "$ns" kbnapi0 kbnapi1 198.18.3   # tests/io_uring.sh：開 GRO、關 TSO 的 veth 與測試主機
    echo "  --napi 50 對預設伺服器（開了 GRO 的 veth，netns 測試主機 198.18.3.1，50 連線 × 64 B × depth 1，${IOU_ROUNDS} 回合交錯）"
    for ((r = 1; r <= IOU_ROUNDS; r++)); do
        for impl in $( ((r % 2)) && echo "plain napi" || echo "napi plain"); do
            log=$WORK/perf-napi-$impl-srv.log blog=$WORK/perf-napi-$impl-bench.log
            local -a extra=()
            [ "$impl" == plain ] || extra=(--napi 50)
            bg_start "$log" ip netns exec "$ns" taskset -c 0 "$(bin "$IOU")" "$port" "${extra[@]}"
            wait_marker "$log" '\[就緒\]' 10 "$BG_PID" || { fail io_uring.perf_napi "netns 中的伺服器沒有就緒"; show_log "$log"; return 0; }
            taskset -c 1 "$(bin "$IOU")" bench 198.18.3.1 "$port" --conns 50 --size 64 --depth 1 --duration "$IOU_SECONDS" --quiet >"$blog" 2>&1 || true
            stop_pid "$BG_PID" INT
            rps[$impl]+="$(summary_get "$blog" req_per_s) "
            p50[$impl]+="$(summary_get "$blog" p50_us) "
            p99[$impl]+="$(summary_get "$blog" p99_us) "
            napi[$impl]+="$(summary_get "$log" napi_conns) "
            printf '    回合 %d  %-6s req/s %-8s p50 %-5s µs  p99 %-6s µs  errors %s  有 NAPI ID 的連線 %s\n' "$r" "$impl" \
                "$(summary_get "$blog" req_per_s)" "$(summary_get "$blog" p50_us)" "$(summary_get "$blog" p99_us)" \
                "$(summary_get "$blog" errors)" "$(summary_get "$log" napi_conns)"
        done
    done
    bench_pair io_uring "veth 50c×64B×d1 napi" req_per_s req/s higher "${rps[napi]}" "${rps[plain]}" io_uring_default
    bench_pair io_uring "veth 50c×64B×d1 napi" p50_latency us lower "${p50[napi]}" "${p50[plain]}" io_uring_default
    bench_pair io_uring "veth 50c×64B×d1 napi" p99_latency us lower "${p99[napi]}" "${p99[plain]}" io_uring_default
    check_eq io_uring.perf_napi_ids "每個 --napi 回合的 50 條連線都有 NAPI ID（busy poll 真的適用）" "$(printf '50 %.0s' $(seq "$IOU_ROUNDS"))" "${napi[napi]}"
}
# >8 perf-features
