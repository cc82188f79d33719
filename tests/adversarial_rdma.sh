# shellcheck shell=bash
# tests/adversarial_rdma.sh — rdma_communication 的敵意測試（由 tests/adversarial.sh 載入）。
#
#   adversarial_rdma_smoke：不需要 root、不需要 RDMA 裝置：每個選項的空值、負數、極大、NaN、inf、尾巴有垃圾、缺值
#                           都以 2 結束並印出中文說明，不會當掉；一般版本與 ASan + UBSan 版本各跑一次。
#   adversarial_rdma_full ：開一次測試 VM（tests/rdma_vm.sh 的機制，tests/rdma_cases.sh adversarial），
#                           server 面對故意違反協定的 client（RDMA_COMM_HOSTILE=KIND，測試用的環境變數）：
#                           Hello 的大小離譜（size）、次數離譜（iters）、private data 太短（short）、
#                           用錯的 rkey 做 RDMA WRITE（rkey）、SEND 比協商的大（oversend），以及測試中途被 kill -9（vanish）。
#                           每一個都要被 server 回報，而且之後的誠實 client 被服務並 verified=yes。

# shellcheck source=tests/rdma.sh
source "${ROOT:?}/tests/rdma.sh"

ADV_RDMA_TIMEOUT=300      # 秒：敵意案例整次 VM 執行的上限（正常約 40–70 秒）

# ---------------------------------------------------------------- 命令列
# 每個選項各自的壞值；一行一個命令列，參數以 | 分開（值可以是空字串或含空白）；「缺值」是把選項放在最後
_adv_rdma_cmdlines() {
    local c="client|198.18.5.1" o v
    local -a bad_num=("" "-1" "-0" "99999999999999999999" "nan" "NaN" "inf" "-inf" "1e3" "12abc" "0x10" " 5" "1.5" "+5")
    for o in --port --iters --depth --timeout; do
        for v in "${bad_num[@]}" 0; do printf '%s\n' "$c|$o=$v"; done
        printf '%s\n' "$c|$o|nan"      # 值在下一個參數
    done
    for v in "${bad_num[@]}" 0 257; do printf '%s\n' "server|--max-clients=$v"; done
    for v in "${bad_num[@]}" 0 8 15 1G 65M 4KK 1T; do printf '%s\n' "$c|--size=$v"; done
    for v in "${bad_num[@]}" 0 1K 63K 2G 300G 99999999999G 1T 1MM; do printf '%s\n' "server|--max-region=$v"; done
    for v in "${bad_num[@]}" 0 1K 63K 300G 99999999999G 1T 1MM; do printf '%s\n' "server|--max-total=$v"; done
    printf '%s\n' "server|--max-region=64M|--max-total=32M"
    for v in "" fast 1 nan; do printf '%s\n' "$c|--test=$v" "$c|--mode=$v"; done
    printf '%s\n' "$c|--dev=" "$c|--dev=$(printf 'x%.0s' {1..64})"
    for v in "${bad_num[@]}" 0 7 4097; do printf '%s\n' "server|--srq=$v"; done
    printf '%s\n' "$c|--srq=32" "server|--srq"
    printf '%s\n' "$c|--bidir=1" "$c|--bidir" "$c|--test=all|--bidir" "$c|--test=read|--mode=lat|--bidir" "$c|--test=atomic|--bidir" "$c|--test=write|--mode=lat|--bidir" "server|--bidir" "$c|--test=write|--bidir="
    printf '%s\n' "$c|--qp=" "$c|--qp=xrc" "$c|--qp=UD" "$c|--qp" "$c|--qp=ud|--test=write" "$c|--qp=ud|--test=atomic" \
        "$c|--qp=ud|--size=4097" "$c|--qp=ud|--size=64K" "$c|--qp=ud|--qps=2" "$c|--qp=ud|--test=send|--bidir" "server|--qp=ud|--srq=32" \
        "$c|--qp=ud|--event" "$c|--qp=ud|--inline"
    printf '%s\n' "$c|--event=1" "$c|--inline=yes" "$c|--event=" "$c|--qps=0" "$c|--qps=9" "$c|--qps=2" "$c|--histogram=1" "$c|--histogram=" "server|--frobnicate" "server|--max_clients=4"
    for o in --port --dev --test --size --iters --depth --mode --timeout; do printf '%s\n' "$c|$o"; done
    for o in --max-clients --max-region --max-total; do printf '%s\n' "server|$o"; done
    # 角色與位址
    printf '%s\n' "" "bogus" "client" "client|nan" "client|198.18.5.1.7" "client|198.18.5.1|198.18.5.2" "server|198.18.5.1|--port" \
        "$c|--size|64M|--depth|1024"
}

