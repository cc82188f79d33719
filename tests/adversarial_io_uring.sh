# shellcheck shell=bash
# tests/adversarial_io_uring.sh — io_uring_async 的敵意測試（由 tests/adversarial.sh 載入）
#
#   adversarial_io_uring_smoke：命令列（不需要 root）——伺服器與 bench 的每個選項的空值、負數、極大、NaN、inf、
#                               尾巴有垃圾、缺值，一般版與 ASan/UBSan 版都必須以結束碼 2 與中文說明拒絕，不能崩潰
#   adversarial_io_uring_full ：惡意的對端（tests/io_uring_peers.py，只連 loopback，次數與時間都有上限）：亂碼、
#                               一次一個位元組、半關閉、RST 洪水、超過 --max-conns 的連線洪水、slowloris、
#                               送了 64 KiB 就 RST；之後伺服器仍逐位元組回聲、fd 數與連線數回到基準、SIGINT 乾淨結束。
#                               一般版與 ASan/UBSan 版各跑一次。
#                               --udp：0 B、隨機大小（大半放不進緩衝區）、IPv4/IPv6 混雜、回音送往已關閉的埠、塞爆緩衝池的洪水；
#                               之後仍逐位元組回音、rx_dgrams = tx_dgrams + drops、SIGINT 乾淨結束（兩個版本）。

# shellcheck source=tests/io_uring.sh
source "$ROOT/tests/io_uring.sh"

# ---------------------------------------------------------------- 命令列
adv_iou_cmdline() {
    local name=$1 prog v opt problems="" count=0 p
    prog=$(bin "$IOU")
    if [ ! -x "$prog" ]; then
        if [ "${SANITIZE:-0}" == 1 ]; then fail "$name" "sanitizer 版本" "$prog 存在" "不存在（make sanitize SAN_PROGS=$IOU）"
        else skip "$name" "$IOU 沒有編譯出來（make io_uring）"; fi
        return 0
    fi
    local -a bad_values=("" "-1" "-0.5" "99999999999999999999999" "4294967296" "nan" "NaN" "-nan" "inf" "-inf" "infinity"
        "1e400" "5x" "5 " " 5" "0x10" "+5" "1,5" "５")
    local -a cases=() argv=()
    # 伺服器：每個帶值的選項 × 每個壞值，缺值（選項在最後），以及 --opt=值 的寫法（不支援，也要拒絕）
    for opt in --threads --buf-size --buf-count --max-conns --idle-timeout --napi; do
        for v in "${bad_values[@]}"; do cases+=(S "$opt" "$v" "§" S "$opt=$v" "§"); done
        cases+=(S "$opt" "§" S 12345 "$opt" "§")
    done
    # 伺服器：範圍與其他
    cases+=(S --threads 0 "§" S --threads 65 "§" S --buf-size 511 "§" S --buf-size 65537 "§" S --buf-count 63 "§"
        S --buf-count 1000 "§" S --buf-count 65536 "§" S --max-conns 0 "§" S --max-conns 1000001 "§"
        S --idle-timeout 86401 "§" S --idle-timeout 0.5 "§" S --sqpoll=1 "§" S --no-inc=yes "§" S --bogus "§" S -x "§"
        S 0 "§" S 65536 "§" S -1 "§" S nan "§" S inf "§" S 12345x "§" S "" "§" S 12345 12346 "§" S 99999999999 "§"
        S --udp=1 "§" S --udp --buf-size 100 "§" S 12345 --udp --threads nan "§" S --udp 0 "§" S --udp --buf-count 1000 "§"
        S --napi 0 "§" S --napi 10001 "§" S --zc=1 "§" S --fixed=yes "§" S --bundle=1 "§" S --udp --zc "§" S --udp --fixed "§"
        S --udp --bundle "§" S --zc --napi nan "§")
    # bench：每個帶值的選項 × 每個壞值、缺值
    for opt in --conns --size --depth --duration; do
        for v in "${bad_values[@]}"; do cases+=(B 127.0.0.1 9 "$opt" "$v" "§"); done
        cases+=(B 127.0.0.1 9 "$opt" "§")
    done
    cases+=(B 127.0.0.1 9 --duration 0.09 "§" B 127.0.0.1 9 --duration 3600.5 "§" B 127.0.0.1 9 --duration 1e-300 "§"
        B 127.0.0.1 9 --conns 0 "§" B 127.0.0.1 9 --conns 20001 "§" B 127.0.0.1 9 --size 0 "§" B 127.0.0.1 9 --size 1048577 "§"
        B 127.0.0.1 9 --depth 1025 "§" B 127.0.0.1 9 --quiet=1 "§" B 127.0.0.1 9 --bogus "§" B "§" B 127.0.0.1 "§"
        B 127.0.0.1 0 "§" B 127.0.0.1 65536 "§" B 127.0.0.1 nan "§" B 127.0.0.1 "" "§" B "" 9 "§" B 127.0.0.1 9x "§")
    local kind=""
    for v in "${cases[@]}"; do
        if [ -z "$kind" ]; then kind=$v; continue; fi
        if [ "$v" == "§" ]; then
            count=$((count + 1))
            if [ "$kind" == B ]; then p=$(refusal_problem "$prog" bench "${argv[@]}") || problems+="${problems:+；}$p"
            else p=$(refusal_problem "$prog" "${argv[@]}") || problems+="${problems:+；}$p"; fi
            argv=() kind=""
        else
            argv+=("$v")
        fi
    done
    if [ -z "$problems" ]; then
        pass "$name" "$count 個錯誤的命令列（伺服器與 bench 的每個選項：空值、負數、極大、nan、inf、尾巴有垃圾、缺值、超出範圍）都以結束碼 2 與中文說明拒絕"
    else
        fail "$name" "命令列的拒絕（$count 個）" "結束碼 2、中文說明、沒有 sanitizer 報告" "$problems"
    fi
}
io_uring_t_adv_cmdline() { adv_iou_cmdline adversarial.io_uring.cmdline; }
io_uring_t_adv_cmdline_asan() { SANITIZE=1 adv_iou_cmdline adversarial.io_uring.cmdline_sanitize; }

