#!/usr/bin/env bash
# run_tests.sh — Kernel Bypass 技術實作套件的測試與效能比較
#
#   ./run_tests.sh              編譯，然後執行不需要 root 的測試
#   sudo ./run_tests.sh -f      全部測試（network namespace、veth、hugepage、XDP、RDMA VM）
#   sudo ./run_tests.sh -p      只跑效能比較（每個程式對上它取代的傳統做法）
#   ./run_tests.sh -f io_uring  只跑指定的測試群組
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL_GROUPS=(build io_uring af_xdp dpdk rdma adversarial compare results docs lint)

usage() {
    cat <<EOF
用法：./run_tests.sh [選項] [群組...]

選項：
  （無）   編譯所有程式，執行不需要 root 的冒煙測試
  -f       完整測試：冒煙測試加上需要 root 的測試（建立 network namespace、veth、
           掛載 hugetlbfs 與 bpffs、載入 XDP 程式、啟動 RDMA 測試 VM）
  -p       只執行效能比較（需要 root），結果寫到 results/bench.csv 與 results/bench.png
  -h       顯示這段說明

群組（預設全部）：${ALL_GROUPS[*]}

每個測試輸出一行：PASS|FAIL|SKIP <名稱> — <檢查了什麼或略過的原因>
最後一行：N passed, N failed, N skipped；有任何失敗時結束碼非零。
失敗測試的日誌保留在 test-logs/。
EOF
}

MODE=smoke
while getopts ":fph" opt; do
    case $opt in
    f) MODE=full ;;
    p) MODE=perf ;;
    h) usage; exit 0 ;;
    *) echo "未知的選項：-$OPTARG" >&2; usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
GROUPS_SELECTED=("$@")
[ ${#GROUPS_SELECTED[@]} -gt 0 ] || GROUPS_SELECTED=("${ALL_GROUPS[@]}")
for g in "${GROUPS_SELECTED[@]}"; do
    if [[ ! " ${ALL_GROUPS[*]} " == *" $g "* ]]; then
        echo "未知的測試群組：$g（可用：${ALL_GROUPS[*]}）" >&2
        exit 2
    fi
done

# shellcheck source=tests/lib.sh
source "$ROOT/tests/lib.sh"
harness_init "$MODE" kb-tests

if [ "$MODE" != smoke ] && [ "$IS_ROOT" == 0 ]; then
    echo "注意：-f 與 -p 需要 root；不是 root 時，需要 root 的測試會標為 SKIP。" >&2
fi

# ---------------------------------------------------------------- 編譯
# 只選了某些程式的群組（io_uring af_xdp dpdk rdma，也是 make 目標的名字；compare 用前三個）時，
# 只編譯那些程式與測試工具；其他情況編譯全部
build_all() {
    local targets=() makes=() progs=() g
    for g in "${GROUPS_SELECTED[@]}"; do
        case $g in
        io_uring) makes+=(io_uring); progs+=(io_uring_async) ;;
        af_xdp) makes+=(af_xdp); progs+=(af_xdp_socket) ;;
        dpdk) makes+=(dpdk); progs+=(dpdk_packet_processing) ;;
        rdma) makes+=(rdma); progs+=(rdma_communication) ;;
        compare) makes+=(io_uring af_xdp dpdk); progs+=(io_uring_async af_xdp_socket dpdk_packet_processing) ;;
        *) progs=(); break ;;
        esac
    done
    if [ ${#progs[@]} == 0 ]; then
        targets=(all)
        [ "$MODE" == perf ] || targets+=(sanitize)
    else
        targets=("${makes[@]}" tools)
        [ "$MODE" == perf ] || targets+=(sanitize "SAN_PROGS=${progs[*]}")
    fi
    echo "== 編譯（make ${targets[*]}）"
    if ! make -C "$ROOT" -j2 "${targets[@]}" >"$WORK/build.log" 2>&1; then
        echo "編譯失敗，make 的輸出：" >&2
        tail -n 40 "$WORK/build.log" >&2
    fi
    grep -E '^略過 ' "$WORK/build.log" || true
}

# ---------------------------------------------------------------- 執行群組
# 群組在子 shell 裡執行（set -e 有效）：run_test 在 Ctrl-C 時回傳 130，群組就此停下，整個執行也停下
run_group() {
    local g=$1 fn rc=0 state=""
    echo "== $g"
    # -f、-p 以 root 執行時，群組前後各看一次系統狀態（tests/lib.sh 的 system_state）：測試建立的東西都要收掉
    if [ "$MODE" != smoke ] && [ "$IS_ROOT" == 1 ]; then
        state=$WORK/state-before-$g
        system_state >"$state"
    fi
    GROUP_STATE=$state  # 群組裡的測試也看得到群組開始時的狀態（例如 dpdk_check_leftovers 只看這個群組自己留下的）
    set +e
    (
        set -e
        # shellcheck source=/dev/null
        source "$ROOT/tests/$g.sh"
        case $MODE in
        smoke) fns=("${g}_smoke") ;;
        full) fns=("${g}_smoke" "${g}_full") ;;
        perf) fns=("${g}_perf") ;;
        esac
        for fn in "${fns[@]}"; do
            if declare -F "$fn" >/dev/null; then "$fn"; fi
        done
    )
    rc=$?
    set -e
    [ "$rc" != 130 ] || exit 130
    [ "$rc" == 0 ] || _report FAIL "$g" "測試群組意外結束（結束碼 $rc）"
    [ -z "$state" ] || check_left_behind "$g.left_behind" "$state"
}

