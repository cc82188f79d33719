#!/bin/sh
# shellcheck shell=sh
# tests/rdma_cases.sh — 在有 RDMA 裝置的環境裡執行的測試案例（測試 VM 內的 busybox sh，或有 rdma_rxe 的主機）。
#
# 用法：sh rdma_cases.sh full|perf|demo|adversarial|focus（focus：只跑 atomic 與延遲分佈的案例，開發時用）
# 環境變數：KB_BIN（rdma_communication 的路徑）、KB_ADDR（RDMA 介面上的位址）、KB_DEV（RDMA 裝置名稱）、
#           KB_TMP（暫存目錄）、KB_NOHOST（同一個 /25 裡不存在的位址）、KB_NOROUTE（沒有路由的位址）。
# 這個腳本只收集事實，不下判斷：每個案例印一行
#   @@KB <案例> rc=<結束碼> <程式最後一行 [摘要] 的 key=value>
# 結束碼不是 0 時再附上日誌最後幾行（@@LOG <案例> ...）。判斷 PASS/FAIL 由主機端的 tests/rdma.sh 做。
# 全部做完印 @@KB end。

BIN=${KB_BIN:-/kb/rdma_communication}
ADDR=${KB_ADDR:-198.18.5.1}
DEV=${KB_DEV:-rxe0}
T=${KB_TMP:-/tmp}
NOHOST=${KB_NOHOST:-198.18.5.2}
NOROUTE=${KB_NOROUTE:-198.18.5.200}
PORT=7471

# wait_for FILE PATTERN SECONDS [PID]
wait_for() {
    _n=$(($3 * 10))
    while [ "$_n" -gt 0 ]; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
            grep -q -- "$2" "$1" 2>/dev/null && return 0
            return 1
        fi
        sleep 0.1
        _n=$((_n - 1))
    done
    return 1
}

# report NAME RC LOG：印結果行；失敗時附上日誌
report() {
    _s=$(grep '\[摘要\]' "$3" 2>/dev/null | tail -n 1 | sed 's/^.*\[摘要\] *//')
    _last=$(grep -v '^[[:space:]]*$' "$3" 2>/dev/null | tail -n 1)
    case $_last in "[摘要]"*) _lastok=yes ;; *) _lastok=no ;; esac
    echo "@@KB $1 rc=$2 last_is_summary=$_lastok $_s"
    if [ "$2" != 0 ]; then
        tail -n 12 "$3" 2>/dev/null | sed "s/^/@@LOG $1 /"
    fi
}

# client NAME SECONDS ARGS...：前景跑一個 client（有時間上限）並回報
client() {
    _name=$1 _secs=$2
    shift 2
    timeout "$_secs" "$BIN" client "$@" >"$T/$_name.log" 2>&1
    _rc=$?
    report "$_name" "$_rc" "$T/$_name.log"
}

start_server() { # LOG PORT [server 的其他選項...]
    _log=$1 _port=$2
    shift 2
    "$BIN" server --port "$_port" "$@" >"$_log" 2>&1 &
    SRV_PID=$!
    if ! wait_for "$_log" '\[就緒\]' 30 "$SRV_PID"; then
        echo "@@KB server_start_$_port rc=1"
        sed "s/^/@@LOG server_start_$_port /" "$_log"
        return 1
    fi
    return 0
}