# ---------------------------------------------------------------- 惡意的對端
# adv_iou_peers NAME：小緩衝池（64 個 512 B）、--max-conns 64、--idle-timeout 3 的伺服器依序面對每一種惡意對端，
# 每種之後都用 64 KiB 的二進位回聲確認它還在正常服務；最後 fd 數與連線數回到基準、SIGINT 結束碼 0。
adv_iou_peers() {
    local name=$1 port log out base fds live rc=0 bad="" ok="" step maxc=64
    if [ ! -x "$(bin "$IOU")" ]; then
        fail "$name" "$(bin "$IOU") 存在" "存在" "不存在"; return 0
    fi
    port=$(iou_free_port)
    log=$WORK/adv-iou-$name.log
    iou_start "$log" "$port" --buf-size 512 --buf-count 64 --max-conns "$maxc" --idle-timeout 3 || { fail "$name" "伺服器沒有就緒"; return 0; }
    base=$(iou_fds "$SRV_PID")
    local -a steps=(
        "random 40"            # 亂碼：隨機長度（1 B–256 KiB）的隨機位元組，逐位元組比對
        "onebyte 3000"         # 一次寫一個位元組
        "halfclose 20"         # shutdown(SHUT_WR)：收回全部資料，然後伺服器關閉
        "rstflood 300"         # 連上就 RST（一半先送一點資料）
        "churn 200 65536"      # 送 64 KiB、讀一點點就 RST
        "connflood 100 1"      # 超過 --max-conns：多出來的被立刻關閉
        "slowloris 20 4"       # 每 0.3 秒一個位元組
    )
    for step in "${steps[@]}"; do
        # shellcheck disable=SC2086 # 故意拆開成子命令與參數
        out=$(run_timeout 60 python3 "$IOU_PEERS" 127.0.0.1 "$port" $step 2>&1 | tail -n 1) || true
        local what=${step%% *}
        case $what in
        random) [[ "$out" == *"mismatched=0"* ]] || bad+=" [亂碼：$out]" ;;
        onebyte) [[ "$out" == *"onebyte=ok"* ]] || bad+=" [一次一個位元組：$out]" ;;
        halfclose) [[ "$out" == *"bad=0"* ]] || bad+=" [半關閉：$out]" ;;
        rstflood) [[ "$out" == "rstflood=300" ]] || bad+=" [RST 洪水：$out]" ;;
        churn) [[ "$out" == "churn=200" ]] || bad+=" [送 64 KiB 後 RST：$out]" ;;
        connflood)
            local refused
            refused=$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$out")
            [ "${refused:-0}" -ge $((100 - maxc)) ] || bad+=" [連線洪水：超過 --max-conns $maxc 的應至少 $((100 - maxc)) 條被關閉：$out]" ;;
        slowloris) [[ "$out" == *"mismatched=0"* ]] || bad+=" [slowloris：$out]" ;;
        esac
        ok+=" ${what}：${out}；"
        # 每一種之後：fd 數回到基準（那些連線都關掉了），然後確認還在正常服務
        local deadline=$((SECONDS + 5))
        while ((SECONDS < deadline)) && [ "$(iou_fds "$SRV_PID")" != "$base" ]; do sleep 0.1; done
        fds=$(iou_fds "$SRV_PID")
        [ "$fds" == "$base" ] || bad+=" [$what 之後 5 秒 fd 數仍是 $fds（基準 $base）]"
        local echo_out
        echo_out=$(run_timeout 20 python3 "$IOU_PEERS" 127.0.0.1 "$port" binary 65536 10 2>&1 || true)
        grep -q 'result=ok' <<<"$echo_out" || bad+=" [$what 之後回聲失敗：$echo_out]"
        kill -0 "$SRV_PID" 2>/dev/null || { bad+=" [$what 之後伺服器不見了]"; break; }
    done
    # 最後：1 MiB 的回聲逐位元組相同；fd 數與連線數回到基準
    out=$(run_timeout 30 python3 "$IOU_PEERS" 127.0.0.1 "$port" binary $((1 << 20)) 2>&1 || true)
    grep -q 'result=ok' <<<"$out" || bad+=" [最後的 1 MiB 回聲：$out]"
    local deadline=$((SECONDS + 8))
    while ((SECONDS < deadline)); do
        fds=$(iou_fds "$SRV_PID")
        [ "$fds" == "$base" ] && [ "$(iou_live "$log")" == 0 ] && break
        sleep 0.2
    done
    fds=$(iou_fds "$SRV_PID") live=$(iou_live "$log")
    [ "$fds" == "$base" ] || bad+=" [fd 數 $base → $fds]"
    [ "$live" == 0 ] || bad+=" [連線數 $live]"
    kill -INT "$SRV_PID" 2>/dev/null || true
    wait_exit "$SRV_PID" 10 || rc=$?
    [ "$rc" == 0 ] || bad+=" [SIGINT 後結束碼 $rc]"
    [[ "$(last_line "$log")" == "[摘要]"* ]] || bad+=" [最後一行不是 [摘要]：$(last_line "$log")]"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
        bad+=" [sanitizer 報告：$(grep -m1 -E 'Sanitizer|runtime error:' "$log")]"
    fi
    if [ -z "$bad" ]; then
        pass "$name" "亂碼、一次一個位元組、半關閉、RST 洪水、64 KiB 後 RST、超過 --max-conns 的洪水、slowloris 之後，仍逐位元組回聲，fd $base → $fds、連線 0、SIGINT 結束碼 0（$(summary_get "$log" rejected) 條被拒、$(summary_get "$log" resets) 次 reset）"
    else
        fail "$name" "惡意對端之後的伺服器" "每一種都正確處理、之後回聲正確、fd 與連線數回到基準" "$bad（過程：$ok）"
        show_log "$log" 20
    fi
}
io_uring_t_adv_peers() { adv_iou_peers adversarial.io_uring.peers; }
io_uring_t_adv_peers_asan() {
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
    SANITIZE=1 adv_iou_peers adversarial.io_uring.peers_sanitize
}

