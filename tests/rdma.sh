# shellcheck shell=bash
# tests/rdma.sh — rdma_communication 的測試（群組 rdma）。
#
#   rdma_smoke：這台主機上（通常沒有 RDMA 裝置）：中文 --help、沒有裝置時 exit 77 與提示、錯誤參數 exit 2。
#   rdma_full ：在有 RDMA 的環境裡跑 tests/rdma_cases.sh full——主機核心有 rdma_rxe 時直接在主機上
#               （dummy 介面 + rxe），否則開一次測試 VM（tests/rdma_vm.sh）。VM 的 console 解析成一個個 PASS/FAIL。
#   rdma_perf ：（tests/rdma_perf.sh）同一次 VM 開機裡，本程式與 perftest（ib_send_lat、ib_write_lat、ib_read_lat、
#               ib_write_bw、ib_send_bw、ib_read_bw）交替跑三回合，取中位數比較。
#   rdma_demo ：make demo 用：VM 裡跑一次 4 KiB 的 send / write / read。
#   測試函式一律叫 rdma_t_<案例>（run_test 呼叫它們）；其餘是共用的小工具。

# shellcheck source=tests/rdma_vm.sh
source "${ROOT:?}/tests/rdma_vm.sh"

RDMA_PROG=rdma_communication
RDMA_HINT='rdma link add rxe0 type rxe netdev'
RDMA_FULL_TIMEOUT=420     # 秒：功能測試整次 VM 執行的上限（正常約 60–110 秒，主機忙時更久）
RDMA_DEMO_TIMEOUT=120

# 主機自己有沒有 RDMA 裝置（實體 RNIC 或 rxe）
rdma_host_has_device() {
    [ -d /sys/class/infiniband ] && [ -n "$(ls -A /sys/class/infiniband 2>/dev/null)" ]
}

# ---------------------------------------------------------------- 冒煙測試（不需要 root、不需要裝置）
rdma_t_help() {
    need_bin "$RDMA_PROG" rdma.help || return 0
    local out rc=0
    out=$("$(bin "$RDMA_PROG")" --help 2>&1) || rc=$?
    check_eq rdma.help_exit "--help 的結束碼" 0 "$rc"
    local opt missing=""
    for opt in atomic p999 --qp --qps --bidir --srq --histogram --port --dev --test --size --iters --depth --mode --event --inline --timeout --max-clients --max-region --max-total; do
        grep -q -- "$opt" <<<"$out" || missing+=" $opt"
    done
    if [ -z "$missing" ] && grep -q '用法' <<<"$out" && grep -q '預設 7471' <<<"$out"; then
        pass rdma.help "--help 是中文並列出每個選項與預設值（--port 預設 7471）"
    else
        fail rdma.help "--help 的內容" "中文說明與所有選項" "缺少：${missing:-中文或預設值}"
    fi
}

rdma_t_no_device() {
    need_bin "$RDMA_PROG" rdma.no_device || return 0
    local log=$WORK/rdma_nodev.log rc=0
    if rdma_host_has_device; then
        # 主機有 RDMA 裝置：改測指定一個不存在的裝置
        run_timeout 20 "$(bin "$RDMA_PROG")" client 198.18.5.1 --dev kbnosuch0 >"$log" 2>&1 || rc=$?
        check_eq rdma.no_device "主機有 RDMA 裝置；--dev 指定不存在的裝置時結束碼" 77 "$rc"
        return 0
    fi
    run_timeout 20 "$(bin "$RDMA_PROG")" client 198.18.5.1 >"$log" 2>&1 || rc=$?
    if [ "$rc" == 77 ] && grep -qF "$RDMA_HINT" "$log" && grep -q 'rdma_rxe' "$log" &&
        [[ "$(last_line "$log")" == "[摘要]"* ]]; then
        pass rdma.no_device "沒有 RDMA 裝置：client 198.18.5.1 以 77 結束，提示 \`$RDMA_HINT IFACE\` 與 rdma_rxe，最後一行是 [摘要]"
    else
        fail rdma.no_device "沒有 RDMA 裝置時的結束碼與提示" "77 + 中文提示" "結束碼 $rc"
        show_log "$log"
    fi
}

rdma_t_bad_options() {
    need_bin "$RDMA_PROG" rdma.bad_options || return 0
    local -a cases=(
        ""                                  # 沒有角色
        "bogus"                             # 未知的角色
        "client"                            # 沒有位址
        "client not-an-ip"
        "client 198.18.5.1 --size 8"        # 小於 16 bytes
        "client 198.18.5.1 --size 1G"
        "client 198.18.5.1 --depth 0"
        "client 198.18.5.1 --iters abc"
        "client 198.18.5.1 --test atomics"
        "client 198.18.5.1 --mode fast"
        "server --port 0"
        "server --port 70000"
        "server --frobnicate"
        "client 198.18.5.1 --size 64M --depth 1024"
    )
    local c rc bad="" log=$WORK/rdma_badopt.log
    for c in "${cases[@]}"; do
        rc=0
        # shellcheck disable=SC2086
        run_timeout 10 "$(bin "$RDMA_PROG")" $c >"$log" 2>&1 || rc=$?
        if [ "$rc" != 2 ] || ! grep -q '錯誤' "$log"; then bad+=" [$c → $rc]"; fi
    done
    if [ -z "$bad" ]; then
        pass rdma.bad_options "${#cases[@]} 種錯誤參數都以 2 結束並印出中文錯誤"
    else
        fail rdma.bad_options "錯誤參數的結束碼" "全部 2" "$bad"
    fi
}

