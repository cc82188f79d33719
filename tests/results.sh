# shellcheck shell=bash
# tests/results.sh — 效能比較的報表：CSV 欄位、比值的算術、gnuplot 圖表。
# -p：在所有效能比較之後，把 results/bench.csv 變成表格、results/bench.png 與 results/machine.txt。

REPORT=$ROOT/tests/bench_report.py

# png_size FILE：印出「寬 高」，不是 PNG 就失敗
res_png_size() {
    python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(24)
if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
    sys.exit(1)
print(*struct.unpack(">II", head[16:24]))
PY
}

results_t_report() {
    need_cmd gnuplot results.report gnuplot-nox || return 0
    local csv=$WORK/tiny.csv png=$WORK/tiny.png out size
    cat >"$csv" <<CSV
$BENCH_HEADER
io_uring,50c×64B×d1,req_per_s,req/s,higher,120000,100000,epoll_echo,1.200,3,2.0%/3.0%,1.100,1.300
AF_XDP,rxdrop 64B,rx_pps,pps,higher,4000000,800000,af_packet,5.000,3,1.0%/1.0%,,
io_uring,50c×64B×d1,p99_latency,us,lower,90,100,epoll_echo,0.900,3,-,,
CSV
    out=$(python3 "$REPORT" "$csv" --png "$png" --machine "$WORK/machine.txt" 2>&1) || { fail results.report "報表產生失敗" "rc=0" "$out"; return 0; }
    size=$(res_png_size "$png" || echo "不是 PNG")
    local w=${size% *} h=${size#* }
    if [[ "$size" =~ ^[0-9]+\ [0-9]+$ ]] && [ "$w" -ge 800 ] && [ "$h" -ge 300 ] && grep -q '核心版本' "$WORK/machine.txt" &&
        grep -q 'AF_XDP' <<<"$out" && grep -q '1.11' <<<"$out" && grep -q '\[1.100, 1.300\]' <<<"$out"; then
        pass results.report "3 行的小 CSV：表格含每一行、正確的優勢（延遲 100/90 = 1.11）與區間，bench.png 是 ${w}×${h} 的 PNG，machine.txt 有核心版本"
    else
        fail results.report "報表內容" "PNG ≥ 800×300、表格含優勢 1.11 與區間 [1.100, 1.300]、machine.txt" "PNG=$size；輸出：$out"
    fi
}

# 檢查器必須抓得到錯誤：少欄位、比值算錯、不是數字
results_t_check_rejects() {
    local csv=$WORK/bad.csv bad=""
    printf '%s\n%s\n' "$BENCH_HEADER" "x,w,m,u,higher,10,5,p,2.000,3,-,1.800,2.200" >"$csv"
    python3 "$REPORT" "$csv" --check >/dev/null 2>&1 || bad+=" 正確的 CSV 被拒絕"
    printf '%s\n%s\n' "$BENCH_HEADER" "x,w,m,u,higher,10,5,p,1.500,3,-,," >"$csv"
    python3 "$REPORT" "$csv" --check >/dev/null 2>&1 && bad+=" 比值算錯沒被抓到"
    printf '%s\n%s\n' "technology,workload,metric" "x,w,m" >"$csv"
    python3 "$REPORT" "$csv" --check >/dev/null 2>&1 && bad+=" 缺欄位沒被抓到"
    printf '%s\n%s\n' "$BENCH_HEADER" "x,w,m,u,higher,abc,5,p,1.000,3,-,," >"$csv"
    python3 "$REPORT" "$csv" --check >/dev/null 2>&1 && bad+=" 非數字沒被抓到"
    printf '%s\n%s\n' "$BENCH_HEADER" "x,w,m,u,higher,10,5,p,2.000,3,-,2.500,1.500" >"$csv"
    python3 "$REPORT" "$csv" --check >/dev/null 2>&1 && bad+=" 下限大於上限的區間沒被抓到"
    if [ -z "$bad" ]; then
        pass results.check "CSV 檢查器接受正確的 CSV，拒絕比值算錯、缺欄位、非數字與顛倒的區間"
    else
        fail results.check "CSV 檢查器" "只接受正確的 CSV" "$bad"
    fi
}

# bench_row 寫出的比值與 CSV 檢查器一致
results_t_bench_row() {
    local RESULTS_DIR=$WORK/rows
    bench_row t w m u higher 3 7 peer 3 - >/dev/null
    bench_row t w m u lower 250000 125000 peer 3 - >/dev/null
    if python3 "$REPORT" "$RESULTS_DIR/bench.csv" --check >/dev/null && grep -q ',0.429,' "$RESULTS_DIR/bench.csv" &&
        grep -q ',2.000,' "$RESULTS_DIR/bench.csv"; then
        pass results.bench_row "bench_row 寫出的 CSV 通過檢查（3/7 = 0.429、250000/125000 = 2.000）"
    else
        fail results.bench_row "bench_row 的比值" "0.429 與 2.000" "$(cat "$RESULTS_DIR/bench.csv")"
    fi
}

# bench_pair：同回合配對的比值與區間；goal 只在整個區間過關時才算達成
results_t_bench_pair() {
    local RESULTS_DIR=$WORK/pairs line verdicts=""
    bench_pair t w m u higher "10 11 12" "5 5 6" peer >/dev/null
    line=$(tail -n 1 "$RESULTS_DIR/bench.csv")
    local g
    for g in 1.5 2.1 3; do
        # shellcheck disable=SC2034 # goal 的 pass/fail 寫進這個子 shell 自己的結果檔，不算進這次執行
        verdicts+=$( (RESULTS_FILE=$WORK/goal.txt; _FAILED=0; goal t.goal "x" 2.000 '>=' "$g") | cut -d' ' -f1)" "
    done
    if python3 "$REPORT" "$RESULTS_DIR/bench.csv" --check >/dev/null && [[ $line == *",2.000,2.200" ]] &&
        [ "$verdicts" == "PASS FAIL FAIL " ]; then
        pass results.bench_pair "各回合 10/5、11/5、12/6：比值 2.000、區間 [2.000, 2.200]；目標 1.5 達成、2.1 在雜訊內、3 未達成"
    else
        fail results.bench_pair "配對比值與目標判定" "區間 [2.000, 2.200]、PASS FAIL FAIL" "$line；$verdicts"
    fi
}

results_smoke() {
    run_test results_t_check_rejects
    run_test results_t_bench_pair
    run_test results_t_bench_row
    run_test results_t_report
}

results_perf() {
    run_test results_t_final_report
}
results_t_final_report() {
    local csv=$RESULTS_DIR/bench.csv out
    [ -s "$csv" ] || { skip results.final "這次沒有任何效能比較寫入 $csv"; return 0; }
    echo
    echo "== 效能比較總表（ratio = 我們 / 對照；優勢 > 1 表示我們較好）"
    if out=$(python3 "$REPORT" "$csv" --png "$RESULTS_DIR/bench.png" --machine "$RESULTS_DIR/machine.txt" 2>&1); then
        echo "$out"
        pass results.final "results/bench.csv 通過檢查，已產生 results/bench.png 與 results/machine.txt"
    else
        echo "$out"
        fail results.final "產生報表" "rc=0" "$out"
    fi
}
