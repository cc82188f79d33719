# shellcheck shell=bash
# tests/lib.sh — run_tests.sh 與 tests/<group>.sh 共用的函式。
#
# 每個測試是一個 shell 函式，由 run_test 在子 shell 中執行：
#   - 結果用 pass / fail / skip / check_eq 回報（每個測試至少回報一次）；
#   - 需要收尾的東西（背景程序、namespace、veth、檔案）用 defer 登記，
#     測試結束（正常、失敗、Ctrl-C）時依登記的相反順序執行；
#   - 子 shell 開著 set -euo pipefail：意外失敗的指令會讓測試記為 FAIL，不會拖垮其他測試。
#
# 呼叫者設定 ROOT（專案根目錄），harness_init 設定其餘的變數：WORK（本次執行的暫存目錄）、
# RESULTS_FILE（結果計數檔）、RESULTS_DIR（results/）、LOG_KEEP（失敗時保留的日誌目錄）、
# IS_ROOT（1 或 0）、MODE（smoke|full|perf）。

# ---------------------------------------------------------------- 開頭
# harness_init MODE 暫存目錄字首：run_tests.sh 與 make demo 共用的開頭——
# 設定上面那些變數、建立 $WORK 與結果檔，登記整次執行的收尾（EXIT）與 Ctrl-C（INT、TERM → 結束碼 130）
harness_init() {
    MODE=$1
    WORK=$(mktemp -d "/tmp/$2.XXXXXX")
    RESULTS_FILE=$WORK/results
    RESULTS_DIR=$ROOT/results
    LOG_KEEP=$ROOT/test-logs
    IS_ROOT=0
    [ "$(id -u)" != 0 ] || IS_ROOT=1
    : >"$RESULTS_FILE"
    export ROOT WORK RESULTS_FILE RESULTS_DIR LOG_KEEP IS_ROOT MODE
    trap _global_cleanup EXIT
    trap 'echo; echo "已中斷，正在收尾……" >&2; exit 130' INT TERM
}