# run_test 回傳 130（Ctrl-C）時立刻往上傳，讓 run_tests.sh 停下來
rdma_smoke() {
    run_test rdma_t_help || return
    run_test rdma_t_no_device || return
    run_test rdma_t_bad_options || return
}

# ---------------------------------------------------------------- 在 RDMA 環境裡執行 rdma_cases.sh
# rdma_run_cases MODE LOG TIMEOUT：結果（@@KB ... 行）寫到 LOG；回傳 0 = 跑完
# 主機核心有 rdma_rxe（或已有 RDMA 裝置）時在主機上跑，否則開 VM。RDMA_WHERE 記下在哪裡跑的。
rdma_run_cases() {
    local mode=$1 log=$2 timeout=$3
    RDMA_BIN=$(bin "$RDMA_PROG")
    if rdma_native_setup; then
        RDMA_WHERE="主機（$RDMA_NATIVE_DEV）"
        KB_BIN=$RDMA_BIN KB_ADDR=$RDMA_VM_ADDR KB_DEV=$RDMA_NATIVE_DEV KB_TMP=$WORK \
            run_timeout "$timeout" sh "$ROOT/tests/rdma_cases.sh" "$mode" >"$log" 2>&1 || true
        grep -q '^@@KB end' "$log"
        return
    fi
    RDMA_WHERE="qemu TCG VM"
    local dep
    for dep in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio ibv_devices:ibverbs-utils \
        ibv_devinfo:ibverbs-utils ib_write_lat:perftest ib_send_bw:perftest rdma:iproute2 ip:iproute2 dpkg:dpkg; do
        need_cmd "${dep%%:*}" rdma.vm "${dep#*:}" || return 1
    done
    if [ ! -f "$RDMA_VM_PROVIDER" ] || [ ! -f /etc/libibverbs.d/rxe.driver ]; then
        skip rdma.vm "找不到 Soft-RoCE 的 user-space provider $RDMA_VM_PROVIDER（Debian 套件 ibverbs-providers，make install-deps 會安裝）"
        return 1
    fi
    if ! rdma_vm_kernel; then
        fail "rdma.vm_kernel" "取得測試 VM 的核心" "linux-image 套件" "$RDMA_VM_ERR"
        return 1
    fi
    mkdir -p "$WORK/rdma-vm"
    rdma_vm_initramfs "$mode" "$WORK/rdma-vm/initrd-$mode.cpio"
    local rc=0
    rdma_vm_boot "$WORK/rdma-vm/initrd-$mode.cpio" "$log.raw" "$timeout" || rc=$?
    # 序列埠的換行是 \r\n
    tr -d '\r' <"$log.raw" >"$log"
    # qemu 收到 Ctrl-C 先結束了：這不是測試失敗，照中斷處理（收尾由 run_test 的 trap 做）
    if grep -q 'terminating on signal' "$log"; then exit 130; fi
    case $rc in
    0) return 0 ;;
    1) fail rdma.vm_boot "測試 VM 在 90 秒內開到 userspace" "@@KB booted" "沒有開機（核心或 initramfs 有問題）"
       show_log "$log" 25 ;;
    *) fail rdma.vm_run "測試 VM 在 $timeout 秒內跑完所有案例" "@@KB end" "卡住或中途結束"
       show_log "$log" 25 ;;
    esac
    return 1
}

# 主機原生路徑：核心有 rdma_rxe 時，在 dummy 介面 kbrdma0（198.18.5.1/25）上建 kbrxe0
rdma_native_setup() {
    [ "$IS_ROOT" == 1 ] || return 1
    if ! rdma_host_has_device && ! modprobe rdma_rxe 2>/dev/null; then return 1; fi
    modprobe rdma_rxe 2>/dev/null || [ -d /sys/module/rdma_rxe ] || return 1
    modprobe dummy 2>/dev/null || true
    ip link del kbrdma0 2>/dev/null || true
    ip link add kbrdma0 type dummy 2>/dev/null || return 1
    defer "ip link del kbrdma0"
    ip addr add "$RDMA_VM_ADDR/$RDMA_VM_PREFIX" dev kbrdma0
    ip link set kbrdma0 up
    # 「沒有路由」的案例用 198.18.5.200：主機可能有預設路由，所以明確設成 unreachable，封包不會離開主機
    ip route add unreachable 198.18.5.128/25 2>/dev/null && defer "ip route del unreachable 198.18.5.128/25"
    rdma link add kbrxe0 type rxe netdev kbrdma0 2>/dev/null || return 1
    defer "rdma link delete kbrxe0"
    RDMA_NATIVE_DEV=kbrxe0
}

# ---------------------------------------------------------------- console 解析
# rdma_line LOG CASE：該案例的 @@KB 行（去掉前綴）
rdma_line() { grep "^@@KB $2 " "$1" | tail -n 1 | sed "s/^@@KB $2 //"; }
# rdma_kv LINE KEY
rdma_kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | tail -n 1; }
rdma_msg() { grep "^@@MSG $2 " "$1" | tail -n 1 | awk '{print $3}'; }
# 案例失敗時印出它在 VM 裡留下的日誌
rdma_case_log() { sed -n "s/^@@LOG $2 /    │ /p" "$1" | tail -n 12; }

rdma_check_client() { # LOG CASE NAME 說明
    local log=$1 c=$2 name=$3 msg=$4 line rc v last
    line=$(rdma_line "$log" "$c")
    rc=$(rdma_kv "$line" rc)
    v=$(rdma_kv "$line" verified)
    last=$(rdma_kv "$line" last_is_summary)
    if [ "$rc" == 0 ] && [ "$v" == yes ] && [ "$last" == yes ]; then
        pass "$name" "$msg（verified=yes，[摘要] 在最後一行）"
        return 0
    fi
    fail "$name" "$msg" "rc=0 verified=yes" "rc=${rc:-無} verified=${v:-無} last_is_summary=${last:-無}"
    rdma_case_log "$log" "$c"
    return 1
}