# ---------------------------------------------------------------- 惡意的資料包（--udp）
# adv_iou_udp NAME：小緩衝池（64 個 512 B）的 UDP 伺服器面對 0 B 資料包、0–1500 B 的隨機大小（大半放不進緩衝區）、
# IPv4 與 IPv6 混雜、送完就關閉的 socket（回音送往已關閉的埠）、塞爆緩衝池的洪水（ENOBUFS 與重掛）；之後仍逐位元組回音，
# SIGINT 結束碼 0，[摘要] 的帳對得起來：rx_dgrams = tx_dgrams + drops（每個收到的資料包不是回了就是算進丟棄）。
adv_iou_udp() {
    local name=$1 port log out rc=0 rx tx drops
    port=$(iou_free_port)
    log=$WORK/adv-udp.log
    iou_start "$log" "$port" --udp --buf-count 64 --buf-size 512 || { fail "$name" "--udp 伺服器沒有就緒"; return 0; }
    python3 - "$port" <<'PY' || rc=1
import os, random, socket, sys
port = int(sys.argv[1])
rnd = random.Random(1)
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)]
dst = [("127.0.0.1", port), ("::1", port)]
for i in range(200):                      # 0 B 資料包
    socks[i % 2].sendto(b"", dst[i % 2])
for i in range(3000):                     # 隨機大小，從不讀回音
    socks[i % 2].sendto(os.urandom(rnd.randint(0, 1500)), dst[i % 2])