# srv_result CASE LOG N：等 server 日誌裡出現第 N 行 [結果]（最多 20 秒），印成 @@SRVR CASE <那一行>
srv_result() {
    _n=200
    while [ "$(grep -c '\[結果\]' "$2")" -lt "$3" ] && [ "$_n" -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
    echo "@@SRVR $1 $(grep '\[結果\]' "$2" | sed -n "$3p" | sed 's/^.*\[結果\] *//')"
}

# bg_client NAME ARGS...：背景跑一個 client（BG_PID），日誌在 $T/NAME.log
bg_client() {
    _name=$1
    shift
    "$BIN" client "$@" >"$T/$_name.log" 2>&1 &
    BG_PID=$!
}

# finish_bg NAME PID SECONDS：等背景 client 結束（最多 SECONDS 秒，之後 kill -9）並回報
finish_bg() {
    _i=$(($3 * 10))
    while kill -0 "$2" 2>/dev/null && [ "$_i" -gt 0 ]; do sleep 0.1; _i=$((_i - 1)); done
    if kill -0 "$2" 2>/dev/null; then kill -KILL "$2" 2>/dev/null; wait "$2" 2>/dev/null; _rc=124; else wait "$2"; _rc=$?; fi
    report "$1" "$_rc" "$T/$1.log"
}

# 議題 7 與 8：--timeout 2 的 server 上，跑得比 5 秒久的 READ 與 WRITE 頻寬都要 verified；
# READ 進行中另一個 client 同時被服務（不必排隊）。太快（< 5 秒）時加倍次數再跑一次。
run_progress_and_concurrency() {
    start_server "$T/server_t2.log" 7473 --timeout 2 || return
    _srv=$SRV_PID
    _it=${KB_LONG_ITERS:-100}
    _try=0
    while [ "$_try" -lt 2 ]; do
        bg_client long_read "$ADDR" --port 7473 --test read --mode bw --size 1M --depth 4 --iters "$_it"
        _lp=$BG_PID
        _overlap=no
        if wait_for "$T/long_read.log" '\[統計\].* ops=[1-9]' 60 "$_lp"; then
            client concurrent_second 60 "$ADDR" --port 7473 --test send --size 4096 --iters 100
            kill -0 "$_lp" 2>/dev/null && _overlap=yes
        fi
        finish_bg long_read "$_lp" 240
        echo "@@KB overlap alive=$_overlap iters=$_it"
        _secs=$(grep '\[摘要\]' "$T/long_read.log" | sed -n 's/.*seconds=\([0-9]*\).*/\1/p' | tail -n 1)
        if [ "${_secs:-0}" -ge 5 ] || ! grep -q 'verified=yes' "$T/long_read.log"; then break; fi
        _it=$((_it * 2)) _try=$((_try + 1))
    done
    _it=${KB_LONG_ITERS:-100}
    _try=0
    while [ "$_try" -lt 2 ]; do
        client long_write_bw 240 "$ADDR" --port 7473 --test write --mode bw --size 1M --depth 4 --iters "$_it"
        _secs=$(grep '\[摘要\]' "$T/long_write_bw.log" | sed -n 's/.*seconds=\([0-9]*\).*/\1/p' | tail -n 1)
        if [ "${_secs:-0}" -ge 5 ] || ! grep -q 'verified=yes' "$T/long_write_bw.log"; then break; fi
        _it=$((_it * 2)) _try=$((_try + 1))
    done
    stop_server "$_srv" "$T/server_t2.log" server_t2
}

# 議題 8：--max-clients 1 --max-region 4M --max-total 4M 的 server：佔著的 client（2560 bytes）在跑時，第二個被拒絕
# （已滿，附原因）；太大的請求被拒絕（--max-region，附原因）；單獨放得下、加上佔著的就超過 --max-total 的請求被拒絕
# （READ、419430 bytes × (1 + 4) × 2 = 4194300 ≤ 4 MiB，再加 2560 > 4 MiB）；佔著的 client 消失後，下一個 client 被服務
run_limits() {
    start_server "$T/server_lim.log" 7474 --max-clients 1 --max-region 4M --max-total 4M --timeout 5 || return
    _srv=$SRV_PID
    bg_client holder "$ADDR" --port 7474 --test write --mode lat --size 64 --iters 100000000
    _hp=$BG_PID
    if wait_for "$T/holder.log" '\[統計\].* ops=[1-9]' 60 "$_hp"; then
        client busy_rejected 30 "$ADDR" --port 7474 --test send --iters 10
        echo "@@MSG busy_rejected $(grep -c 'reason=busy.*已滿' "$T/busy_rejected.log")"
        client oversize 30 "$ADDR" --port 7474 --test write --size 1M --depth 4 --iters 5
        echo "@@MSG oversize $(grep -c 'reason=region_too_big.*--max-region' "$T/oversize.log")"
        client over_total 30 "$ADDR" --port 7474 --test read --size 419430 --depth 1 --iters 5
        echo "@@MSG over_total $(grep -c 'reason=total_memory.*--max-total' "$T/over_total.log")"
    else
        echo "@@KB holder_start rc=1"
        tail -n 12 "$T/holder.log" | sed 's/^/@@LOG holder_start /'
    fi
    kill -KILL "$_hp" 2>/dev/null
    wait "$_hp" 2>/dev/null
    # 等 server 回報佔著的 client 已離開（第 4 行 [結果]：busy、oversize、over_total、holder）
    srv_result holder_gone "$T/server_lim.log" 4
    client after_limits 60 "$ADDR" --port 7474 --test send --size 4096 --iters 100
    stop_server "$_srv" "$T/server_lim.log" server_lim
}

# 敵意 client（RDMA_COMM_HOSTILE，測試用）：每個之後都要有一個誠實的 client 被服務並驗證通過
run_adversarial() {
    echo "@@KB devices $(cd /sys/class/infiniband 2>/dev/null && echo *)"
    start_server "$T/server_adv.log" 7475 --timeout 3 || { echo "@@KB end"; return; }
    _srv=$SRV_PID
    _k=0
    for kind in size iters short rkey oversend vanish; do
        case $kind in
        rkey) _args="--test write --mode lat --size 64 --iters 100" ;;
        oversend) _args="--test send --mode lat --size 4096 --iters 10" ;;
        vanish) _args="--test write --mode lat --size 64 --iters 100000000" ;;
        *) _args="--test send --size 4096 --iters 10" ;;
        esac
        if [ "$kind" = vanish ]; then
            # shellcheck disable=SC2086
            bg_client "hostile_$kind" "$ADDR" --port 7475 $_args
            _vp=$BG_PID
            wait_for "$T/hostile_$kind.log" '\[統計\].* ops=[1-9]' 60 "$_vp"
            kill -KILL "$_vp" 2>/dev/null
            wait "$_vp" 2>/dev/null
            echo "@@KB hostile_$kind rc=137"
        else
            # shellcheck disable=SC2086
            RDMA_COMM_HOSTILE=$kind timeout 60 "$BIN" client "$ADDR" --port 7475 $_args >"$T/hostile_$kind.log" 2>&1
            report "hostile_$kind" "$?" "$T/hostile_$kind.log"
            tail -n 4 "$T/hostile_$kind.log" | sed "s/^/@@CLI hostile_$kind /"
        fi
        _k=$((_k + 1))
        srv_result "hostile_$kind" "$T/server_adv.log" "$_k"
        client "next_$kind" 60 "$ADDR" --port 7475 --test send --size 4096 --iters 50
        _k=$((_k + 1))
        srv_result "next_$kind" "$T/server_adv.log" "$_k"
    done
    stop_server "$_srv" "$T/server_adv.log" server_adv
    grep -E '\[(警告|錯誤)\]' "$T/server_adv.log" | sed 's/^/@@WARN /'
    echo "@@KB end"
}