# 議題 7：--timeout 2 的 server 上，跑得比 5 秒久的 READ 與 WRITE 頻寬都 verified（server 從 PROGRESS 知道還在進行）；
# 議題 8：READ 進行中，第二個 client 同時被服務完（不必排隊）
rdma_check_progress() {
    local log=$1 c line secs bad=0 srv
    for c in long_read long_write_bw; do
        line=$(rdma_line "$log" "$c")
        secs=$(rdma_kv "$line" seconds)
        if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] &&
            awk -v s="${secs:-0}" 'BEGIN{exit !(s >= 5)}'; then
            pass "rdma.progress_timeout_${c#long_}" "server --timeout 2、client 跑了 ${secs} 秒（$([ "$c" == long_read ] && echo 'READ 頻寬' || echo 'WRITE 頻寬')）：沒有被切斷，verified=yes"
        else
            srv=$({ grep "^@@SRV server_t2 .*size=1048576" "$log" || true; } | tr "\n" " ")
            fail "rdma.progress_timeout_${c#long_}" "--timeout 2 的 server 上跑超過 5 秒的 $c" "rc=0 verified=yes seconds>=5" \
                "rc=$(rdma_kv "$line" rc) verified=$(rdma_kv "$line" verified) seconds=${secs:-無}；server：${srv:-沒有 [結果]}"
            rdma_case_log "$log" "$c"
            bad=1
        fi
    done
    line=$(rdma_line "$log" concurrent_second)
    local overlap
    overlap=$(rdma_kv "$(rdma_line "$log" overlap)" alive)
    if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] && [ "$overlap" == yes ]; then
        pass rdma.concurrent_clients "長時間的 READ client 進行中，第二個 client 同時被服務並 verified=yes（不必排隊）"
    else
        fail rdma.concurrent_clients "長時間的 client 進行中，第二個 client 同時被服務" "rc=0 verified=yes 且第一個 client 還在跑" \
            "rc=$(rdma_kv "$line" rc) verified=$(rdma_kv "$line" verified) 第一個還在跑=${overlap:-無}"
        rdma_case_log "$log" concurrent_second
        bad=1
    fi
    return "$bad"
}

# 議題 8：--max-clients 1 --max-region 4M --max-total 4M：已滿 → 拒絕並說明；太大 → 拒絕並說明；
# 合計超過 --max-total → 拒絕並說明；之後的 client 被服務
rdma_check_limits() {
    local log=$1 bad=0 c line reason name msg srv
    for c in busy_rejected oversize over_total; do
        line=$(rdma_line "$log" "$c")
        case $c in
        busy_rejected) reason=busy name=rdma.max_clients_full msg="--max-clients 1 已有一個 client：第二個以 rdma_reject 被拒絕，兩端都印出原因（已滿）" ;;
        oversize) reason=region_too_big name=rdma.oversize_refused msg="要註冊 16 MiB、server --max-region 4M：在 accept 之前被拒絕，兩端都印出原因" ;;
        over_total) reason=total_memory name=rdma.total_memory_refused msg="單獨放得下、加上正在服務的 client 就超過 --max-total 4M：在 accept 之前被拒絕，兩端都印出原因" ;;
        esac
        srv=$(grep -c "^@@SRV server_lim .*status=rejected reason=$reason" "$log" || true)
        if [ "$(rdma_kv "$line" rc)" == 1 ] && [ "$(rdma_msg "$log" "$c")" != 0 ] && [ "$srv" -ge 1 ]; then
            pass "$name" "$msg"
        else
            fail "$name" "$msg" "client rc=1 並印出 reason=$reason、server [結果] status=rejected reason=$reason" \
                "rc=$(rdma_kv "$line" rc) client 訊息=$(rdma_msg "$log" "$c") server 行數=$srv"
            rdma_case_log "$log" "$c"
            sed -n "s/^@@SRV server_lim /    │ /p" "$log"
            bad=1
        fi
    done
    rdma_check_client "$log" after_limits rdma.limits_serve_next "被拒絕的 client 與離開的 client 之後，--max-clients 1 的 server 服務下一個 client" || bad=1
    line=$(rdma_line "$log" server_lim)
    if [ "$(rdma_kv "$line" rc)" != 0 ] || [ "$(rdma_kv "$line" rejected)" != 3 ]; then
        fail rdma.limits_summary "--max-clients 1 的 server 結束" "rc=0 rejected=3" "$line"
        rdma_case_log "$log" server_lim
        bad=1
    fi
    return "$bad"
}

