# shellcheck shell=bash
# tests/adversarial_af_xdp.sh — af_xdp_socket 的敵意測試（由 tests/adversarial.sh 載入）
#
#   adversarial_af_xdp_smoke：命令列（不需要 root）——每個選項的空值、負數、極大、NaN、inf、尾巴有垃圾、缺值，
#                             一般版與 ASan/UBSan 版都必須以結束碼 2 與中文說明拒絕，不能崩潰
#   adversarial_af_xdp_full ：隨機的敵意訊框（tests/hostile_frames.py）從對端 namespace 經 veth 送進 echo 與 l2fwd：
#                             不崩潰；rx_packets = tx_packets + malformed + refused；XDP 程式導向的 = socket 收到的
#                             （加上核心記的丟棄）；對端擷取到的、程式送出的訊框沒有任何 malformed。
# 借用 tests/af_xdp.sh 的函式，但用自己的 namespace 與 veth（kbxadv-p、kbxadv-a ↔ kbxadv-b，兩端都不設 IP 位址；
# 訊框裡的位址是 198.18.2.2 → 198.18.2.1）。

# shellcheck source=tests/af_xdp.sh
source "$ROOT/tests/af_xdp.sh"

ADV_XDP_FRAMES=${ADV_XDP_FRAMES:-3000}   # 每個情境送幾個訊框（約三成是正常的 UDP 4242）
ADV_XDP_SEED=${ADV_XDP_SEED:-20261}
ADV_XDP_MTU=3000                          # 讓 jumbo 訊框過得了 veth（native XDP 在 veth 上要求 MTU ≤ 約 3500）
ADV_XDP_MAC=02:6b:62:78:64:01             # 固定兩端的 MAC，同一個 pcap 可用在每個情境
ADV_XDP_PEER_MAC=02:6b:62:78:64:02

# ---------------------------------------------------------------- 命令列
# adv_af_xdp_cmdline NAME：逐一檢查每個該被拒絕的命令列（refusal_problem：結束碼 2、中文、沒有 sanitizer 報告）
adv_af_xdp_cmdline() {
    local name=$1 prog opt v problems="" count=0 p
    prog=$(bin af_xdp_socket)
    if [ ! -x "$prog" ]; then
        if [ "${SANITIZE:-0}" == 1 ]; then fail "$name" "sanitizer 版本" "$prog 存在" "不存在（make sanitize SAN_PROGS=af_xdp_socket）"
        else skip "$name" "af_xdp_socket 沒有編譯出來（make af_xdp）"; fi
        return 0
    fi
    local -a cases=()
    local -a value_opts=(--mode --udp-port --size --dst-mac --src-mac --dst-ip --src-ip --rate --batch --frame-size
        --frames --fill-depth --duration --count --pin-cpu --bpf-obj --queues --fwd-if)
    local -a bad_values=("" "-1" "99999999999999999999999" "nan" "NaN" "inf" "-inf" "infinity" "5x" "1e400" " 5" "0x10")
    for opt in "${value_opts[@]}"; do
        for v in "${bad_values[@]}"; do
            cases+=("$opt" "$v" "§")          # 分開的值
            cases+=("$opt=$v" "§")            # --opt=值（包括 --opt= 空值）
        done
        cases+=("$opt" "§")                   # 缺值：選項在最後
    done
    # 不接受值的選項寫了值
    for opt in --all --broadcast --zero-copy --copy --skb-mode --no-need-wakeup --busy-poll --force --unload --verbose --help; do
        cases+=("$opt=1" "§")
    done
    # 範圍與組合
    cases+=(--udp-port 0 "§" --udp-port 65536 "§" --batch 0 "§" --batch 1025 "§" --frames 255 "§" --frames 1000 "§"
        --frames 524288 "§" --frame-size 1024 "§" --frame-size 3000 "§" --size 59 "§" --size 4000 "§" --rate 1000000001 "§"
        --duration 31536001 "§" --pin-cpu 1024 "§" --mode "" "§" --mode ECHO "§" --dst-mac 02:00:00:00:00 "§"
        --dst-mac 02:00:00:00:00:0g "§" --dst-mac 02:00:00:00:00:001 "§" --dst-ip 1.2.3.4x "§" --dst-ip 256.1.1.1 "§"
        --zero-copy --skb-mode "§" --bogus "§" -x "§" --queues 0 "§" --queues 65 "§"
        --mode txonly --queues 4 --count 3 "§" --mode txonly --queues 4 --rate 2 "§"
        --fill-depth 15 "§" --fill-depth 2049 "§" --fill-depth 8193 "§" --frames 256 --fill-depth 129 "§"
        --mode txonly --fill-depth 64 "§" --jumbo --fill-depth 35 "§")
    # 位置參數：每組前面加上 lo 0，只有下面這幾組改寫位置參數本身
    local -a pos_cases=("" "§" "lo" "§" "lo -1" "§" "lo nan" "§" "lo inf" "§" "lo 5x" "§" "lo 99999999999" "§" "lo 64" "§" "lo 63 --queues 2" "§"
        "lo 0 extra" "§" "lo ''" "§" "kbxdp-0123456789abcdef 0" "§")
    local -a argv=()
    _adv_run() {
        count=$((count + 1))
        p=$(refusal_problem "$prog" "$@") || problems+="${problems:+；}$p"
    }
    for v in "${cases[@]}"; do
        if [ "$v" == "§" ]; then _adv_run lo 0 "${argv[@]}"; argv=(); else argv+=("$v"); fi
    done
    for v in "${pos_cases[@]}"; do
        if [ "$v" == "§" ]; then _adv_run "${argv[@]}"; argv=(); continue; fi
        case $v in
        "") argv=() ;;                       # 沒有任何參數
        "lo ''") argv=(lo "") ;;             # 佇列是空字串
        *) read -r -a argv <<<"$v" ;;
        esac
    done
    _adv_run "" 0                            # 介面名稱是空字串
    if [ -z "$problems" ]; then
        pass "$name" "$count 個錯誤的命令列（每個值選項的空值、負數、極大、NaN、inf、垃圾、缺值，旗標帶值，位置參數）都以結束碼 2 與中文說明拒絕"
    else
        fail "$name" "$count 個錯誤的命令列" "全部結束碼 2、中文、沒有 sanitizer 報告" "$problems"
    fi
}