# 議題 15：atomic（FAA 與 CAS 的延遲與速率，server 檢查計數器）與延遲分佈（p50/p90/p99/p99.9/max）
run_atomic_and_hist() {
    echo "@@KB atomic_cap $(timeout 30 ibv_devinfo -v -d "$DEV" 2>/dev/null | grep -m 1 atomic_cap | tr -s ' \t' ' ')"
    client atomic_poll 120 "$ADDR" --test atomic --iters 200 --depth 16
    client atomic_event 120 "$ADDR" --test atomic --iters 200 --depth 8 --event
    # 只有速率階段、--iters 不是 depth/4 的倍數、視窗小：slot 重用前的驗證與最後一個要求完成
    client atomic_odd 60 "$ADDR" --test atomic --mode bw --iters 37 --depth 4
    # 1000 個樣本：p99.9 是第 999 個，與最大值（第 1000 個）不是同一個樣本；--histogram 印出完整分佈與 perftest 格式的表
    client lat_hist 120 "$ADDR" --test write --mode lat --size 64 --iters 1000 --histogram
    grep '^\[分佈\]\|^\[perftest\]' "$T/lat_hist.log" | sed 's/^/@@OUT lat_hist /'
    # --qps：同一個頻寬測試用 3 條連線（3 個 QP，server 的 --max-clients 預設 4），與三個測試各 2 條
    client qps_write 120 "$ADDR" --test write --mode bw --size 65536 --iters 200 --depth 16 --qps 3
    client qps_all 180 "$ADDR" --test all --mode bw --size 4096 --iters 200 --depth 16 --qps 2
    # --bidir：write 的頻寬階段兩個方向同時寫（client 驗證 server 寫來的，server 驗證 client 寫來的）；--mode both 先跑延遲
    client bidir_write 120 "$ADDR" --test write --mode bw --size 32768 --iters 300 --depth 16 --bidir
    client bidir_both 120 "$ADDR" --test write --size 4096 --iters 301 --depth 8 --bidir
    client bidir_send 120 "$ADDR" --test send --mode bw --size 8192 --iters 500 --depth 16 --bidir
    # READ：server 也從 client 的傳送區讀回同樣的次數，兩端各自核對每個讀回的戳記
    client bidir_read 120 "$ADDR" --test read --mode bw --size 16384 --iters 400 --depth 16 --bidir
    echo "@@KB lat_hist_detail rows=$(grep -c '^\[分佈\] \[' "$T/lat_hist.log") total=$(awk '/^\[分佈\] \[/ {s += $4} END {print s + 0}' "$T/lat_hist.log") perftest=$(grep '^\[perftest\] [0-9]' "$T/lat_hist.log" | cut -d' ' -f2- | tr ' ' ,)"
}