# 議題 15：延遲分佈。每個有延遲的 [摘要] 都有 lat_p50_us ≤ lat_p90_us ≤ lat_p99_us ≤ lat_p999_us ≤ lat_max_us，
# 新的 key（p90、p999）附在行尾（seconds 之後），舊的 key 的位置不變
rdma_check_percentiles() {
    local log=$1 c line k v prev problems="" shown=""
    for c in all_4096_poll lat_hist atomic_poll atomic_event; do
        line=$(rdma_line "$log" "$c")
        [ -n "$line" ] || { problems+=" $c：沒有結果;"; continue; }
        prev=0
        for k in lat_p50_us lat_p90_us lat_p99_us lat_p999_us lat_max_us; do
            v=$(rdma_kv "$line" "$k")
            if ! [[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then problems+=" $c：$k=「$v」不是數字;"; break; fi
            if awk -v a="$prev" -v b="$v" 'BEGIN{exit !(b < a)}'; then problems+=" $c：$k=$v 小於前一個百分位 $prev;"; fi
            prev=$v
        done
        [[ "$line" == *" seconds="*" lat_p90_us="*" lat_p999_us="* ]] || problems+=" $c：lat_p90_us / lat_p999_us 不在行尾（seconds 之後）;"
        [ "$c" != lat_hist ] || shown="write 64 B × 1000：p50 $(rdma_kv "$line" lat_p50_us)、p90 $(rdma_kv "$line" lat_p90_us)、p99 $(rdma_kv "$line" lat_p99_us)、p99.9 $(rdma_kv "$line" lat_p999_us)、max $(rdma_kv "$line" lat_max_us) µs"
    done
    if [ -z "$problems" ]; then
        pass rdma.latency_percentiles "send/write/read 與 atomic 的 [摘要] 有 p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max，新 key 在行尾（$shown）"
        return 0
    fi
    fail rdma.latency_percentiles "延遲分佈的 key 與順序" "lat_p50_us ≤ lat_p90_us ≤ lat_p99_us ≤ lat_p999_us ≤ lat_max_us，新 key 在行尾" "$problems"
    return 1
}

# 議題 15：--histogram（perftest 的 -H）。write 64 B × 1000 次：[分佈] 每一列的次數加起來是 1000，perftest 格式的表是
# 「64 1000 t_min t_max t_typical t_avg t_stdev 99% 99.9%」，t_typical 就是 [摘要] 的 p50、t_max 是 max、t_min ≤ t_avg ≤ t_max，
# [摘要] 行尾有 lat_min_us、lat_avg_us、lat_stdev_us
rdma_check_histogram() {
    local log=$1 d line pt
    d=$(rdma_line "$log" lat_hist_detail)
    line=$(rdma_line "$log" lat_hist)
    pt=$(rdma_kv "$d" perftest)
    local -a f
    IFS=, read -r -a f <<<"$pt"
    if [ "$(rdma_kv "$d" total)" == 1000 ] && [ "$(rdma_kv "$d" rows)" -ge 1 ] && [ "${f[0]:-}" == 64 ] && [ "${f[1]:-}" == 1000 ] &&
        [ "${f[4]:-}" == "$(rdma_kv "$line" lat_p50_us)" ] && [ "${f[3]:-}" == "$(rdma_kv "$line" lat_max_us)" ] &&
        [ "${f[2]:-}" == "$(rdma_kv "$line" lat_min_us)" ] && [ "${f[5]:-}" == "$(rdma_kv "$line" lat_avg_us)" ] &&
        awk -v a="${f[2]:-x}" -v b="${f[5]:-x}" -v c="${f[3]:-x}" 'BEGIN{exit !(a+0 <= b+0 && b+0 <= c+0 && c+0 > 0)}'; then
        pass rdma.histogram "--histogram：$(rdma_kv "$d" rows) 個區間的次數加起來 1000，perftest 格式的表（t_min ${f[2]}、t_typical ${f[4]}、t_avg ${f[5]}、t_max ${f[3]} µs）與 [摘要] 一致"
        return 0
    fi
    fail rdma.histogram "--histogram 的分佈與 perftest 格式的表" "次數總和 1000、64 1000 t_min≤t_avg≤t_max、t_typical = lat_p50_us、t_max = lat_max_us" \
        "$d；[摘要] lat_min_us=$(rdma_kv "$line" lat_min_us) lat_p50_us=$(rdma_kv "$line" lat_p50_us) lat_avg_us=$(rdma_kv "$line" lat_avg_us) lat_max_us=$(rdma_kv "$line" lat_max_us)"
    rdma_case_log "$log" lat_hist
    return 1
}

# 議題 15：--qps。write 64 KiB × 200 × 3 條連線：client verified=yes qps=3、總頻寬與最慢一條都是數字，server 為它服務了 3 條連線
# （3 行 test=write size=65536 iters=200 的 [結果]，都 verified=yes）；--test all --qps 2：三個測試各兩條，全部驗證通過
rdma_check_qps() {
    local log=$1 line all n bad=0
    line=$(rdma_line "$log" qps_write)
    all=$(rdma_line "$log" qps_all)
    n=$(grep -c '^@@SRV server .*test=write size=65536 iters=200 status=ok verified=yes' "$log" || true)
    if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] && [ "$(rdma_kv "$line" qps)" == 3 ] &&
        [[ "$(rdma_kv "$line" bw_mbps)$(rdma_kv "$line" qp_min_mbps)" =~ ^[0-9]+\.[0-9]+[0-9]+\.[0-9]+$ ]] && [ "$n" == 3 ]; then
        pass rdma.qps "--qps 3：write 64 KiB 三條連線一起跑，總頻寬 $(rdma_kv "$line" bw_mbps) MB/s（最慢一條 $(rdma_kv "$line" qp_min_mbps)），server 三條都驗證通過"
    else
        fail rdma.qps "--qps 3 的 write 頻寬" "rc=0 verified=yes qps=3、兩個頻寬是數字、server 3 行 verified=yes 的 [結果]" "$line；server 的 [結果] $n 行"
        rdma_case_log "$log" qps_write
        bad=1
    fi
    if [ "$(rdma_kv "$all" rc)" == 0 ] && [ "$(rdma_kv "$all" verified)" == yes ] && [ "$(rdma_kv "$all" passed)" == 3 ] && [ "$(rdma_kv "$all" qps)" == 2 ]; then
        pass rdma.qps_all "--test all --qps 2：send、write、read 各兩條連線，全部驗證通過（最低頻寬 $(rdma_kv "$all" bw_mbps) MB/s）"
    else
        fail rdma.qps_all "--test all --qps 2" "rc=0 verified=yes passed=3 qps=2" "$all"
        rdma_case_log "$log" qps_all
        bad=1
    fi
    return "$bad"
}

# 議題 15：--bidir。write 32 KiB × 300（只有頻寬）、4 KiB × 301（延遲之後頻寬，301 不是 depth 的倍數）、send 8 KiB × 500 與
# read 16 KiB × 400：client rc=0 verified=yes bidir=yes（client 驗證了 server 寫來、送來或被讀回的每一則），
# server 的 [結果] verified=yes（它驗證了 client 寫來、送來的，或從 client 讀回的）；頻寬是兩個方向的合計
rdma_check_bidir() {
    local log=$1 c size iters bad=0 line n t extra
    for c in "bidir_write 32768 300" "bidir_both 4096 301" "bidir_send 8192 500" "bidir_read 16384 400"; do
        read -r c size iters <<<"$c"
        line=$(rdma_line "$log" "$c")
        # READ：server 的 [結果] 另有 reads_verified（它真的從 client 讀回、核對了幾個；不讀也能 verified=yes）
        case $c in bidir_send) t="send" extra="" ;; bidir_read) t="read" extra=".* reads_verified=$iters( |$)" ;; *) t="write" extra="" ;; esac
        n=$(grep -cE "^@@SRV server .*test=$t size=$size iters=$iters status=ok verified=yes$extra" "$log" || true)
        if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] && [ "$(rdma_kv "$line" bidir)" == yes ] &&
            [[ "$(rdma_kv "$line" bw_mbps)" =~ ^[0-9]+\.[0-9]+$ ]] && [ "$n" == 1 ]; then
            pass "rdma.$c" "--bidir：$(rdma_kv "$line" test) $size B × $iters 兩個方向同時進行，兩端都驗證通過（合計 $(rdma_kv "$line" bw_mbps) MB/s）"
        else
            fail "rdma.$c" "--bidir（$c：$size B × $iters）" "rc=0 verified=yes bidir=yes、頻寬是數字、server 1 行 verified=yes 的 [結果]" "$line；server 的 [結果] $n 行"
            rdma_case_log "$log" "$c"
            bad=1
        fi
    done
    return "$bad"
}