# ---------------------------------------------------------------- 回報
_report() { # STATUS NAME MSG
    local status=$1 name=$2 msg=$3
    printf '%s %s — %s\n' "$status" "$name" "$msg"
    printf '%s %s\n' "$status" "$name" >>"$RESULTS_FILE"
    _REPORTED=1
}
pass() { _report PASS "$1" "$2"; }
skip() { _report SKIP "$1" "$2"; }
fail() { # NAME MSG [EXPECTED GOT]
    local msg=$2
    if [ $# -ge 4 ]; then msg+="（預期：$3；實得：$4）"; fi
    _report FAIL "$1" "$msg"
    _FAILED=1
}
# check_eq NAME 說明 預期 實得
check_eq() {
    if [ "$3" == "$4" ]; then pass "$1" "$2（= $3）"; else fail "$1" "$2" "$3" "$4"; fi
}
# check_cmd NAME 說明 指令...：指令成功即 PASS
check_cmd() {
    local name=$1 msg=$2; shift 2
    if "$@"; then pass "$name" "$msg"; else fail "$name" "$msg" "指令成功" "失敗（$*）"; fi
}
# 失敗時附上日誌的最後幾行，並把日誌留在 $LOG_KEEP
show_log() { # FILE [LINES]
    local f=$1 n=${2:-15}
    [ -f "$f" ] || return 0
    mkdir -p "$LOG_KEEP"
    cp "$f" "$LOG_KEEP/${_TEST_NAME:-test}.$(basename "$f")" 2>/dev/null || true
    echo "    ── $(basename "$f") 最後 $n 行（完整日誌：$LOG_KEEP/${_TEST_NAME:-test}.$(basename "$f")）"
    tail -n "$n" "$f" | sed 's/^/    │ /'
}

# ---------------------------------------------------------------- 收尾
# _unwind ARRAY：依相反順序執行陣列裡登記的指令（忽略錯誤），然後清空它
_unwind() {
    local -n _stack=$1
    local i
    for ((i = ${#_stack[@]} - 1; i >= 0; i--)); do
        eval "${_stack[$i]}" >/dev/null 2>&1 || true
    done
    _stack=()
}
_CLEANUP=()
defer() { _CLEANUP+=("$*"); }
_run_cleanup() { _unwind _CLEANUP; }
# 一個測試裡先後換幾個伺服器時：cleanup_mark 記下目前登記到哪裡，cleanup_to MARK 只收掉之後登記的
cleanup_mark() { echo "${#_CLEANUP[@]}"; }
cleanup_to() {
    local i
    for ((i = ${#_CLEANUP[@]} - 1; i >= $1; i--)); do
        eval "${_CLEANUP[$i]}" >/dev/null 2>&1 || true
        unset '_CLEANUP[i]'
    done
}

# run_test FUNC [ARGS...]：在子 shell 裡執行一個測試，保證收尾。
# 測試被 set -e 中途打斷、又沒有自己回報 FAIL 時，補上一筆 FAIL。
run_test() {
    local fn=$1 rc=0 before errexit=0
    before=$(grep -c '^FAIL ' "$RESULTS_FILE" || true)
    # 子 shell 不能放在 || 或 && 的左邊：bash 在那種位置裡會整個關掉 set -e（子 shell 裡再 set -e 也沒用），
    # 意外失敗的指令就不會讓測試失敗。所以先關掉外層的 set -e，單獨執行子 shell，再讀 $?。
    [[ $- != *e* ]] || errexit=1
    set +e
    (
        set -euo pipefail
        _REPORTED=0 _FAILED=0 _TEST_NAME=$fn
        trap '_run_cleanup' EXIT
        trap 'exit 130' INT TERM
        "$@"
        [ "$_FAILED" == 0 ] || exit 1
        [ "$_REPORTED" == 1 ] || { fail "$fn" "測試沒有回報任何結果"; exit 1; }
    )
    rc=$?
    [ "$errexit" == 0 ] || set -e
    [ "$rc" != 130 ] || return 130
    if [ "$rc" != 0 ] && [ "$(grep -c '^FAIL ' "$RESULTS_FILE" || true)" == "$before" ]; then
        _report FAIL "$fn" "測試在中途意外結束（結束碼 $rc）"
    fi
    return 0
}

# ---------------------------------------------------------------- 前置條件
# need_root NAME：不是 root 就 SKIP 並回傳 1
need_root() {
    [ "$IS_ROOT" == 1 ] && return 0
    skip "$1" "需要 root（請用 sudo ./run_tests.sh -f）"
    return 1
}
# need_bin PROG NAME：程式沒編譯出來就 SKIP（說明原因）並回傳 1
need_bin() {
    [ -x "$ROOT/$1" ] && return 0
    skip "$2" "$1 沒有編譯出來（make 會說明缺少哪個函式庫）"
    return 1
}
# need_cmd CMD NAME PKG
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    skip "$2" "找不到 $1（Debian 套件 $3，make install-deps 會安裝）"
    return 1
}
# bin PROG：程式路徑；SANITIZE=1 時用 build/sanitize/ 的版本
bin() {
    if [ "${SANITIZE:-0}" == 1 ]; then echo "$ROOT/build/sanitize/$1"; else echo "$ROOT/$1"; fi
}
tool() { echo "$ROOT/build/tools/$1"; }

# ---------------------------------------------------------------- 背景程序
# bg_start LOG CMD...：在背景執行，輸出寫到 LOG，PID 放在 BG_PID，並登記收尾（TERM，3 秒後 KILL）
bg_start() {
    local log=$1; shift
    : >"$log"  # 先清空：背景程序的重新導向晚一點才發生，不能讓 wait_marker 讀到上一次的內容
    "$@" >>"$log" 2>&1 &
    BG_PID=$!
    defer "stop_pid $BG_PID"
}
# stop_pid PID [SIGNAL]：送信號並等它結束，逾時 3 秒後 KILL
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# wait_marker LOG PATTERN TIMEOUT_S [PID]：等 LOG 出現 PATTERN（grep -E）；逾時或 PID 先結束則回傳 1
wait_marker() {
    local log=$1 pat=$2 timeout=$3 pid=${4:-} deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        grep -qE -- "$pat" "$log" 2>/dev/null && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            grep -qE -- "$pat" "$log" 2>/dev/null && return 0
            return 1
        fi
        sleep 0.05
    done
    return 1
}
# wait_exit PID TIMEOUT_S：等背景程序結束，回傳它的結束碼；逾時則 KILL 並回傳 124
wait_exit() {
    local pid=$1 timeout=$2 deadline rc=0
    deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            return 124
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}
# run_timeout SECONDS CMD...：前景執行並限制時間，回傳結束碼（124 = 逾時）
run_timeout() { local t=$1; shift; timeout -k 3 "$t" "$@"; }

# ---------------------------------------------------------------- [摘要] 解析
# summary_get LOG KEY：LOG 裡最後一行 [摘要] 的 KEY 值（沒有則輸出空字串）
summary_get() {
    local line
    line=$(grep '\[摘要\]' "$1" 2>/dev/null | tail -n 1) || true
    tr ' ' '\n' <<<"$line" | sed -n "s/^$2=//p" | tail -n 1
}
# last_line LOG：最後一個非空行
last_line() { grep -v '^[[:space:]]*$' "$1" | tail -n 1; }

# ---------------------------------------------------------------- 網路：namespace 與 veth
# 位址一律取自 198.18.0.0/15：io_uring 198.18.1.x、af_xdp 198.18.2.x、dpdk 198.18.3.x、rdma 198.18.5.x
netns_add() { # NAME
    ip netns del "$1" 2>/dev/null || true
    ip netns add "$1"
    defer "ip netns del $1"
    ip -n "$1" link set lo up
}
# veth_add IF1 NS1 IF2 NS2：NS 為空字串表示根 namespace；兩端都 up
veth_add() {
    local a=$1 na=$2 b=$3 nb=$4
    ip link del "$a" 2>/dev/null || true
    ip link add "$a" type veth peer name "$b"
    defer "ip link del $a; ${na:+ip -n $na link del $a}"
    [ -z "$na" ] || ip link set "$a" netns "$na"
    [ -z "$nb" ] || ip link set "$b" netns "$nb"
    ip ${na:+-n "$na"} link set "$a" up
    ip ${nb:+-n "$nb"} link set "$b" up
}
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- 效能比較：中位數、離散度、CSV
# median / spread 接受多個參數，或一個以空白分隔的字串（"1 2 3"）
# shellcheck disable=SC2048,SC2086 # 故意依空白拆開
median() { printf '%s\n' $* | sort -g | awk '{a[NR]=$1} END{ if(NR==0){print "nan"} else if(NR%2){print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2} }'; }
# spread V...：(最大 - 最小) / 中位數，百分比
# shellcheck disable=SC2048,SC2086 # 故意依空白拆開
spread() { printf '%s\n' $* | sort -g | awk '{a[NR]=$1} END{ m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; if(m==0){print "0"} else {printf "%.1f%%\n", (a[NR]-a[1])/m*100} }'; }
# bench_row 技術 工作負載 指標 單位 較佳方向(higher|lower) 我們 對照 對照名稱 回合數 離散度 [區間下限 區間上限]
# 寫一行到 results/bench.csv；ratio = 我們 / 對照（中位數之比）。區間由 bench_pair 填入。
BENCH_HEADER="technology,workload,metric,unit,better,ours,peer,peer_name,ratio,rounds,spread,ratio_lo,ratio_hi"
bench_row() {
    local csv=$RESULTS_DIR/bench.csv ratio ci=""
    mkdir -p "$RESULTS_DIR"
    [ -s "$csv" ] || echo "$BENCH_HEADER" >"$csv"
    ratio=$(awk -v a="$6" -v b="$7" 'BEGIN{ if (b+0 == 0) print "nan"; else printf "%.3f", a/b }')
    echo "$1,$2,$3,$4,$5,$6,$7,$8,$ratio,$9,${10},${11:-},${12:-}" >>"$csv"
    [ -z "${11:-}" ] || ci="，配對比值 95% 區間 [${11}, ${12}]"
    printf '  %-10s %-34s %-10s 我們 %-12s %-14s %-12s 比值 %s（%s 回合，離散 %s%s）\n' \
        "$1" "$2" "$3" "$6" "$8" "$7" "$ratio" "$9" "${10}" "$ci"
}
# pair_ci "我們的各回合值" "對照的各回合值"：同一回合配成一對，印出「比值中位數 下限 上限」
# （每對比值 我們/對照 的中位數，與它的 95 % bootstrap 區間；回合少時區間接近最小到最大）
pair_ci() {
    python3 - "$1" "$2" <<'PY'
import random, statistics, sys
a, b = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
r = [x / y for x, y in zip(a, b) if y != 0]
if not r:
    print("nan nan nan"); sys.exit(0)
rng = random.Random(1)
meds = sorted(statistics.median(rng.choices(r, k=len(r))) for _ in range(2000))
lo, hi = (meds[50], meds[1949]) if len(r) > 1 else (r[0], r[0])
print(f"{statistics.median(r):.3f} {lo:.3f} {hi:.3f}")
PY
}
# bench_pair 技術 工作負載 指標 單位 較佳方向 "我們的各回合值" "對照的各回合值" 對照名稱
# 回合交錯量到的兩組值：CSV 記兩邊的中位數、離散度與配對比值的區間；區間留在 BENCH_CI（「中位數 下限 上限」）給 goal 用
bench_pair() {
    local ours=$6 peer=$7 n
    n=$(wc -w <<<"$ours")
    BENCH_CI=$(pair_ci "$ours" "$peer")
    read -r _ lo hi <<<"$BENCH_CI"
    bench_row "$1" "$2" "$3" "$4" "$5" "$(median "$ours")" "$(median "$peer")" "$8" "$n" \
        "$(spread "$ours")/$(spread "$peer")" "$lo" "$hi"
}
# goal NAME 說明 比值 運算子 目標 [下限 上限]：效能目標（只在 -p 模式使用，記為 PASS/FAIL）。
# 給了區間時，整個區間過關才算達成；區間跨過目標是「在雜訊內」，不算達成。
# 不給區間時沿用 bench_pair 最後留下的 BENCH_CI（若比值相同），否則只看比值。
_goal_ok() { awk -v r="$1" -v g="$3" -v op="$2" 'BEGIN{ exit !((op==">=" && r>=g) || (op=="<=" && r<=g)) }'; } # 比值 運算子 目標
goal() {
    local lo=${6:-} hi=${7:-} ok_lo ok_hi
    if [ -z "$lo" ] && [ -n "${BENCH_CI:-}" ] && [ "$(cut -d' ' -f1 <<<"$BENCH_CI")" == "$3" ]; then
        read -r _ lo hi <<<"$BENCH_CI"
    fi
    if [ -z "$lo" ]; then
        if _goal_ok "$3" "$4" "$5"; then pass "$1" "$2：比值 $3 $4 $5（單一數字，沒有區間）"
        else fail "$1" "$2" "比值 $4 $5" "$3"; fi
        return 0
    fi
    ok_lo=0 ok_hi=0
    _goal_ok "$lo" "$4" "$5" && ok_lo=1
    _goal_ok "$hi" "$4" "$5" && ok_hi=1
    if [ "$ok_lo$ok_hi" == 11 ]; then
        pass "$1" "$2：比值 $3，95% 區間 [$lo, $hi] 整個 $4 $5，達成"
    elif [ "$ok_lo$ok_hi" == 00 ]; then
        fail "$1" "$2：未達成" "比值 $4 $5" "$3，區間 [$lo, $hi]"
    else
        fail "$1" "$2：在雜訊內（區間跨過目標，不算達成）" "區間整個 $4 $5" "$3，區間 [$lo, $hi]"
    fi
}

# ---------------------------------------------------------------- 系統設定（整次執行只做一次，結束時還原）
# 整次執行的收尾（掛載、hugepage 數量），依相反順序；最後刪掉 $WORK
_GLOBAL_CLEANUP=()
global_defer() { _GLOBAL_CLEANUP+=("$*"); }
_global_cleanup() {
    _unwind _GLOBAL_CLEANUP
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# ensure_bpffs / ensure_netns_mount / ensure_hugepages 由 run_tests.sh 在 -f / -p 開始時呼叫
ensure_bpffs() {
    mountpoint -q /sys/fs/bpf && return 0
    mount -t bpf bpf /sys/fs/bpf && global_defer "umount /sys/fs/bpf"
}
# ip netns add 第一次用時把 /run/netns bind mount 起來，之後一直掛著：整次執行先做一次，結束時卸掉（原本就掛著的不動）
ensure_netns_mount() {
    mountpoint -q /run/netns && return 0
    ip netns add "kb-probe-$$" && ip netns del "kb-probe-$$" || return 0
    if mountpoint -q /run/netns; then global_defer "umount /run/netns"; fi
}
ensure_hugepages() { # [N]
    local want=${1:-256} cur
    if ! mountpoint -q /dev/hugepages; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs nodev /dev/hugepages && global_defer "umount /dev/hugepages"
    fi
    cur=$(cat /proc/sys/vm/nr_hugepages)
    if [ "$cur" -lt "$want" ]; then
        echo "$want" >/proc/sys/vm/nr_hugepages
        global_defer "echo $cur > /proc/sys/vm/nr_hugepages"
    fi
}

# ---------------------------------------------------------------- 有沒有留下東西（run_group 在每個群組前後各看一次）
# system_state：測試會建立或改動、結束時必須還原的系統狀態，一行一項、排序過——
# netns、根 namespace 的網路介面與掛著 XDP 程式的介面、掛載點、/sys/fs/bpf 裡釘住的物件、hugepage 檔案、
# DPDK 的執行目錄、af_xdp_socket 的擁有者檔、本專案的程式與測試工具的行程、測試會改的全域 sysctl。
KB_PROCS='af_xdp_socket|dpdk_packet_pro|io_uring_async|rdma_communicat|qemu-system-x86|xdp_livegen|dpdk-testpmd|dpdk-pdump|dpdk-dumpcap|epoll_echo|af_packet_peer|udp_burst|udp_echo_client|udp_echo_ref'
system_state() {
    # 每一項都可能什麼都沒有（find、pgrep 找不到時結束碼非 0）：在 set -e / pipefail 的呼叫者裡也不能中斷
    {
        ip netns list 2>/dev/null | awk '{print "netns " $1}' || true
        ip -o link show 2>/dev/null | awk -F': ' '{ n = $2; sub(/@.*/, "", n); print "link " n; if ($0 ~ /prog\/xdp/) print "xdp " n }' || true
        awk '{print "mount " $2 " " $3}' /proc/self/mounts
        find /sys/fs/bpf -mindepth 1 2>/dev/null | sed 's/^/bpffs /' || true
        find /dev/hugepages -maxdepth 1 -type f 2>/dev/null | sed 's/^/hugepage /' || true
        find /var/run/dpdk -maxdepth 1 2>/dev/null | sed 's/^/dpdk-run /' || true
        find /run/af_xdp_socket -mindepth 1 -maxdepth 1 2>/dev/null | sed 's/^/owner /' || true
        pgrep -x -l "$KB_PROCS" 2>/dev/null | awk '{print "process " $2}' || true
        local k
        for k in net.core.busy_poll net.core.busy_read net.ipv4.tcp_mem kernel.io_uring_disabled vm.nr_hugepages; do
            echo "sysctl $k=$(sysctl -n "$k" 2>/dev/null || true)"
        done
    } | LC_ALL=C sort
}

# lib_dirs_tidy BEFORE：我們用的函式庫結束時留下的空目錄——測試收不到，由這裡收：
#   DPDK：rte_eal_cleanup 刪掉執行目錄裡的檔案，留下目錄本身（/var/run/dpdk/<prefix>，預設 prefix 是 rte）；
#   libxdp：掛 XDP 程式時建立 /sys/fs/bpf/xdp（dispatcher 的釘選目錄），卸下後只刪裡面的子目錄；
#   iproute2：ip link set ... obj 載入時建立 /sys/fs/bpf/tc/globals、xdp/globals 與 ip → tc 的連結（pinned map 用）。
# 只收群組開始時（BEFORE 是那時的 system_state）沒有的；rmdir 只刪空目錄，連結只刪指向已經不存在的——
# 還在執行的 DPDK 程式、別人釘住的物件都不會被刪到。
lib_dirs_tidy() { # BEFORE
    local d
    for d in /var/run/dpdk/* /var/run/dpdk /sys/fs/bpf/tc/globals /sys/fs/bpf/xdp/globals /sys/fs/bpf/tc /sys/fs/bpf/xdp /sys/fs/bpf/ip; do
        [ -e "$d" ] || [ -L "$d" ] || continue
        awk -v p="$d" '$2 == p { found = 1 } END { exit !found }' "$1" && continue
        if [ -L "$d" ]; then
            [ -e "$d" ] || rm -f "$d"
        else
            rmdir "$d" 2>/dev/null || true
        fi
    done
}

# dpdk_check_leftovers NAME：這個群組的 DPDK 程式都結束之後，沒有留下 hugepage 檔案（kbdpdk*、rtemap_*）與 /var/run/dpdk 底下的目錄。
# 只看群組開始時（GROUP_STATE）沒有的：別的 DPDK 程式的、或群組開始前就有的，不刪也不算（刪掉它們反而讓 <群組>.left_behind 失敗）。
# DPDK 結束時留下的空執行目錄先由 lib_dirs_tidy 收掉（它也只收群組開始時沒有的）。
dpdk_check_leftovers() { # NAME
    local name=$1 before=${GROUP_STATE:-} huge dirs
    [ -n "$before" ] || before=/dev/null
    lib_dirs_tidy "$before"
    huge=$( (find /dev/hugepages -maxdepth 1 \( -name 'kbdpdk*' -o -name 'rtemap_*' \) 2>/dev/null || true) |
        awk -v f="$before" 'BEGIN { while ((getline l < f) > 0) seen[l] = 1 } !seen["hugepage " $0]' | tr '\n' ' ')
    dirs=$( (find /var/run/dpdk -mindepth 1 -maxdepth 1 2>/dev/null || true) |
        awk -v f="$before" 'BEGIN { while ((getline l < f) > 0) seen[l] = 1 } !seen["dpdk-run " $0]' | tr '\n' ' ')
    if [ -z "$huge" ] && [ -z "$dirs" ]; then
        pass "$name" "沒有留下 hugepage 檔案，/var/run/dpdk 底下沒有新的目錄（群組開始前就有的不動）"
    else
        fail "$name" "留下的東西" "沒有新的 hugepage 檔案、/var/run/dpdk 底下沒有新的目錄" "hugepage：${huge:-無}；/var/run/dpdk：${dirs:-無}"
    fi
}

# check_left_behind NAME BEFORE：現在的 system_state 與 BEFORE 相同 → PASS；不同就 FAIL，列出多出來（+）與不見了（-）的項目。
# 收尾指令送出的信號要一點時間才讓行程結束：最多等 5 秒
check_left_behind() { # NAME BEFORE
    local name=$1 before=$2 now diff="" i
    for ((i = 0; i < 25; i++)); do
        lib_dirs_tidy "$before"
        now=$(system_state)
        diff=$(diff "$before" <(echo "$now") | sed -n 's/^> /+ /p; s/^< /- /p' || true)
        [ -n "$diff" ] || break
        sleep 0.2
    done
    if [ -z "$diff" ]; then
        pass "$name" "沒有留下東西：netns、介面、XDP、掛載、bpffs、hugepage 檔案、DPDK 執行目錄、行程、sysctl 都與群組開始前相同"
    else
        fail "$name" "群組結束後與開始前不同：$(tr '\n' ';' <<<"$diff" | head -c 600)"
    fi
}

# ---------------------------------------------------------------- 命令列的拒絕（敵意測試共用）
# refusal_problem CMD...：這個命令列應該被拒絕：10 秒內結束、結束碼 2、輸出有中文說明、沒有 sanitizer 報告。
# 符合時什麼都不印、回傳 0；否則印一行哪裡不對、回傳 1。
refusal_problem() {
    local out rc=0
    out=$(run_timeout 10 "$@" 2>&1 </dev/null) || rc=$?
    if [ "$rc" != 2 ]; then
        echo "「${*##*/}」結束碼 $rc（預期 2）：$(head -c 200 <<<"$out" | tr '\n' ' ')"; return 1
    fi
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' <<<"$out"; then
        echo "「${*##*/}」有 sanitizer 報告：$(grep -m1 -E 'Sanitizer|runtime error:' <<<"$out")"; return 1
    fi
    if ! LC_ALL=C.UTF-8 grep -qP '[\x{4e00}-\x{9fff}]' <<<"$out"; then
        echo "「${*##*/}」沒有中文說明：$(head -c 200 <<<"$out" | tr '\n' ' ')"; return 1
    fi
}