# 議題 15：--srq。另一個 server（--srq 32：32 個共用的接收緩衝區，比四個 client 的視窗加起來少）：四個 client 同時
# （兩個 send 頻寬、一個 write 頻寬、一個 send 延遲），一個 send 頻寬的 client 中途被 kill -9（它拿走的緩衝區要回到池子），
# 一個 128 KiB 的 SEND 被拒絕（放不進 64 KiB 的緩衝區），之後一個 client 照常通過；最後 [摘要] 的 srq_posted 必須等於 32
run_srq() {
    start_server "$T/server_srq.log" 7476 --srq 32 --max-clients 6 || return
    _ss=$SRV_PID
    bg_client srq_send_a "$ADDR" --port 7476 --test send --mode bw --size 4096 --iters 400 --depth 16
    _sa=$BG_PID
    bg_client srq_send_b "$ADDR" --port 7476 --test send --mode bw --size 8192 --iters 300 --depth 16
    _sb=$BG_PID
    bg_client srq_write "$ADDR" --port 7476 --test write --mode bw --size 32768 --iters 200 --depth 16
    _sw=$BG_PID
    bg_client srq_lat "$ADDR" --port 7476 --test send --mode lat --size 1024 --iters 300
    _sl=$BG_PID
    finish_bg srq_send_a "$_sa" 120
    finish_bg srq_send_b "$_sb" 120
    finish_bg srq_write "$_sw" 120
    finish_bg srq_lat "$_sl" 120
    bg_client srq_victim "$ADDR" --port 7476 --test send --mode bw --size 4096 --iters 100000000 --depth 16
    _sv=$BG_PID
    wait_for "$T/srq_victim.log" '\[統計\].* ops=[1-9]' 60 "$_sv"
    kill -KILL "$_sv" 2>/dev/null
    wait "$_sv" 2>/dev/null
    client srq_big 30 "$ADDR" --port 7476 --test send --size 128K --iters 10
    client srq_after 60 "$ADDR" --port 7476 --test send --size 4096 --iters 200 --depth 16
    stop_server "$_ss" "$T/server_srq.log" server_srq
    grep '\[資訊\] 建立共用接收佇列\|\[警告\]' "$T/server_srq.log" | sed 's/^/@@SRQLOG /'
}

# --qp ud：一個 UD server（另一個埠空間），兩個 client 同時（延遲 + 頻寬、只有頻寬），一個超過 MTU 的被拒、一個找不到 UD server
run_ud() {
    start_server "$T/server_ud.log" 7478 --qp ud || return
    _us=$SRV_PID
    bg_client ud_both "$ADDR" --port 7478 --qp ud --test send --mode both --size 64 --iters 1000 --depth 16
    _ua=$BG_PID
    bg_client ud_bw "$ADDR" --port 7478 --qp ud --mode bw --size 1024 --iters 3000 --depth 64
    _ub=$BG_PID
    finish_bg ud_both "$_ua" 120
    finish_bg ud_bw "$_ub" 120
    client ud_mtu 30 "$ADDR" --port 7478 --qp ud --size 4096 --iters 10
    client ud_noserver 30 "$ADDR" --port 7479 --qp ud --size 64 --iters 10 --timeout 3
    stop_server "$_us" "$T/server_ud.log" server_ud
    grep '\[資訊\]' "$T/server_ud.log" | sed 's/^/@@UDLOG /'
    grep '路徑 MTU\|SIDR' "$T/ud_mtu.log" "$T/ud_noserver.log" | sed 's/^[^:]*\///; s/^/@@UDERR /'
}