for _ in range(20):                       # 送完就關閉：回音送往已經沒有人的埠
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(50):
        t.sendto(os.urandom(64), dst[0])
    t.close()
PY
    sleep 0.5
    out=$(python3 "$IOU_PEERS" 127.0.0.1 "$port" udp 500 64 2>&1 && python3 "$IOU_PEERS" ::1 "$port" udp 300 400 2>&1) || rc=1
    kill -INT "$SRV_PID"
    wait_exit "$SRV_PID" 10 || rc=$?
    rx=$(summary_get "$log" rx_dgrams); tx=$(summary_get "$log" tx_dgrams); drops=$(summary_get "$log" drops)
    if [ "$rc" == 0 ] && [ -n "$rx" ] && [ "$rx" == $((tx + drops)) ] && [ "$(summary_get "$log" trunc_drops)" -gt 0 ] &&
        ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$log"; then
        pass "$name" "0 B、隨機大小（截斷 $(summary_get "$log" trunc_drops) 個）、IPv4/IPv6 混雜、回音送往已關閉的埠、洪水（ENOBUFS $(summary_get "$log" enobufs) 次）之後仍逐位元組回音；rx_dgrams=$rx = tx_dgrams $tx + drops $drops；SIGINT 結束碼 0"
    else
        fail "$name" "惡意的資料包之後的 --udp 伺服器" "回音 result=ok、rx_dgrams = tx_dgrams + drops、trunc_drops > 0、rc=0、沒有 sanitizer 報告" \
            "rc=$rc：$(tr '\n' ' ' <<<"$out")；$(last_line "$log")"
        show_log "$log" 20
    fi
}
io_uring_t_adv_udp() { adv_iou_udp adversarial.io_uring.udp; }
io_uring_t_adv_udp_asan() {
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
    SANITIZE=1 adv_iou_udp adversarial.io_uring.udp_sanitize
}

adversarial_io_uring_smoke() {
    [ -x "$ROOT/$IOU" ] || { skip adversarial.io_uring "$IOU 沒有編譯出來（make io_uring）"; return 0; }
    run_test io_uring_t_adv_cmdline
    run_test io_uring_t_adv_cmdline_asan
}

adversarial_io_uring_full() {
    [ -x "$ROOT/$IOU" ] || { skip adversarial.io_uring "$IOU 沒有編譯出來（make io_uring）"; return 0; }
    run_test io_uring_t_adv_peers
    run_test io_uring_t_adv_peers_asan
    run_test io_uring_t_adv_udp
    run_test io_uring_t_adv_udp_asan
}