# 議題 15：--srq。server --srq 32：四個同時的 client（send 4 KiB × 400、send 8 KiB × 300、write 32 KiB × 200、send 延遲 1 KiB × 300）
# 都 rc=0 verified=yes，server 為它們與之後的一個 client 印出 5 行 status=ok verified=yes srq=yes 的 [結果]；中途被 kill -9 的
# client 是 peer_lost；128 KiB 的 SEND 被拒絕（reason=srq_size）；結束時 [摘要] srq_posted = srq_bufs = 32（沒有緩衝區遺失），
# srq_recvs ≥ 1400（上面的訊息都從池子收）
rdma_check_srq() {
    local log=$1 c line sum bad="" n
    for c in srq_send_a srq_send_b srq_write srq_lat srq_after; do
        line=$(rdma_line "$log" "$c")
        [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] || bad+=" [$c：$(rdma_kv "$line" rc)/$(rdma_kv "$line" verified)]"
    done
    n=$(grep -c '^@@SRV server_srq .*status=ok verified=yes .*srq=yes' "$log" || true)
    [ "$n" == 5 ] || bad+=" [server 的 srq=yes verified=yes 的 [結果] $n 行，應為 5]"
    grep -q '^@@SRV server_srq .*iters=100000000 status=peer_lost' "$log" || bad+=" [被 kill -9 的 client 不是 peer_lost]"
    grep -q '^@@SRV server_srq .*size=131072 .*status=rejected reason=srq_size' "$log" || bad+=" [128 KiB 的 SEND 沒有以 srq_size 拒絕]"
    sum=$(rdma_line "$log" server_srq)
    if [ "$(rdma_kv "$sum" srq_bufs)" != 32 ] || [ "$(rdma_kv "$sum" srq_posted)" != 32 ] || [ "$(rdma_kv "$sum" srq_recvs)" -lt 1400 ] 2>/dev/null; then
        bad+=" [[摘要] srq_bufs=$(rdma_kv "$sum" srq_bufs) srq_posted=$(rdma_kv "$sum" srq_posted) srq_recvs=$(rdma_kv "$sum" srq_recvs)]"
    fi
    if [ -z "$bad" ]; then
        pass rdma.srq "--srq 32：四個 client 同時從 32 個共用的接收緩衝區收訊息，全部驗證通過；中途被殺的 client 拿走的緩衝區回到池子（結束時 srq_posted=32、從池子收了 $(rdma_kv "$sum" srq_recvs) 則）；128 KiB 的 SEND 以 srq_size 拒絕"
        return 0
    fi
    fail rdma.srq "--srq 的共用接收佇列" "5 個 client verified=yes、server 5 行 srq=yes、peer_lost、srq_size 拒絕、srq_posted=srq_bufs=32、srq_recvs ≥ 1400" "$bad"
    for c in srq_send_a srq_write srq_lat; do rdma_case_log "$log" "$c"; done
    return 1
}