run_focus() {
    echo "@@KB devices $(cd /sys/class/infiniband 2>/dev/null && echo *)"
    start_server "$T/server.log" "$PORT" || { echo "@@KB end"; return; }
    SERVER=$SRV_PID
    client all_4096_poll 120 "$ADDR" --size 4096 --iters 200 --depth 16
    run_atomic_and_hist
    run_srq
    run_ud
    stop_server "$SERVER" "$T/server.log" server
    echo "@@KB end"
}

stop_server() { # PID LOG NAME
    kill -TERM "$1" 2>/dev/null
    _i=100
    while kill -0 "$1" 2>/dev/null && [ "$_i" -gt 0 ]; do sleep 0.1; _i=$((_i - 1)); done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        _rc=124
    else
        wait "$1" 2>/dev/null
        _rc=$?
    fi
    _last=$(grep -v '^[[:space:]]*$' "$2" | tail -n 1)
    case $_last in "[摘要]"*) _lastok=yes ;; *) _lastok=no ;; esac
    echo "@@KB $3 rc=$_rc last_is_summary=$_lastok $(grep '\[摘要\]' "$2" | tail -n 1 | sed 's/^.*\[摘要\] *//')"
    # server 每個 client 一行 [結果]
    grep '\[結果\]' "$2" | sed "s/^.*\[結果\] */@@SRV $3 /"
    [ "$_rc" = 0 ] || tail -n 20 "$2" | sed "s/^/@@LOG $3 /"
}