af_xdp_t_adv_cmdline() { adv_af_xdp_cmdline adversarial.af_xdp.cmdline; }
af_xdp_t_adv_cmdline_asan() {
    export SANITIZE=1
    adv_af_xdp_cmdline adversarial.af_xdp.cmdline_asan
}

# ---------------------------------------------------------------- 敵意訊框
# adv_af_xdp_pcap：產生一次（同一個 seed、固定的 MAC 與位址），之後的情境共用；輸出路徑
adv_af_xdp_pcap() {
    local pcap=$WORK/adv-af_xdp-$ADV_XDP_SEED.pcap
    if [ ! -s "$pcap" ]; then
        python3 "$ROOT/tests/hostile_frames.py" gen "$pcap" --count "$ADV_XDP_FRAMES" --seed "$ADV_XDP_SEED" \
            --src-mac "$ADV_XDP_PEER_MAC" --dst-mac "$ADV_XDP_MAC" --src-ip "$AF_XDP_PEER_IP" --dst-ip "$AF_XDP_IP" \
            --dport "$AF_XDP_PORT" --max-len $((ADV_XDP_MTU + 14)) >"$pcap.gen" 2>&1 || { cat "$pcap.gen" >&2; return 1; }
    fi
    echo "$pcap"
}

# adv_af_xdp_settle LOG PID N0：等 [統計] 行在 N0 行之後再出現兩行、兩行的 redirected 相同（計數器不再動），最多 10 秒
adv_af_xdp_settle() {
    local log=$1 pid=$2 n0=$3 deadline=$((SECONDS + 10))
    local -a v
    while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
        mapfile -t v < <(grep '\[統計\]' "$log" | tail -n +"$((n0 + 1))" | grep -o ' redirected=[0-9]*' | tail -n 2)
        [ "${#v[@]}" == 2 ] && [ "${v[0]}" == "${v[1]}" ] && return 0
        sleep 0.2
    done
    return 1
}