START=$SECONDS
build_all
if [ "$MODE" != smoke ] && [ "$IS_ROOT" == 1 ]; then
    ensure_bpffs || true
    ensure_netns_mount || true
    ensure_hugepages 256 || true
fi
if [ "$MODE" == perf ]; then
    echo "== 效能比較：每個程式對上它的對照組，同一次執行、回合交錯、取中位數；全部群組約需 23 分鐘（compare 約 12 分鐘）"
    echo "   絕對數字在這台共用的 2 核心機器上很吵，看的是同一次執行裡的比值。結果：results/bench.csv、bench.png、machine.txt"
    mkdir -p "$RESULTS_DIR"
    # 只重跑部分群組時，保留其他群組上一次的結果
    # 欄位改過的舊檔不能合併：整個重來
    if [ -f "$RESULTS_DIR/bench.csv" ] && [ "$(head -n 1 "$RESULTS_DIR/bench.csv")" != "$BENCH_HEADER" ]; then
        rm -f "$RESULTS_DIR/bench.csv"
    fi
    if [ -f "$RESULTS_DIR/bench.csv" ] && [ $# -gt 0 ]; then
        keep=$WORK/bench.keep
        head -n 1 "$RESULTS_DIR/bench.csv" >"$keep"
        # technology 欄與群組名稱相同（不分大小寫）：io_uring、AF_XDP、DPDK、RDMA
        tail -n +2 "$RESULTS_DIR/bench.csv" | grep -v -i -E "^($(IFS='|'; echo "${GROUPS_SELECTED[*]}")),"  >>"$keep" || true
        mv "$keep" "$RESULTS_DIR/bench.csv"
    else
        rm -f "$RESULTS_DIR/bench.csv"
    fi
fi
# -p 最後一定產生報表（即使只選了某個群組）
if [ "$MODE" == perf ] && [[ ! " ${GROUPS_SELECTED[*]} " == *" results "* ]]; then GROUPS_SELECTED+=(results); fi
for g in "${GROUPS_SELECTED[@]}"; do
    [ -f "$ROOT/tests/$g.sh" ] || continue
    run_group "$g"
done

passed=$(grep -c '^PASS ' "$RESULTS_FILE" || true)
failed=$(grep -c '^FAIL ' "$RESULTS_FILE" || true)
skipped=$(grep -c '^SKIP ' "$RESULTS_FILE" || true)
echo
echo "== 總結（$((SECONDS - START)) 秒）"
if [ "$failed" != 0 ]; then
    echo "失敗的測試："
    grep '^FAIL ' "$RESULTS_FILE" | sed 's/^FAIL /  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" == 0 ]