run_full() {
    echo "@@KB devices $(cd /sys/class/infiniband 2>/dev/null && echo *)"
    start_server "$T/server.log" "$PORT" || { echo "@@KB end"; return; }
    SERVER=$SRV_PID

    # 每個大小：三個測試（send / write / read），輪詢與 --event 各一次
    for sz in 64 4096 1048576; do
        if [ "$sz" = 1048576 ]; then it=8 dp=4; else it=200 dp=16; fi
        client "all_${sz}_poll" 120 "$ADDR" --size "$sz" --iters "$it" --depth "$dp"
        client "all_${sz}_event" 120 "$ADDR" --size "$sz" --iters "$it" --depth "$dp" --event
    done
    client inline_64 60 "$ADDR" --test send --size 64 --iters 200 --inline
    client dev_write "60" "$ADDR" --test write --size 4096 --iters 100 --dev "$DEV"
    # --iters 不是 depth/4 的倍數：ping-pong 的最後一則也要有完成事件，否則 drain() 等到 --timeout
    client odd_iters 60 "$ADDR" --size 64 --iters 10 --depth 16 --timeout 5
    run_atomic_and_hist
    run_srq
    run_ud

    # client 在測試中途被 kill -9：server 要回報，並繼續服務下一個 client
    "$BIN" client "$ADDR" --test write --mode lat --size 64 --iters 100000000 >"$T/victim.log" 2>&1 &
    VPID=$!
    if wait_for "$T/victim.log" '\[統計\].* ops=[1-9]' 60 "$VPID"; then
        kill -KILL "$VPID" 2>/dev/null
        wait "$VPID" 2>/dev/null
        echo "@@KB victim_killed rc=0"
    else
        kill -KILL "$VPID" 2>/dev/null
        wait "$VPID" 2>/dev/null
        echo "@@KB victim_killed rc=1"
        tail -n 12 "$T/victim.log" | sed 's/^/@@LOG victim_killed /'
    fi
    client after_kill 60 "$ADDR" --test send --size 4096 --iters 100

    run_progress_and_concurrency
    run_limits

    # 錯誤輸入
    "$BIN" server --port "$PORT" >"$T/port_in_use.log" 2>&1
    _rc=$?
    echo "@@KB port_in_use rc=$_rc msg=$(grep -c '已被佔用' "$T/port_in_use.log")"
    sed 's/^/@@LOG port_in_use /' "$T/port_in_use.log"
    client no_server 30 "$ADDR" --port 7999 --timeout 5 --test send --iters 10
    echo "@@MSG no_server $(grep -c '拒絕\|逾時' "$T/no_server.log")"
    client no_host 30 "$NOHOST" --timeout 3 --test send --iters 10
    client no_route 30 "$NOROUTE" --timeout 3 --test send --iters 10
    echo "@@MSG no_route $(grep -c '路由\|解析' "$T/no_route.log")"
    client bad_dev 30 "$ADDR" --dev nosuch0 --test send --iters 10
    echo "@@MSG bad_dev $(grep -c 'nosuch0' "$T/bad_dev.log")"

    # server 在測試中途被 kill -9：client 要在 --timeout 內回報並以 1 結束
    start_server "$T/server2.log" 7472 && {
        "$BIN" client "$ADDR" --port 7472 --test send --mode lat --size 64 --iters 100000000 --timeout 5 >"$T/orphan.log" 2>&1 &
        OPID=$!
        if wait_for "$T/orphan.log" '\[統計\].* ops=[1-9]' 60 "$OPID"; then
            kill -KILL "$SRV_PID" 2>/dev/null
            wait "$SRV_PID" 2>/dev/null
            _i=300
            while kill -0 "$OPID" 2>/dev/null && [ "$_i" -gt 0 ]; do sleep 0.1; _i=$((_i - 1)); done
            if kill -0 "$OPID" 2>/dev/null; then kill -KILL "$OPID"; wait "$OPID" 2>/dev/null; _rc=124; else wait "$OPID"; _rc=$?; fi
        else
            _rc=125
            kill -KILL "$OPID" "$SRV_PID" 2>/dev/null
        fi
        report server_killed "$_rc" "$T/orphan.log"
        echo "@@MSG server_killed $(grep -c '離線\|失敗\|沒有任何回應' "$T/orphan.log")"
    }

    stop_server "$SERVER" "$T/server.log" server
    echo "@@KB end"
}

# ---------------------------------------------------------------- 效能：本程式與 perftest 交替，各三回合
# perftest 的 -R 走 rdma_cm（不開 TCP 埠）；server 端沒有就緒訊息，所以 client 失敗時重試幾次
perftest_pair() { # NAME TOOL ARGS...
    _name=$1 _tool=$2
    shift 2
    _try=0 _t0=$(date +%s)
    while [ "$_try" -lt 5 ]; do
        timeout 120 "$_tool" -R -d "$DEV" "$@" >"$T/pt_srv.log" 2>&1 &
        _sp=$!
        sleep 0.5
        timeout 120 "$_tool" -R -d "$DEV" "$@" "$ADDR" >"$T/pt_cli.log" 2>&1
        _rc=$?
        wait "$_sp" 2>/dev/null
        # r^2 太低時 perftest 的數字全是 0.00：重跑
        if [ "$_rc" = 0 ] && ! grep -q 'Correlation\|0\.00 *0\.00 *0\.00' "$T/pt_cli.log"; then break; fi
        _try=$((_try + 1))
    done
    _line=$(grep -E '^ *[0-9]+ +[0-9]+ +[0-9.]+' "$T/pt_cli.log" | tail -n 1)
    echo "@@PT $_name rc=$_rc tries=$((_try + 1)) secs=$(($(date +%s) - _t0)) $_line"
    [ "$_rc" = 0 ] || tail -n 8 "$T/pt_cli.log" | sed "s/^/@@LOG pt_$_name /"
}