# 議題 15：--qp ud。client：rc=0 verified=yes、每個 PING 都有 PONG（同一台機器上的 rxe 不該丟）、收到的訊息帶 GRH、
# 送達 + 遺失 = 送出；server：每個 client 一行 [結果]，它數到的 PING 與 DATA 和 client 的一致、bad=0；
# 超過路徑 MTU 的 --size 在送之前就被拒（結束碼 2、說出 MTU），沒有 UD server 的埠說 SIDR 失敗
rdma_check_ud() {
    local log=$1 c line bad="" sent recv lost srv
    for c in ud_both ud_bw; do
        line=$(rdma_line "$log" "$c")
        [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] && [ "$(rdma_kv "$line" qp)" == ud ] &&
            [ "$(rdma_kv "$line" grh)" == yes ] || bad+=" [$c：rc=$(rdma_kv "$line" rc) verified=$(rdma_kv "$line" verified) grh=$(rdma_kv "$line" grh)]"
        sent=$(rdma_kv "$line" ud_sent) recv=$(rdma_kv "$line" ud_received) lost=$(rdma_kv "$line" ud_lost)
        if [ -z "$sent" ] || [ "$((recv + lost))" != "$sent" ] || [ "$recv" -lt 1 ]; then bad+=" [$c：送出 $sent ≠ 送達 $recv + 遺失 $lost]"; fi
        srv=$(grep "^@@SRV server_ud .*received=$recv sent=$sent " "$log" | head -n 1)
        [ -n "$srv" ] && [ "$(rdma_kv "$srv" bad)" == 0 ] && [ "$(rdma_kv "$srv" verified)" == yes ] ||
            bad+=" [$c：server 沒有 received=$recv sent=$sent bad=0 的 [結果]]"
    done
    line=$(rdma_line "$log" ud_both)
    [ "$(rdma_kv "$line" ud_pings)" == 1000 ] && [ "$(rdma_kv "$line" ud_lat_lost)" == 0 ] ||
        bad+=" [ud_both：PING $(rdma_kv "$line" ud_pings) 個、沒等到 PONG $(rdma_kv "$line" ud_lat_lost) 個（應為 1000 與 0）]"
    grep -q '^@@SRV server_ud .*pings=1000 received=[0-9]* sent=1000 ' "$log" ||
        bad+=" [server 沒有數到 ud_both 的 1000 個 PING]"
    [ "$(rdma_kv "$(rdma_line "$log" ud_mtu)" rc)" == 2 ] && grep -q '^@@UDERR ud_mtu.log:.*路徑 MTU' "$log" ||
        bad+=" [4096 bytes 沒有因路徑 MTU 被拒（rc=$(rdma_kv "$(rdma_line "$log" ud_mtu)" rc)）]"
    [ "$(rdma_kv "$(rdma_line "$log" ud_noserver)" rc)" == 1 ] && grep -q '^@@UDERR ud_noserver.log:.*SIDR' "$log" ||
        bad+=" [沒有 UD server 的埠沒有說 SIDR 失敗（rc=$(rdma_kv "$(rdma_line "$log" ud_noserver)" rc)）]"
    srv=$(rdma_line "$log" server_ud)
    [ "$(rdma_kv "$srv" rc)" == 0 ] && [ "$(rdma_kv "$srv" clients)" == 2 ] && [ "$(rdma_kv "$srv" verified)" == yes ] ||
        bad+=" [UD server 的 [摘要]：rc=$(rdma_kv "$srv" rc) clients=$(rdma_kv "$srv" clients) verified=$(rdma_kv "$srv" verified)]"
    if [ -z "$bad" ]; then
        line=$(rdma_line "$log" ud_bw)
        pass rdma.ud "--qp ud：兩個 client 同時對一個 UD QP；1000 個 PING 全部有 PONG、戳記正確，收到的都帶 GRH；頻寬 1 KiB × depth 64 送出 $(rdma_kv "$line" ud_sent)、送達 $(rdma_kv "$line" ud_received)、遺失 $(rdma_kv "$line" ud_lost)（兩端數字一致）；超過 MTU 的大小與沒有 UD server 的埠都說清楚原因"
        return 0
    fi
    fail rdma.ud "--qp ud 的 SEND/RECV" "兩個 client verified=yes grh=yes、送達 + 遺失 = 送出、server 的計數一致、MTU 與 SIDR 的錯誤" "$bad"
    for c in ud_both ud_bw ud_mtu ud_noserver server_ud; do rdma_case_log "$log" "$c"; done
    return 1
}

# 議題 15：--test atomic。client：每個 FAA 的舊值、每個 CAS 都成功（舊值序列），rc=0 verified=yes；
# server：計數器 = 次數 × 增量（kAtomicAdd = 2^32 + 1），[結果] verified=yes
rdma_check_atomic() {
    local log=$1 c line n want got bad=0 srv problems="" cap
    cap=$(sed -n 's/^@@KB atomic_cap //p' "$log" | tail -n 1)
    for c in atomic_poll atomic_event atomic_odd; do
        line=$(rdma_line "$log" "$c")
        case $c in
        atomic_odd) n=37 ;;                    # 只有速率階段：37 次 FAA
        *) n=400 ;;                             # 延遲 200 + 速率 200
        esac
        rdma_check_client "$log" "$c" "rdma.$c" "--test atomic（$c）：每個 FAA 的舊值與每個 CAS 都成功（FAA p50 $(rdma_kv "$line" lat_p50_us) µs、CAS p50 $(rdma_kv "$line" cas_lat_p50_us) µs、FAA $(rdma_kv "$line" faa_mops) Mops/s）" || bad=1
        if [ "$c" != atomic_odd ] && ! [[ "$(rdma_kv "$line" cas_lat_p50_us)$(rdma_kv "$line" faa_mops)" =~ ^[0-9.]+$ ]]; then
            problems+=" $c：cas_lat_p50_us 或 faa_mops 不是數字;"
        fi
        want=$((n * 4294967297))
        srv=$(grep "^@@SRV server .*test=atomic .*faa_counter=$want " "$log" | head -n 1)
        got=$(grep "^@@SRV server .*test=atomic" "$log" | sed -n 's/.*faa_counter=\([0-9]*\).*/\1/p' | tr '\n' ' ')
        [[ "$srv" == *"status=ok verified=yes"* ]] || problems+=" $c：server 沒有 faa_counter=$want（$n 次 × 增量）且 verified=yes 的 [結果]（看到的計數器：${got:-無}）;"
    done
    if [ -z "$problems" ]; then
        pass rdma.atomic_server_counter "server 檢查計數器 = 次數 × 增量（400 × (2^32+1) 與 37 × (2^32+1)）與 CAS 的最後一個值，[結果] verified=yes（裝置 ${cap:-atomic_cap ?}）"
    else
        fail rdma.atomic_server_counter "server 端的 atomic 計數器" "faa_counter = 次數 × 增量、verified=yes" "$problems"
        grep '^@@SRV server .*test=atomic' "$log" | sed 's/^/    │ /'
        bad=1
    fi
    return "$bad"
}