# adv_af_xdp_hostile NAME ARGS...：af_xdp_socket 以 ARGS 執行，對端送出整個 pcap，核對帳目與送出的訊框
adv_af_xdp_hostile() {
    local name=$1; shift
    local log=$WORK/${name##*.}.log cap=$WORK/${name##*.}.pcap tlog=$WORK/${name##*.}.tcpdump.log pcap rc=0 n0 bad=""
    af_xdp_need "$name" || return 0
    need_cmd tcpdump "$name" tcpdump || return 0
    if [ "${SANITIZE:-0}" == 1 ] && [ ! -x "$(af_xdp_prog)" ]; then
        fail "$name" "sanitizer 版本" "$(af_xdp_prog) 存在" "不存在（make sanitize SAN_PROGS=af_xdp_socket）"; return 0
    fi
    pcap=$(adv_af_xdp_pcap) || { fail "$name" "hostile_frames.py gen 失敗"; return 0; }
    # 自己的 namespace 與 veth（run_test 的子 shell 裡改，只影響這個測試），而且兩端都不設 IP 位址：
    # 和 af_xdp 群組同時執行時不會有兩個介面擁有同一個網段。介面沒有 IPv4 時 XDP 程式只比對 MAC。
    AF_XDP_NS=kbxadv-p AF_XDP_IF=kbxadv-a AF_XDP_PEER_IF=kbxadv-b
    netns_add "$AF_XDP_NS"
    veth_add "$AF_XDP_IF" "" "$AF_XDP_PEER_IF" "$AF_XDP_NS"
    defer "ip link set dev $AF_XDP_IF xdp off"
    ip link set dev "$AF_XDP_IF" address "$ADV_XDP_MAC" mtu "$ADV_XDP_MTU"
    ip -n "$AF_XDP_NS" link set dev "$AF_XDP_PEER_IF" address "$ADV_XDP_PEER_MAC" mtu "$ADV_XDP_MTU"
    AF_XDP_MAC=$ADV_XDP_MAC
    # 對端擷取「從 kbxdp-a 來的」訊框：程式送出的（echo、l2fwd）與核心自己送的
    bg_start "$tlog" ip netns exec "$AF_XDP_NS" tcpdump -i "$AF_XDP_PEER_IF" -Q in -U -s 0 -B 16384 -n -w "$cap"
    local tpid=$BG_PID
    wait_marker "$tlog" 'listening on' 10 "$tpid" || { fail "$name" "tcpdump 沒有啟動"; show_log "$tlog"; return 0; }
    af_xdp_start "$log" --duration 120 "$@" || return 0
    n0=$(grep -c '\[統計\]' "$log" || true)
    local sent
    sent=$(nsx "$AF_XDP_NS" python3 "$ROOT/tests/hostile_frames.py" send "$AF_XDP_PEER_IF" "$pcap" 2>&1 | tail -n 1)
    adv_af_xdp_settle "$log" "$AF_XDP_PID" "$n0" || bad+=" 計數器 10 秒內沒有停下來；"
    kill -INT "$AF_XDP_PID" 2>/dev/null || true
    wait_exit "$AF_XDP_PID" 15 || rc=$?
    stop_pid "$tpid" INT

    local rx tx mal ref redir kdrop chk
    rx=$(summary_get "$log" rx_packets); tx=$(summary_get "$log" tx_packets)
    mal=$(summary_get "$log" malformed); ref=$(summary_get "$log" refused)
    redir=$(summary_get "$log" xdp_redirected)
    kdrop=$(($(summary_get "$log" rx_dropped) + $(summary_get "$log" rx_ring_full)))
    [ "$rc" == 0 ] || bad+=" 結束碼 $rc；"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then bad+=" 有 sanitizer 報告；"; fi
    if [ -z "$rx" ]; then
        bad+=" 沒有 [摘要]；"
    else
        [ "$rx" == $((tx + mal + ref)) ] || bad+=" rx_packets $rx ≠ tx $tx + malformed $mal + refused $ref；"
        [ "$redir" == $((rx + kdrop)) ] || bad+=" XDP 導向 $redir ≠ socket 收到 $rx + 核心丟棄 $kdrop；"
        [ "$mal" -gt 0 ] || bad+=" malformed = 0（敵意訊框沒有進到程式？）；"
        [ "$tx" -gt 0 ] || bad+=" 一個都沒有送出（正常的訊框也沒回應？）；"
        [ "$(summary_get "$log" umem_balance)" == ok ] || bad+=" UMEM 帳目不平衡；"
    fi
    local chk_rc=0 frames
    chk=$(python3 "$ROOT/tests/hostile_frames.py" check "$cap" 2>&1) || chk_rc=$?
    [ "$chk_rc" == 0 ] || bad+=" 對端收到 malformed 的訊框（$chk）；"
    frames=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' <<<"$chk")
    [ "${frames:-0}" -ge "${tx:-0}" ] || bad+=" 擷取到 ${frames:-0} 個 < 程式送出 $tx 個（$(grep -i dropped "$tlog" | tr '\n' ' ')）；"
    if af_xdp_has_prog "$AF_XDP_IF"; then bad+=" 結束後介面上仍有 XDP 程式；"; fi
    if [ -z "$bad" ]; then
        pass "$name" "$* ：送出 $sent，XDP 導向 $redir；程式 rx $rx = 送出 $tx + malformed $mal + 拒絕 $ref（核心丟 $kdrop，第一個以外的 buffer $(summary_get "$log" rx_extra_bufs)）；對端擷取 $chk"
    else
        fail "$name" "$* 的敵意訊框" "不崩潰、帳目平衡、送出的都不是 malformed" "${bad% ；}（送出 $sent）"
        show_log "$log" 8
    fi
}

af_xdp_t_adv_echo() { adv_af_xdp_hostile adversarial.af_xdp.hostile_echo --mode echo; }
af_xdp_t_adv_l2fwd() { adv_af_xdp_hostile adversarial.af_xdp.hostile_l2fwd --mode l2fwd; }
af_xdp_t_adv_l2fwd_all() { adv_af_xdp_hostile adversarial.af_xdp.hostile_l2fwd_all --mode l2fwd --all; }
af_xdp_t_adv_echo_all() { adv_af_xdp_hostile adversarial.af_xdp.hostile_echo_all --mode echo --all; }
af_xdp_t_adv_echo_asan() { export SANITIZE=1; adv_af_xdp_hostile adversarial.af_xdp.hostile_echo_asan --mode echo --all; }
af_xdp_t_adv_l2fwd_asan() { export SANITIZE=1; adv_af_xdp_hostile adversarial.af_xdp.hostile_l2fwd_asan --mode l2fwd --all; }
# multi-buffer（issue 14）：frame 2048（每個 buffer 1792 bytes），MTU 3000 的敵意訊框有的跨兩個 buffer——
# 長度欄位的核對、echo 跨 buffer 的檢查和、半個封包的 cancel 都在 ASan/UBSan 底下跑
af_xdp_t_adv_echo_jumbo() {
    export SANITIZE=1
    adv_af_xdp_hostile adversarial.af_xdp.hostile_echo_jumbo_asan --mode echo --all --jumbo --frame-size 2048
}
af_xdp_t_adv_l2fwd_jumbo() {
    export SANITIZE=1
    adv_af_xdp_hostile adversarial.af_xdp.hostile_l2fwd_jumbo_asan --mode l2fwd --all --jumbo --frame-size 2048
}

adversarial_af_xdp_smoke() {
    run_test af_xdp_t_adv_cmdline
    run_test af_xdp_t_adv_cmdline_asan
}

adversarial_af_xdp_full() {
    run_test af_xdp_t_adv_echo
    run_test af_xdp_t_adv_echo_all
    run_test af_xdp_t_adv_l2fwd
    run_test af_xdp_t_adv_l2fwd_all
    run_test af_xdp_t_adv_echo_asan
    run_test af_xdp_t_adv_l2fwd_asan
    run_test af_xdp_t_adv_echo_jumbo
    run_test af_xdp_t_adv_l2fwd_jumbo
}