# udp_rtt NAME SIZE SERVER...：同一次開機、同一個位址上的 UDP echo 基準（比較表的 RDMA 列：RDMA SEND 的來回對 socket／io_uring UDP 的來回）。
# 一次一個在途、KB_UDP_SAMPLES 個樣本（預設 10,000：TCG 裡一個來回要幾百 µs）。印 @@UDP NAME rc=... <量測儀器的 [摘要]>；工具不在 initramfs 裡就不印
udp_rtt() {
    _name=$1 _size=$2
    shift 2
    [ -x /kb/udp_echo_client ] && [ -x "$1" ] || return 0
    "$@" >"$T/udp_srv.log" 2>&1 &
    _up=$!
    if ! wait_for "$T/udp_srv.log" '就緒' 10 "$_up"; then
        echo "@@UDP $_name rc=99"
        tail -n 5 "$T/udp_srv.log" | sed "s/^/@@LOG udp_$_name /"
        kill "$_up" 2>/dev/null; wait "$_up" 2>/dev/null
        return 0
    fi
    timeout 60 /kb/udp_echo_client --server "$ADDR:$UDP_PORT" --size "$_size" --samples "${KB_UDP_SAMPLES:-10000}" --max-seconds 40 \
        >"$T/udp_cli.log" 2>&1
    _rc=$?
    kill -INT "$_up" 2>/dev/null; wait "$_up" 2>/dev/null
    echo "@@UDP $_name rc=$_rc $(grep '\[摘要\]' "$T/udp_cli.log" | tail -n 1 | sed 's/^.*\[摘要\] *//')"
    [ "$_rc" = 0 ] || tail -n 5 "$T/udp_cli.log" | sed "s/^/@@LOG udp_$_name /"
}
UDP_PORT=19000

ours() { # NAME ARGS...
    _name=$1
    shift
    _t0=$(date +%s)
    timeout 120 "$BIN" client "$ADDR" --port "$PORT" "$@" >"$T/ours.log" 2>&1
    _rc=$?
    echo "@@OURS $_name rc=$_rc wall=$(($(date +%s) - _t0)) $(grep '\[摘要\]' "$T/ours.log" | tail -n 1 | sed 's/^.*\[摘要\] *//')"
    [ "$_rc" = 0 ] || tail -n 8 "$T/ours.log" | sed "s/^/@@LOG ours_$_name /"
}