rdma_t_adv_cmdline() { # LABEL BINARY
    local label=$1 exe=$2 line n=0 problems="" p
    if [ ! -x "$exe" ]; then
        fail "adversarial.rdma.cmdline_$label" "$exe 存在" "可執行檔" "不存在（make 沒有產生）"
        return 0
    fi
    local -a argv
    while IFS= read -r line; do
        n=$((n + 1))
        argv=()
        [ -z "$line" ] || IFS='|' read -r -a argv <<<"$line"
        if p=$(refusal_problem "$exe" "${argv[@]}"); then :; else problems+=" [${line//|/ }] $p;"; fi
    done < <(_adv_rdma_cmdlines)
    # 測試用的環境變數也要檢查
    n=$((n + 2))
    p=$(RDMA_COMM_HOSTILE=bogus refusal_problem "$exe" client 198.18.5.1) || problems+=" [RDMA_COMM_HOSTILE=bogus] $p;"
    p=$(RDMA_COMM_HOSTILE=oversend refusal_problem "$exe" client 198.18.5.1 --size 64) || problems+=" [RDMA_COMM_HOSTILE=oversend --size 64] $p;"
    if [ -z "$problems" ]; then
        pass "adversarial.rdma.cmdline_$label" "$n 種錯誤的命令列（每個選項的空值、負數、極大、NaN、inf、尾巴垃圾、缺值）都在 10 秒內以 2 結束並印出中文說明，沒有 sanitizer 報告"
    else
        fail "adversarial.rdma.cmdline_$label" "$n 種錯誤的命令列" "全部結束碼 2、中文說明" "$problems"
    fi
}

adversarial_rdma_smoke() {
    if [ ! -x "$ROOT/rdma_communication" ]; then
        skip adversarial.rdma.cmdline "rdma_communication 沒有編譯出來（make 會說明缺少哪個函式庫）"
        return 0
    fi
    run_test rdma_t_adv_cmdline normal "$ROOT/rdma_communication" || return
    run_test rdma_t_adv_cmdline sanitize "$ROOT/build/sanitize/rdma_communication" || return
}

# ---------------------------------------------------------------- 敵意 client（VM）
rdma_t_adv_hostile() {
    need_bin "$RDMA_PROG" adversarial.rdma.hostile || return 0
    local log=$WORK/rdma_adv_console.log kind line srv next cli bad=0 want
    # 有 sanitizer 版本時用它：敵意輸入下的記憶體錯誤會變成報告
    local san=0
    [ -x "$ROOT/build/sanitize/$RDMA_PROG" ] && san=1
    SANITIZE=$san rdma_run_cases adversarial "$log" "$ADV_RDMA_TIMEOUT" || return 0
    for kind in size iters short rkey oversend vanish; do
        line=$(rdma_line "$log" "hostile_$kind")
        srv=$(sed -n "s/^@@SRVR hostile_$kind //p" "$log")
        next=$(sed -n "s/^@@SRVR next_$kind //p" "$log")
        cli=$(sed -n "s/^@@CLI hostile_$kind //p" "$log" | tr '\n' ' ')
        case $kind in
        size | iters | short) want="status=rejected reason=bad_hello" ;;
        oversend) want="status=protocol_error" ;;
        vanish) want="status=peer_lost" ;;
        rkey) want="verified=no" ;;
        esac
        local problems=""
        [[ "$srv" == *"$want"* && "$srv" == *verified=no* ]] || problems+=" server 的 [結果]「${srv:-沒有}」不含 $want;"
        [ "$kind" == vanish ] || [ "$(rdma_kv "$line" rc)" == 1 ] || problems+=" 敵意 client 的結束碼 $(rdma_kv "$line" rc)（預期 1）;"
        case $kind in
        size | iters | short) [[ "$cli" == *"reason=bad_hello"* ]] || problems+=" client 沒有印出 server 的拒絕原因：$cli;" ;;
        esac
        line=$(rdma_line "$log" "next_$kind")
        [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" verified)" == yes ] ||
            problems+=" 之後的誠實 client：rc=$(rdma_kv "$line" rc) verified=$(rdma_kv "$line" verified);"
        [[ "$next" == *"status=ok verified=yes"* ]] || problems+=" server 對之後 client 的 [結果]「${next:-沒有}」;"
        if [ -z "$problems" ]; then
            pass "adversarial.rdma.$kind" "$(adv_rdma_desc "$kind")：server 回報「${srv%% seconds=*}」，之後的 client verified=yes"
        else
            fail "adversarial.rdma.$kind" "$(adv_rdma_desc "$kind")" "server 回報 $want 並服務下一個 client" "$problems"
            rdma_case_log "$log" "hostile_$kind"
            bad=1
        fi
    done
    line=$(rdma_line "$log" server_adv)
    if [ "$(rdma_kv "$line" rc)" == 0 ] && [ "$(rdma_kv "$line" last_is_summary)" == yes ] &&
        ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
        pass adversarial.rdma.server_survives "面對 6 種敵意 client 後 server 收到 SIGTERM 以 0 結束，[摘要] 在最後一行$([ "$san" == 1 ] && echo '，ASan + UBSan 沒有報告')"
    else
        fail adversarial.rdma.server_survives "敵意 client 之後 server 的結束" "rc=0、[摘要] 最後、沒有 sanitizer 報告" "$line"
        rdma_case_log "$log" server_adv
        bad=1
    fi
    if [ "$bad" != 0 ]; then sed -n 's/^@@WARN /    │ /p' "$log" | tail -n 12; fi
}

adv_rdma_desc() {
    case $1 in
    size) echo "Hello 宣稱 2 GiB 的訊息" ;;
    iters) echo "Hello 宣稱 4294967295 次" ;;
    short) echo "private data 只有 8 bytes 的 Hello" ;;
    rkey) echo "用錯的 rkey 做 RDMA WRITE" ;;
    oversend) echo "Hello 說 64 bytes、實際 SEND 4096 bytes" ;;
    vanish) echo "client 在測試中途被 kill -9" ;;
    esac
}

adversarial_rdma_full() {
    need_root adversarial.rdma.hostile || return 0
    run_test rdma_t_adv_hostile || return
}