rdma_t_functional() {
    local log=$WORK/rdma_console.log bad=0
    rdma_run_cases full "$log" "$RDMA_FULL_TIMEOUT" || return 0
    pass rdma.env "在 $RDMA_WHERE 裡建立 rxe0 並跑完所有案例（$(grep -c '^@@KB ' "$log") 行結果）"

    # send / write / read × 三種大小 × 輪詢與 --event
    local sz mode line lat t
    for sz in 64 4096 1048576; do
        for mode in poll event; do
            line=$(rdma_line "$log" "all_${sz}_${mode}")
            lat=""
            for t in send write read; do lat+=" $t $(rdma_kv "$line" "${t}_lat_p50_us")µs"; done
            rdma_check_client "$log" "all_${sz}_${mode}" "rdma.${sz}B_${mode}" \
                "send、write、read 在 $sz bytes、$([ "$mode" == poll ] && echo 忙碌輪詢 || echo '--event ')下資料驗證通過（p50：$lat）" || bad=1
            for t in send write read; do
                [ "$(rdma_kv "$line" "${t}_verified")" == yes ] || { fail "rdma.${sz}B_${mode}_$t" "$t 的資料驗證" yes "$(rdma_kv "$line" "${t}_verified")"; bad=1; }
            done
        done
    done
    rdma_check_client "$log" inline_64 rdma.inline "--inline 的 64 bytes SEND" || bad=1
    rdma_check_client "$log" dev_write rdma.dev "--dev rxe0 指定裝置的 RDMA WRITE" || bad=1
    rdma_check_client "$log" odd_iters rdma.odd_iters "--iters 10（不是 depth/4 = 4 的倍數）的 send / write / read：ping-pong 的最後一則要求完成，不會等到逾時" || bad=1
    rdma_check_atomic "$log" || bad=1
    rdma_check_percentiles "$log" || bad=1
    rdma_check_histogram "$log" || bad=1
    rdma_check_qps "$log" || bad=1
    rdma_check_bidir "$log" || bad=1
    rdma_check_srq "$log" || bad=1
    rdma_check_ud "$log" || bad=1

    # client 中途被 kill -9：server 回報 peer_lost，並服務下一個 client
    local victim srvline
    victim=$(rdma_kv "$(rdma_line "$log" victim_killed)" rc)
    srvline=$(grep '^@@SRV server .*iters=100000000' "$log" | head -n 1)
    if [ "$victim" == 0 ] && [[ "$srvline" == *status=peer_lost* ]]; then
        pass rdma.client_killed "client 在測試中途被 kill -9，server 回報 status=peer_lost"
    else
        fail rdma.client_killed "server 對中途消失的 client 的回報" "status=peer_lost" "victim=${victim:-無} ${srvline:-沒有 [結果] 行}"
        rdma_case_log "$log" victim_killed
        bad=1
    fi
    rdma_check_client "$log" after_kill rdma.serves_next "被中斷之後，server 繼續服務下一個 client" || bad=1

    rdma_check_progress "$log" || bad=1
    rdma_check_limits "$log" || bad=1

    # 錯誤輸入
    line=$(rdma_line "$log" port_in_use)
    if [ "$(rdma_kv "$line" rc)" == 1 ] && [ "$(rdma_kv "$line" msg)" != 0 ]; then
        pass rdma.port_in_use "埠已被另一個 server 佔用：以 1 結束並說明「已被佔用」"
    else
        fail rdma.port_in_use "埠已被佔用" "rc=1 與中文說明" "$line"; rdma_case_log "$log" port_in_use; bad=1
    fi
    local c want name msg secs
    for c in no_server no_host no_route bad_dev server_killed; do
        line=$(rdma_line "$log" "$c")
        want=1
        case $c in
        no_server) name=rdma.no_server msg="連到沒有 server 的埠：連線被拒絕，以 1 結束" ;;
        no_host) name=rdma.server_absent msg="server 的位址不存在：--timeout 3 內以 1 結束，不會卡住" ;;
        no_route) name=rdma.unroutable msg="沒有 RDMA 裝置能路由到的位址：以 1 結束並說明" ;;
        bad_dev) name=rdma.bad_dev want=77 msg="--dev 指定不存在的裝置：以 77 結束並列出現有裝置" ;;
        server_killed) name=rdma.server_killed msg="server 在測試中途被 kill -9：client 回報對端離線並以 1 結束" ;;
        esac
        secs=$(rdma_kv "$line" seconds)
        if [ "$(rdma_kv "$line" rc)" == "$want" ] && { [ "$c" == no_host ] || [ "$c" == bad_dev ] || [ "$(rdma_msg "$log" "$c")" != 0 ]; } &&
            awk -v s="${secs:-999}" 'BEGIN{exit !(s < 15)}'; then
            pass "$name" "$msg（${secs} 秒）"
        else
            fail "$name" "$msg" "rc=$want、15 秒內、中文說明" "${line:-沒有結果}"
            rdma_case_log "$log" "$c"
            bad=1
        fi
    done

    # server 收到 SIGTERM：以 0 結束，最後一行是 [摘要]，clients 等於 [結果] 行數
    line=$(rdma_line "$log" server)
    local n_results
    n_results=$(grep -c '^@@SRV server ' "$log" || true)
    if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" last_is_summary)" == yes ] &&
        [ "$(rdma_kv "$line" clients)" == "$n_results" ]; then
        pass rdma.server_summary "server 收到 SIGTERM 後以 0 結束，最後一行 [摘要] clients=$n_results 與每個 client 的 [結果] 行數相符"
    else
        fail rdma.server_summary "server 的結束與 [摘要]" "rc=0、[摘要] 最後、clients=$n_results" "$line"
        rdma_case_log "$log" server
        bad=1
    fi
    if [ "$bad" != 0 ]; then show_log "$log" 5; fi
}

