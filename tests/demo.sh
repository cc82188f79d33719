#!/usr/bin/env bash
# tests/demo.sh — make demo：從全新的機器開始，安裝、編譯、設定，實際執行每個程式幾秒，列出摘要。
# 每個技術的示範在 tests/<群組>.sh 的 <群組>_demo；它最後印一行
#   DEMO|技術|跑了什麼|主要數字|去哪裡看更多
# Ctrl-C 隨時可按：每個示範建立的東西都登記了收尾，整體的掛載與 hugepage 設定也會還原。
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib.sh
source "$ROOT/tests/lib.sh"
harness_init demo kb-demo
RESULTS_DIR=$WORK/results-dir  # 示範不動 results/ 裡量到的數字
export RESULTS_DIR

DEMO_GROUPS=(io_uring af_xdp dpdk compare rdma)
T0=$SECONDS
step() { printf '\n[%3d 秒] == %s\n' "$((SECONDS - T0))" "$*"; }

if [ "$IS_ROOT" != 1 ]; then
    echo "make demo 需要 root（安裝套件、建立 network namespace、掛載 hugetlbfs、啟動 VM）：請用 sudo make demo" >&2
    exit 77
fi

step "1/4 安裝缺少的 Debian 套件（make install-deps；都裝好了就很快）"
make -C "$ROOT" -s install-deps

step "2/4 編譯（make all tools）"
make -C "$ROOT" -s -j2 all tools 2>&1 | grep -v '^make' || true

step "3/4 設定 hugepage（256 × 2 MiB）與 bpffs；結束時還原"
ensure_bpffs || true
ensure_netns_mount || true
ensure_hugepages 256 || true
echo "  HugePages_Free: $(awk '/HugePages_Free/{print $2}' /proc/meminfo)"

step "4/4 執行每個程式"
ROWS=()
for g in "${DEMO_GROUPS[@]}"; do
    step "示範：$g"
    out=$WORK/demo-$g.out
    : >"$out"
    set +e
    (
        # shellcheck source=/dev/null
        source "$ROOT/tests/$g.sh"
        if ! declare -F "${g}_demo" >/dev/null; then
            echo "DEMO|$g|略過：這個技術還沒有示範|-|README"
            exit 0
        fi
        _CLEANUP=()
        trap '_run_cleanup' EXIT
        trap 'exit 130' INT TERM
        "${g}_demo"
    ) 2>&1 | tee "$out" | grep --line-buffered -v '^DEMO|'
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" != 130 ] || exit 130
    row=$(grep '^DEMO|' "$out" | tail -n 1 || true)
    [ -n "$row" ] || row="DEMO|$g|示範沒有完成（見上方輸出）|-|test-logs/"
    ROWS+=("$row")
done

printf '\n== 摘要（共 %d 秒）\n' "$((SECONDS - T0))"
printf '%-10s | %-44s | %-40s | %s\n' "技術" "跑了什麼" "主要數字" "更多"
printf -- '-----------+----------------------------------------------+------------------------------------------+-----------------\n'
for row in "${ROWS[@]}"; do
    IFS='|' read -r _ tech what figure more <<<"$row"
    printf '%-10s | %-44s | %-40s | %s\n' "$tech" "$what" "$figure" "$more"
done
echo
echo "完整測試：sudo ./run_tests.sh -f    效能比較：sudo ./run_tests.sh -p（約 23 分鐘）"