run_perf() {
    LI=${KB_LAT_ITERS:-2000} LS=${KB_LAT_SIZE:-64}
    BI=${KB_BW_ITERS:-1000} BS=${KB_BW_SIZE:-65536} BD=${KB_BW_DEPTH:-16}
    ROUNDS=${KB_ROUNDS:-3}
    AI=${KB_ATOMIC_ITERS:-2000} AD=${KB_ATOMIC_DEPTH:-16}
    TESTS=${KB_PERF_TESTS:-send_lat write_lat read_lat write_bw send_bw atomic_lat atomic_bw write_bw_q2 write_bw_bidir send_bw_bidir read_bw_bidir ud_lat}
    echo "@@KB perf_params lat_size=$LS lat_iters=$LI bw_size=$BS bw_iters=$BI bw_depth=$BD atomic_iters=$AI atomic_depth=$AD rounds=$ROUNDS tests=$(echo "$TESTS" | tr ' ' ',')"
    start_server "$T/server.log" "$PORT" || { echo "@@KB end"; return; }
    SERVER=$SRV_PID
    # --qp ud 的 server 在另一個埠空間（RDMA_PS_UDP）：有 ud_lat 才開
    UD_SERVER=""
    case " $TESTS " in *" ud_lat "*) start_server "$T/server_ud.log" 7480 --qp ud && UD_SERVER=$SRV_PID ;; esac
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        for t in $TESTS; do
            case $t in
            # atomic：兩邊都是 FETCH_AND_ADD；延遲一次一個，速率 --depth / -t 與 -o 個在途
            atomic_lat) targs="--test atomic --mode lat --iters $LI" pargs="-A FETCH_AND_ADD -n $LI" ;;
            atomic_bw) targs="--test atomic --mode bw --iters $AI --depth $AD" pargs="-A FETCH_AND_ADD -n $AI -t $AD -o $AD" ;;
            # UD 的 SEND ping-pong 對 ib_send_lat -c UD（perftest 也用 rdma_cm 的 SIDR：-R）
            ud_lat) targs="--qp ud --test send --mode lat --size $LS --iters $LI --port 7480" pargs="-c UD -s $LS -n $LI" ;;
            # perftest 的延遲測試預設對小訊息用 inline（-I 預設 220 bytes 上下）：本程式也開 --inline（READ 不適用）
            *_lat) targs="--test ${t%_lat} --mode lat --size $LS --iters $LI"
                   [ "$t" = read_lat ] || targs="$targs --inline"
                   pargs="-s $LS -n $LI" ;;
            # --qps 2 對 perftest 的 -q 2：兩個 QP 同時跑同一個頻寬測試
            write_bw_q2) targs="--test write --mode bw --size $BS --iters $BI --depth $BD --qps 2"
                         pargs="-s $BS -n $BI -t $BD -q 2" ;;
            # --bidir 對 perftest 的 -b：兩個方向同時寫（送、讀），頻寬是兩個方向的合計
            *_bw_bidir) targs="--test ${t%_bw_bidir} --mode bw --size $BS --iters $BI --depth $BD --bidir"
                        pargs="-s $BS -n $BI -t $BD -b" ;;
            *_bw) targs="--test ${t%_bw} --mode bw --size $BS --iters $BI --depth $BD"
                  pargs="-s $BS -n $BI -t $BD" ;;
            esac
            tool=ib_${t%_q2}
            tool=${tool%_bidir}
            [ "$t" != ud_lat ] || tool=ib_send_lat
            # 交替先後順序，避免總是同一個程式先跑
            # shellcheck disable=SC2086
            if [ $((r % 2)) = 1 ]; then
                ours "$t" $targs
                perftest_pair "$t" "$tool" $pargs
            else
                perftest_pair "$t" "$tool" $pargs
                ours "$t" $targs
            fi
            # SEND 延遲的同一回合，量同一個位址上 UDP echo 的來回（一次一個在途、同樣大小）；再用比較表的大封包（1472 B）各量一次
            if [ "$t" = send_lat ]; then
                udp_rtt socket "$LS" /kb/udp_echo_ref "$UDP_PORT"
                udp_rtt io_uring "$LS" /kb/io_uring_async "$UDP_PORT" --udp
                if [ -x /kb/udp_echo_client ]; then
                    ours send_lat_1472 --test send --mode lat --size 1472 --iters "$LI"
                    udp_rtt socket_1472 1472 /kb/udp_echo_ref "$UDP_PORT"
                    udp_rtt io_uring_1472 1472 /kb/io_uring_async "$UDP_PORT" --udp
                fi
            fi
        done
        r=$((r + 1))
    done
    stop_server "$SERVER" "$T/server.log" server
    [ -z "$UD_SERVER" ] || stop_server "$UD_SERVER" "$T/server_ud.log" server_ud
    echo "@@KB end"
}

# make demo：一個 server、一個 client，三個測試各跑一次 4 KiB，過程直接印出來
run_demo() {
    start_server "$T/server.log" "$PORT" || { echo "@@KB end"; return; }
    SERVER=$SRV_PID
    "$BIN" client "$ADDR" --size 4096 --iters 3000 2>&1 | tee "$T/demo.log" | sed 's/^/@@DEMO /'
    report demo 0 "$T/demo.log"
    stop_server "$SERVER" "$T/server.log" server
    echo "@@DEMO ---- server 的輸出 ----"
    grep -v '^\[統計\]' "$T/server.log" | sed 's/^/@@DEMO /'
    # UD：另一個埠空間的 server，64 bytes ping-pong 與頻寬
    if start_server "$T/server_ud.log" 7478 --qp ud; then
        _us=$SRV_PID
        echo "@@DEMO ---- --qp ud（unreliable datagram）----"
        "$BIN" client "$ADDR" --port 7478 --qp ud --size 64 --iters 1000 2>&1 | tee "$T/demo_ud.log" | sed 's/^/@@DEMO /'
        report demo_ud 0 "$T/demo_ud.log"
        stop_server "$_us" "$T/server_ud.log" server_ud
        echo "@@DEMO ---- UD server 的輸出 ----"
        grep -v '^\[統計\]' "$T/server_ud.log" | sed 's/^/@@DEMO /'
    fi
    echo "@@KB end"
}

case ${1:-full} in
full) run_full ;;
demo) run_demo ;;
perf) run_perf ;;
adversarial) run_adversarial ;;
focus) run_focus ;;
*) echo "用法：$0 full|perf|demo|adversarial|focus" >&2; exit 2 ;;
esac