# 同一組案例用 ASan + UBSan 版本（build/sanitize/rdma_communication 與它的 libasan/libubsan 一起放進 VM）再跑一次：
# 任何 sanitizer 報告都會讓程式以非零結束，案例就不會是 rc=0 verified=yes
rdma_t_sanitize() {
    if [ ! -x "$ROOT/build/sanitize/$RDMA_PROG" ]; then
        fail rdma.sanitize "make sanitize 沒有產生 build/sanitize/$RDMA_PROG" "存在" "不存在"
        return 0
    fi
    local log=$WORK/rdma_asan_console.log c line bad=""
    SANITIZE=1 rdma_run_cases full "$log" "$RDMA_FULL_TIMEOUT" || return 0
    for c in all_64_poll all_64_event all_4096_poll all_4096_event all_1048576_poll all_1048576_event inline_64 dev_write odd_iters \
        atomic_poll atomic_event atomic_odd lat_hist after_kill \
        long_read concurrent_second long_write_bw after_limits; do
        line=$(rdma_line "$log" "$c")
        [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] || bad+=" $c(${line:-沒有結果})"
    done
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then bad+=" 有 sanitizer 報告"; fi
    if [ -z "$bad" ]; then
        pass rdma.sanitize "ASan + UBSan 版本在 $RDMA_WHERE 裡跑完 send/write/read × 64 B/4 KiB/1 MiB × 輪詢/--event、--inline、--dev、client 被殺後的下一個 client、長時間的 READ / WRITE 頻寬與同時的第二個 client、--max-clients 之後的 client：、--test atomic（輪詢、--event、只有速率）與 1000 次的延遲分佈：全部 verified=yes，沒有 sanitizer 報告"
    else
        fail rdma.sanitize "ASan + UBSan 版本" "每個案例 rc=0 verified=yes、沒有報告" "$bad"
        show_log "$log" 25
    fi
}

rdma_full() {
    need_root rdma.full || return 0
    run_test rdma_t_functional || return
    run_test rdma_t_sanitize || return
}

# ---------------------------------------------------------------- 效能比較（-p）：tests/rdma_perf.sh
# shellcheck source=tests/rdma_perf.sh
source "$ROOT/tests/rdma_perf.sh"

# ---------------------------------------------------------------- make demo
# rdma_follow FILE：VM 執行時，把 console 裡的進度行即時印出來（每 0.5 秒看一次新增的行）
rdma_follow() {
    local n=0 total
    while :; do
        total=0
        [ -f "$1" ] && total=$(wc -l <"$1")
        if [ "$total" -gt "$n" ]; then
            sed -n "$((n + 1)),${total}p" "$1" | tr -d '\r' |
                sed -n -e 's/^@@DEMO /    /p' -e 's/^@@KB booted \([^ ]*\).*/    VM 已開機（Debian 核心 \1，qemu TCG）/p' \
                    -e 's/^@@KB ready.*/    rxe0 已建立在 dummy0（198.18.5.1）上/p'
            n=$total
        fi
        sleep 0.5
    done
}

rdma_demo() {
    local log=$WORK/rdma_demo_console.log line
    [ "$IS_ROOT" == 1 ] || { echo "DEMO|RDMA|需要 root（開測試 VM）|—|README〈4. rdma_communication〉"; return 0; }
    echo "  RDMA：開一台 qemu VM（Soft-RoCE rxe0），server 與 client 在 VM 裡跑 send / write / read（4 KiB × 3000）……"
    rdma_follow "$log.raw" &
    defer "kill $!"
    rdma_run_cases demo "$log" "$RDMA_DEMO_TIMEOUT" || true
    sleep 0.6   # 讓 rdma_follow 印完最後幾行
    line=$(rdma_line "$log" demo)
    echo "DEMO|RDMA (Soft-RoCE)|$RDMA_WHERE 裡 rxe0 上的 send / write / read，4 KiB × 3000，資料驗證 $(rdma_kv "$line" verified)|write 延遲 p50 $(rdma_kv "$line" write_lat_p50_us) µs、頻寬 $(rdma_kv "$line" write_bw_mbps) MB/s（TCG 模擬，慢）|README〈4. rdma_communication〉"
}
