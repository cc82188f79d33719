# shellcheck shell=bash
# tests/dpdk.sh — dpdk_packet_processing 的測試與 demo（效能比較在 tests/dpdk_perf.sh）。
#
# 所有 frame 由 tests/dpdk_frames.py（scapy）產生，預期輸出在那裡依「建構方式」決定，與 C++ 的檢查邏輯無關。
# 虛擬 port：net_pcap（讀寫 pcap 檔）、net_null（無限產生／丟棄）、net_af_packet / net_af_xdp（veth 到 netns 測試主機）。
# 網路：只用 198.18.3.0/24，netns 與 veth 名稱以 kbdpdk 開頭。
# 每次執行都用 --in-memory（程式預設）或自己的 --file-prefix，結束後檢查 /dev/hugepages 沒有留下檔案。

DPDK_PROG=dpdk_packet_processing
DPDK_PY=/usr/bin/python3 # Debian 的 python3（python3-scapy 裝在這裡；PATH 上可能是別的 python）
DPDK_FRAMES=$ROOT/tests/dpdk_frames.py
DPDK_EAL=(-l 0-1 --no-pci)

# 效能比較（-p，dpdk_perf 與它的輔助函式）在自己的檔案
# shellcheck source=tests/dpdk_perf.sh
source "$ROOT/tests/dpdk_perf.sh"
# --flow 在 VM 裡的測試（net_tap 的 rte_flow 要 TC flower，這台主機的核心沒有）
# shellcheck source=tests/dpdk_flow_vm.sh
source "$ROOT/tests/dpdk_flow_vm.sh"

# ---------------------------------------------------------------- 共用
# dpdk_bin：受測程式路徑（SANITIZE=1 時是 build/sanitize/ 的 UBSan 版）
dpdk_bin() { bin "$DPDK_PROG"; }

# dpdk_gen DIR：產生 byte-exact 測試用的 pcap 與預期值（只產生一次）
dpdk_gen() {
    local dir=$1
    [ -f "$dir/expected.txt" ] && return 0
    mkdir -p "$dir"
    "$DPDK_PY" "$DPDK_FRAMES" gen "$dir" >/dev/null
}
# dpdk_expect DIR KEY：expected.txt 裡的值
dpdk_expect() { sed -n "s/^$2=//p" "$1/expected.txt"; }

# dpdk_run LOG TIMEOUT ARGS...：前景執行受測程式，回傳結束碼（不觸發 set -e）
dpdk_run() {
    local log=$1 t=$2 rc=0
    shift 2
    run_timeout "$t" "$(dpdk_bin)" "$@" >"$log" 2>&1 || rc=$?
    return "$rc"
}

# dpdk_clip N：每行只留前 N 個字元（以 UTF-8 字元計，不會切斷中文；cut -c 是以位元組計）
dpdk_clip() { "$DPDK_PY" -c 'import sys; n = int(sys.argv[1]); [print(l.rstrip("\n")[:n]) for l in sys.stdin]' "$1"; }

# dpdk_huge_files：/dev/hugepages 裡的檔案數
dpdk_huge_files() { find /dev/hugepages -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# dpdk_need_env NAME：需要 root、程式已編譯、Debian 的 python3 有 scapy
dpdk_need_env() {
    need_root "$1" || return 1
    need_bin "$DPDK_PROG" "$1" || return 1
    if [ "${SANITIZE:-0}" == 1 ] && [ ! -x "$(dpdk_bin)" ]; then
        skip "$1" "$(dpdk_bin) 沒有編譯出來（make sanitize）"
        return 1
    fi
    if ! "$DPDK_PY" -c 'import scapy' 2>/dev/null; then
        skip "$1" "$DPDK_PY 找不到 scapy（Debian 套件 python3-scapy，make install-deps 會安裝）"
        return 1
    fi
}

# ---------------------------------------------------------------- 冒煙測試（不需要 root，不啟動 EAL）
dpdk_t_help() {
    need_bin "$DPDK_PROG" dpdk.help || return 0
    local log=$WORK/dpdk-help.log rc=0
    "$ROOT/$DPDK_PROG" -- --help >"$log" 2>&1 || rc=$?
    check_eq dpdk.help "--help 結束碼" 0 "$rc"
    local opt
    for opt in --mode --portmask --duration --latency --flow --flow-optional udp-dport= queue=N mark=N macswap classify --vdev --no-huge /kb/stats dpdk-dumpcap; do
        grep -q -- "$opt" "$log" || { fail dpdk.help "--help 沒有提到 $opt"; show_log "$log"; return 0; }
    done
    if grep -q '預設 macswap' "$log" && grep -q '預設 0' "$log"; then
        pass dpdk.help_defaults "--help 列出每個選項與預設值（中文）"
    else
        fail dpdk.help_defaults "--help 沒有列出預設值"; show_log "$log"
    fi
}

# dpdk_t_badarg NAME 說明 ARGS...：程式選項錯誤 → 結束碼 2 與中文訊息（在 EAL 之前就檢查）
dpdk_t_badarg() {
    local name=$1 msg=$2 log=$WORK/dpdk-$1.log rc=0
    shift 2
    need_bin "$DPDK_PROG" "dpdk.$name" || return 0
    run_timeout 10 "$ROOT/$DPDK_PROG" "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" == 2 ] && grep -q '錯誤：' "$log"; then
        pass "dpdk.$name" "$msg：結束碼 2，訊息「$(grep -m1 '錯誤：' "$log" | dpdk_clip 60)」"
    else
        fail "dpdk.$name" "$msg" "結束碼 2 與「錯誤：」訊息" "結束碼 $rc"; show_log "$log"
    fi
}

dpdk_smoke() {
    run_test dpdk_t_help
    run_test dpdk_t_badarg bad_mode "未知的模式" -- --mode bogus
    run_test dpdk_t_badarg bad_duration "--duration 不是數字" -- --duration 5x
    run_test dpdk_t_badarg bad_portmask "--portmask 不是十六進位" -- --portmask 0xzz
    run_test dpdk_t_badarg bad_option "未知的程式選項" -- --bogus
    run_test dpdk_t_badarg latency_drop "--latency 配 drop 模式（沒有 TX 可量）" -- --mode drop --latency
    run_test dpdk_t_badarg flow_two_actions "--flow 有兩個動作" -- --flow udp-dport=9000,queue=1,drop
    run_test dpdk_t_badarg flow_no_match "--flow 沒有比對欄位" -- --flow drop
    run_test dpdk_t_badarg flow_bad_ip "--flow 的 src 不是 IPv4" -- --flow src=198.18.1.256,drop
}

# ---------------------------------------------------------------- byte-exact：net_pcap，每個模式
# dpdk_t_pcap_mode MODE [EAL 額外選項...]：in.pcap 經過程式後的 out.pcap 必須與預期逐位元組相同
dpdk_t_pcap_mode() {
    local mode=$1 tag=${DPDK_TAG:-}
    shift
    local name="dpdk.pcap_${mode}${tag}"
    dpdk_need_env "$name" || return 0
    local dir=$WORK/dpdk-frames out=$WORK/dpdk-out-$mode$tag.pcap log=$WORK/dpdk-pcap-$mode$tag.log rc=0
    dpdk_gen "$dir"
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" "$@" --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$out" \
        -- --mode "$mode" --duration 1 || rc=$?
    if [ "$rc" != 0 ]; then fail "$name" "結束碼" 0 "$rc"; show_log "$log"; return 0; fi
    local cmp
    if cmp=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_$mode.pcap" "$out" 2>&1); then
        pass "$name" "$mode 模式：out.pcap 與預期逐位元組相同、順序相同（$cmp）"
    else
        fail "$name" "$mode 模式的輸出與預期不同" "expected_$mode.pcap" "$cmp"; show_log "$log"
    fi
    local frames valid malformed
    frames=$(dpdk_expect "$dir" frames)
    valid=$(dpdk_expect "$dir" valid)
    malformed=$(dpdk_expect "$dir" malformed)
    [ "$mode" != drop ] || { valid=0; malformed=0; } # drop（rxonly）不檢查內容
    local got
    got="$(summary_get "$log" rx_packets)/$(summary_get "$log" tx_packets)/$(summary_get "$log" malformed)"
    check_eq "$name.counts" "$mode 模式 [摘要] rx_packets/tx_packets/malformed" "$frames/$valid/$malformed" "$got"
    if last_line "$log" | grep -q '^\[摘要\]'; then
        pass "$name.summary_last" "[摘要] 是最後一行（rte_eal_cleanup 之後才印）"
    else
        fail "$name.summary_last" "最後一行不是 [摘要]" "[摘要] ..." "$(last_line "$log" | dpdk_clip 80)"
    fi
    if [ "$mode" == classify ]; then
        local k want gotv bad=""
        for k in ipv4 ipv6 arp vlan tcp udp icmp other l4_other frag; do
            want=$(dpdk_expect "$dir" "cls_$k")
            gotv=$(summary_get "$log" "cls_$k")
            [ "$want" == "$gotv" ] || bad+=" cls_$k 預期 $want 實得 $gotv;"
        done
        if [ -z "$bad" ]; then
            pass "$name.classes" "classify 計數與產生器的標記一致（ipv4=$(dpdk_expect "$dir" cls_ipv4) ipv6=$(dpdk_expect "$dir" cls_ipv6) vlan=$(dpdk_expect "$dir" cls_vlan) frag=$(dpdk_expect "$dir" cls_frag) tcp/udp/icmp/arp/other 皆符合）"
        else
            fail "$name.classes" "classify 計數不符：$bad"
        fi
    fi
}

# 兩個 port 配對：net_pcap0 收到的從 net_pcap1 送出，反之亦然
dpdk_t_pair() {
    dpdk_need_env dpdk.pair || return 0
    local dir=$WORK/dpdk-pair log=$WORK/dpdk-pair.log rc=0
    mkdir -p "$dir"
    "$DPDK_PY" "$DPDK_FRAMES" gen-pair "$dir" >/dev/null
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" \
        --vdev "net_pcap0,rx_pcap=$dir/in0.pcap,tx_pcap=$dir/out0.pcap" \
        --vdev "net_pcap1,rx_pcap=$dir/in1.pcap,tx_pcap=$dir/out1.pcap" \
        -- --mode macswap --duration 1 || rc=$?
    if [ "$rc" != 0 ]; then fail dpdk.pair "結束碼" 0 "$rc"; show_log "$log"; return 0; fi
    local c0 c1
    if c1=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_out1.pcap" "$dir/out1.pcap") &&
        c0=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_out0.pcap" "$dir/out0.pcap"); then
        pass dpdk.pair "port 0 收到的 40 個 frame 從 port 1 送出、port 1 的從 port 0 送出，MAC 對調後逐位元組相同"
    else
        fail dpdk.pair "配對轉送的輸出不符" "out1 = in0 經 macswap、out0 = in1 經 macswap" "${c1:-}${c0:-}"; show_log "$log"
    fi
    check_eq dpdk.pair.counts "兩個 port 的 [摘要] ports/rx_packets/tx_packets/malformed" "2/82/80/2" \
        "$(summary_get "$log" ports)/$(summary_get "$log" rx_packets)/$(summary_get "$log" tx_packets)/$(summary_get "$log" malformed)"
}

# --portmask：三個 port（兩個 net_null、一個 net_pcap），只選第三個 → 單一 port，frame 從同一個 port 送回
dpdk_t_portmask() {
    dpdk_need_env dpdk.portmask || return 0
    local dir=$WORK/dpdk-frames log=$WORK/dpdk-portmask.log out=$WORK/dpdk-portmask.pcap rc=0
    dpdk_gen "$dir"
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" --vdev net_null0 --vdev net_null1 \
        --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$out" -- --mode io --portmask 0x4 --duration 1 || rc=$?
    local cmp=""
    if [ "$rc" == 0 ] && cmp=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_io.pcap" "$out") &&
        [ "$(summary_get "$log" ports)" == 1 ]; then
        pass dpdk.portmask "--portmask 0x4 只用 port 2（net_pcap）：ports=1，輸出與預期逐位元組相同"
    else
        fail dpdk.portmask "--portmask 0x4" "結束碼 0、ports=1、輸出相同" "結束碼 $rc、ports=$(summary_get "$log" ports)、$cmp"
        show_log "$log"
    fi
}

# TX 塞滿：net_pcap 無限重播（infinite_rx=1）→ net_af_packet 接在「沒有 up」的 veth 上，核心不取走 TX ring，
# 512 個 frame 之後 rte_eth_tx_buffer 的 flush 送不出去 → 回呼釋放並記為 dropped。
# 檢查 rx = tx + dropped + malformed（沒有 mbuf 被漏算或多算），而且 malformed 佔 rx 的比例正好是 pcap 裡的比例（expected.txt）。
dpdk_t_tx_full() {
    dpdk_need_env dpdk.tx_full || return 0
    local dir=$WORK/dpdk-frames log=$WORK/dpdk-txfull.log rc=0
    dpdk_gen "$dir"
    ip link add kbdpdk-x0 type veth peer name kbdpdk-x1
    defer "ip link del kbdpdk-x0"
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" --vdev "net_pcap0,rx_pcap=$dir/in.pcap,infinite_rx=1" \
        --vdev net_af_packet0,iface=kbdpdk-x0 -- --mode io --duration 1 || rc=$?
    local rx tx dr mf frames bad expect_mf
    rx=$(summary_get "$log" rx_packets) tx=$(summary_get "$log" tx_packets)
    dr=$(summary_get "$log" dropped) mf=$(summary_get "$log" malformed)
    frames=$(dpdk_expect "$dir" frames) bad=$(dpdk_expect "$dir" malformed)
    expect_mf=$(( ${rx:-0} * bad / frames ))
    if [ "$rc" == 0 ] && [ "${dr:-0}" -gt 0 ] && [ "$rx" == "$((tx + dr + mf))" ] &&
        [ $((mf - expect_mf)) -le "$frames" ] && [ $((expect_mf - mf)) -le "$frames" ]; then
        pass dpdk.tx_full "TX 塞滿：dropped=$dr，rx $rx = tx $tx + dropped $dr + malformed $mf，malformed ≈ rx × $bad/$frames"
    else
        fail dpdk.tx_full "TX 塞滿時的計數" "dropped>0、rx = tx + dropped + malformed、malformed ≈ $expect_mf" \
            "結束碼 $rc、rx=$rx tx=$tx dropped=$dr malformed=$mf"
        show_log "$log"
    fi
}

# 同時跑兩個行程：程式預設的 --in-memory 不建共享設定檔，所以不必各給 --file-prefix
dpdk_t_concurrent() {
    dpdk_need_env dpdk.concurrent || return 0
    local dir=$WORK/dpdk-frames
    dpdk_gen "$dir"
    local n pids=() ok=0 detail=""
    for n in 1 2; do
        bg_start "$WORK/dpdk-conc-$n.log" "$(dpdk_bin)" -l 0-1 --no-pci \
            --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$WORK/dpdk-conc-$n.pcap" -- --mode macswap --duration 2
        pids+=("$BG_PID")
    done
    for n in 1 2; do
        local rc=0 cmp=""
        wait_exit "${pids[$((n - 1))]}" 20 || rc=$?
        if [ "$rc" == 0 ] && cmp=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_macswap.pcap" "$WORK/dpdk-conc-$n.pcap"); then
            ok=$((ok + 1))
        else
            detail+=" 行程 $n：結束碼 $rc $cmp;"
            show_log "$WORK/dpdk-conc-$n.log"
        fi
    done
    check_eq dpdk.concurrent "兩個行程同時執行（都沒給 --file-prefix），各自輸出逐位元組正確的個數${detail}" 2 "$ok"
}

# 兩個 worker：lcore 0（main）與 1 在 CPU 0、lcore 2 在 CPU 1；net_null 每個 port 兩個 queue
dpdk_t_two_workers() {
    dpdk_need_env dpdk.two_workers || return 0
    local log=$WORK/dpdk-2w.log rc=0
    dpdk_run "$log" 30 --lcores '0@0,1@0,2@1' --no-pci --vdev net_null0 --vdev net_null1 \
        -- --mode macswap --duration 1 || rc=$?
    local rx tx dr mf w
    rx=$(summary_get "$log" rx_packets) tx=$(summary_get "$log" tx_packets)
    dr=$(summary_get "$log" dropped) mf=$(summary_get "$log" malformed) w=$(summary_get "$log" workers)
    if [ "$rc" == 0 ] && [ "$w" == 2 ] && grep -q '2 queue' "$log" && [ "${tx:-0}" -gt 0 ] &&
        [ "$rx" == "$((tx + dr + mf))" ]; then
        pass dpdk.two_workers "2 個 worker、每個 port 2 個 queue：rx_packets=$rx = tx $tx + dropped $dr + malformed $mf"
    else
        fail dpdk.two_workers "兩個 worker" "結束碼 0、workers=2、每 port 2 queue、rx = tx + dropped + malformed" \
            "結束碼 $rc、workers=$w、rx=$rx tx=$tx dropped=$dr malformed=$mf"
        show_log "$log"
    fi
}

# dpdk_veth_xchg NS HIF HMAC DMAC N SENT_PCAP RECV_PCAP TCPDUMP_LOG：
# 測試主機上用 tcpdump 只擷取「進來」且來源是 DPDK 那一端 MAC 的 frame，送出 N 個 frame，
# 等它們回來（最多 10 秒）再停掉 tcpdump。tcpdump 沒有開始擷取就回傳 1（什麼都不送）。
dpdk_veth_xchg() {
    local ns=$1 hif=$2 hmac=$3 dmac=$4 n=$5 sent=$6 cap=$7 tlog=$8
    bg_start "$tlog" ip netns exec "$ns" tcpdump -n -U -Q in -i "$hif" -w "$cap" ether src "$dmac"
    local tpid=$BG_PID
    wait_marker "$tlog" 'listening on' 10 "$tpid" || return 1
    nsx "$ns" "$DPDK_PY" "$DPDK_FRAMES" send "$hif" "$hmac" "$dmac" "$n" "$sent" >/dev/null
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        [ "$("$DPDK_PY" "$DPDK_FRAMES" count "$cap" 2>/dev/null || echo 0)" -ge "$n" ] && break
        sleep 0.1
    done
    stop_pid "$tpid" INT
}

# ---------------------------------------------------------------- 實際流量：veth 到 netns 測試主機
# dpdk_t_veth DRIVER：netns kbdpdk-h（198.18.3.2）的 kbdpdk-h0 ↔ 根 namespace 的 kbdpdk-d0（DPDK 用 DRIVER 接上）。
# 測試主機送出 UDP frame，並用 tcpdump 擷取回來的 frame：每一個都必須是送出的 frame 對調 MAC 後的位元組。
dpdk_t_veth() {
    local drv=$1 name="dpdk.veth_$1"
    dpdk_need_env "$name" || return 0
    need_cmd tcpdump "$name" tcpdump || return 0
    local ns=kbdpdk-h dif=kbdpdk-d0 hif=kbdpdk-h0 log=$WORK/dpdk-veth-$drv.log
    netns_add "$ns"
    veth_add "$dif" "" "$hif" "$ns"
    # 關掉兩端的 IPv6（否則核心會送 DAD/MLD 封包進來），測試主機設 198.18.3.2/24
    sysctl -qw "net.ipv6.conf.$dif.disable_ipv6=1"
    nsx "$ns" sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
    nsx "$ns" ip addr add 198.18.3.2/24 dev "$hif"
    local dmac hmac vdev
    dmac=$(cat "/sys/class/net/$dif/address")
    hmac=$(nsx "$ns" cat "/sys/class/net/$hif/address")
    case $drv in
    af_packet) vdev="net_af_packet0,iface=$dif" ;;
    af_xdp) vdev="net_af_xdp0,iface=$dif" ;;
    esac
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --vdev "$vdev" -- --mode macswap
    local pid=$BG_PID
    if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then
        fail "$name" "程式沒有印出 [就緒]"; show_log "$log"; return 0
    fi
    local cap=$WORK/dpdk-veth-$drv-recv.pcap sent=$WORK/dpdk-veth-$drv-sent.pcap tlog=$WORK/dpdk-veth-$drv-tcpdump.log
    if ! dpdk_veth_xchg "$ns" "$hif" "$hmac" "$dmac" 200 "$sent" "$cap" "$tlog"; then
        fail "$name" "tcpdump 沒有開始擷取"; show_log "$tlog"; return 0
    fi
    kill -INT "$pid"
    local erc=0 res rc=0
    wait_exit "$pid" 10 || erc=$?
    res=$("$DPDK_PY" "$DPDK_FRAMES" check-swapped "$sent" "$cap" 2>&1) || rc=$?
    if [ "$rc" == 0 ] && [ "$erc" == 0 ]; then
        pass "$name" "測試主機（netns $ns，198.18.3.2）經 $drv 送出 200 個 frame，tcpdump 在測試主機收回全部，MAC 對調後逐位元組相同（$res）"
    else
        fail "$name" "經 $drv 收回的 frame" "sent=200 matched=200 extra=0、程式結束碼 0" "$res、結束碼 $erc"
        show_log "$log"; show_log "$tlog" 5
    fi
    local rxp
    rxp=$(summary_get "$log" rx_packets)
    if [ -n "$rxp" ] && [ "$rxp" -ge 200 ] && [ "$(summary_get "$log" malformed)" == 0 ]; then
        pass "$name.summary" "[摘要] rx_packets=$rxp（≥ 200）、malformed=0"
    else
        fail "$name.summary" "[摘要] 計數" "rx_packets ≥ 200、malformed=0" "rx_packets=$rxp"; show_log "$log"
    fi
}

# ---------------------------------------------------------------- echo 模式
# byte-exact：dpdk_frames.py gen-echo 的 31 個 frame 經 net_pcap 跑 --mode echo：回覆（MAC、IP、UDP 埠對調，檢查和仍正確，
# 產生器自己驗過）逐位元組、同順序；別的埠/協定/VLAN/分段/廣播與群播（not_echo）、迴圈保護（refused）、malformed 都不回應。
dpdk_t_echo_pcap() {
    dpdk_need_env dpdk.echo_pcap || return 0
    local dir=$WORK/dpdk-echo log=$WORK/dpdk-echo-pcap.log out=$WORK/dpdk-echo-out.pcap rc=0 cmp
    mkdir -p "$dir"
    "$DPDK_PY" "$DPDK_FRAMES" gen-echo "$dir" --port 19000 >/dev/null
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" --vdev "net_pcap0,rx_pcap=$dir/echo_in.pcap,tx_pcap=$out" \
        -- --mode echo --udp-port 19000 --duration 1 || rc=$?
    if [ "$rc" == 0 ] && last_line "$log" | grep -q '^\[摘要\] mode=echo'; then
        pass dpdk.echo_pcap.exit "echo 模式正常結束：結束碼 0，[摘要] 是最後一行"
    else
        fail dpdk.echo_pcap.exit "echo 模式的結束" "結束碼 0、[摘要] 最後一行" "結束碼 $rc、$(last_line "$log" | dpdk_clip 60)"
        show_log "$log"; return 0
    fi
    if cmp=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/echo_expected.pcap" "$out" 2>&1); then
        pass dpdk.echo_pcap "echo 回覆與預期逐位元組相同（MAC、IPv4/IPv6 位址、UDP 埠對調，檢查和不必重算；$cmp）"
    else
        fail dpdk.echo_pcap "echo 回覆與預期不同" "echo_expected.pcap" "$cmp"; show_log "$log"
    fi
    local want got k
    want=""; got=""
    for k in frames answered malformed not_echo refused; do
        want+="$(sed -n "s/^$k=//p" "$dir/echo_expected.txt")/"
    done
    got="$(summary_get "$log" rx_packets)/$(summary_get "$log" tx_packets)/$(summary_get "$log" malformed)/$(summary_get "$log" not_echo)/$(summary_get "$log" refused)/"
    check_eq dpdk.echo_pcap.counts "[摘要] rx_packets/tx_packets/malformed/not_echo/refused（malformed 與非 echo 流量都不回應）" "$want" "$got"
    local nr
    nr=$(summary_get "$log" refused)
    if [ "${nr:-0}" -gt 0 ] && [ "$(summary_get "$log" dropped)" == "$(($(summary_get "$log" not_echo) + nr))" ]; then
        pass dpdk.echo_pcap.loop_guard "迴圈保護：來源埠 = echo 埠（IPv4/IPv6）或 < 1024 的 $nr 個都不回應（refused），dropped = not_echo + refused"
    else
        fail dpdk.echo_pcap.loop_guard "迴圈保護" "refused > 0、dropped = not_echo + refused" "refused=$nr dropped=$(summary_get "$log" dropped)"
    fi
}

# dpdk_t_echo_veth DRIVER：netns kbdpdk-e（198.18.3.2）的 UDP 客戶端（build/tools/udp_echo_client，逐位元組檢查每個回音）
# 經 veth 送到 198.18.3.1:19000；根 namespace 那一端 kbdpdk-e0 由 DPDK 以 DRIVER 接上，--mode echo 回應。
# echo 模式不回 ARP：客戶端放一筆靜態的鄰居項目；客戶端不做 checksum offload（每個封包帶完整的 UDP 檢查和）。
# kbdpdk-e0 沒有 IP、不轉送（forwarding=0）：net_af_packet 時核心也看得到這些封包，但不會回應或轉出去。
dpdk_t_echo_veth() {
    local drv=$1 name="dpdk.echo_veth_$1"
    dpdk_need_env "$name" || return 0
    [ -x "$(tool udp_echo_client)" ] || { skip "$name" "build/tools/udp_echo_client 沒有編譯出來（make tools）"; return 0; }
    need_cmd ethtool "$name" ethtool || return 0
    local ns=kbdpdk-e dif=kbdpdk-e0 hif=kbdpdk-e1 log=$WORK/dpdk-echo-$drv.log
    netns_add "$ns"
    veth_add "$dif" "" "$hif" "$ns"
    sysctl -qw "net.ipv6.conf.$dif.disable_ipv6=1" "net.ipv4.conf.$dif.forwarding=0"
    nsx "$ns" sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
    nsx "$ns" ip addr add 198.18.3.2/24 dev "$hif"
    nsx "$ns" ethtool -K "$hif" tx off >/dev/null
    nsx "$ns" ip neigh replace 198.18.3.1 lladdr "$(cat "/sys/class/net/$dif/address")" dev "$hif" nud permanent
    local vdev="net_af_packet0,iface=$dif"
    [ "$drv" != af_xdp ] || vdev="net_af_xdp0,iface=$dif"
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --vdev "$vdev" -- --mode echo --udp-port 19000
    local pid=$BG_PID
    if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then fail "$name" "程式沒有印出 [就緒]"; show_log "$log"; return 0; fi
    local size res="" bad=() crc
    for size in 64 1472; do
        crc=0
        res=$(nsx "$ns" "$(tool udp_echo_client)" --server 198.18.3.1:19000 --closed --samples 2000 --size "$size" \
            --timeout-ms 200 --max-seconds 20 2>&1 | grep '^\[摘要\]') || crc=$?
        local got lost corrupt
        got=$(tr ' ' '\n' <<<"$res" | sed -n 's/^samples=//p')
        lost=$(tr ' ' '\n' <<<"$res" | sed -n 's/^lost=//p')
        corrupt=$(tr ' ' '\n' <<<"$res" | sed -n 's/^corrupt=//p')
        [ "$crc" == 0 ] && [ "${got:-0}" -ge 1990 ] && [ "$corrupt" == 0 ] ||
            bad+=("$size B：結束碼 $crc、回音 ${got:-?}/2000、lost ${lost:-?}、corrupt ${corrupt:-?}")
    done
    kill -INT "$pid"
    local erc=0
    wait_exit "$pid" 10 || erc=$?
    [ "$erc" == 0 ] || bad+=("程式結束碼 $erc")
    if [ ${#bad[@]} == 0 ]; then
        pass "$name" "netns 的 UDP 客戶端經 veth + $drv：64 B 與 1472 B 各 2000 個請求一次一個，回音逐位元組正確（[摘要] tx_packets=$(summary_get "$log" tx_packets)），SIGINT 後結束碼 0"
    else
        fail "$name" "經 $drv 的 echo：$(printf '%s；' "${bad[@]}")"; show_log "$log"
    fi
}

# ---------------------------------------------------------------- telemetry、擷取、延遲（issue 15）
# dpdk_tel PREFIX CMD [ARGS...]：用 dpdk_frames.py 的最小用戶端問 /var/run/dpdk/PREFIX/dpdk_telemetry.v2，每個 key 一行 key=value
dpdk_tel() {
    local prefix=$1 cmd=$2
    shift 2
    "$DPDK_PY" "$DPDK_FRAMES" telemetry "/var/run/dpdk/$prefix/dpdk_telemetry.v2" "$cmd" "$@"
}

# telemetry：執行中從 /kb/stats 讀到的計數必須與最後的 [摘要] 相同，[摘要] 的每個計數 key（速率與秒數以外）/kb/stats 都要有，
# /ethdev/stats,0 在旁邊也看得到，dpdk-telemetry.py 也列得出來。
# classify 模式重播 in.pcap（有 malformed 與各種分類）；不給 --duration，等 /kb/stats 的 rx_packets 到齊再讀，讀的時候程式還在跑。
# NAME 之後的參數加在程式選項後面：dpdk.telemetry_flow 加 --flow（net_pcap 沒有 rte_flow，--flow-optional 讓它照跑），
# 於是 [摘要] 多了 flow_rules、rxq0、flow_marked、mark_N、mark_other，/kb/stats 也要有。
dpdk_t_telemetry() { # NAME [程式選項...]
    local name=$1
    shift
    dpdk_need_env "$name" || return 0
    local dir=$WORK/dpdk-frames log=$WORK/$name.log prefix=kbdpdk-tel$$ tel=$WORK/$name.txt
    dpdk_gen "$dir"
    defer "rm -f /dev/hugepages/${prefix}map_*; rm -rf /var/run/dpdk/$prefix"
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$WORK/$name-out.pcap" -- --mode classify "$@"
    local pid=$BG_PID frames
    frames=$(dpdk_expect "$dir" frames)
    if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then fail "$name" "沒有 [就緒]"; show_log "$log"; return 0; fi
    if ! dpdk_tel "$prefix" /kb/stats --until "rx_packets=$frames" --timeout 10 >"$tel" 2>&1; then
        fail "$name" "/kb/stats 的 rx_packets" "$frames" "$(tr '\n' ' ' <"$tel" | dpdk_clip 200)"; show_log "$log"; return 0
    fi
    local eth cli alive=no
    eth=$(dpdk_tel "$prefix" /ethdev/stats,0 2>&1 | sed -n 's/^ipackets=//p')
    cli=$(echo /kb/stats | run_timeout 10 /usr/bin/dpdk-telemetry.py -f "$prefix" 2>&1 | grep -o '"rx_packets": [0-9]*' || true)
    kill -0 "$pid" 2>/dev/null && alive=yes
    kill -TERM "$pid"
    local rc=0
    wait_exit "$pid" 10 || rc=$?
    if [ "$rc" != 0 ] || ! last_line "$log" | grep -q '^\[摘要\]'; then
        fail "$name" "結束碼與 [摘要]" "0、[摘要] 最後一行" "$rc"; show_log "$log"; return 0
    fi
    local k v want diff="" n=0
    while IFS='=' read -r k v; do
        case $k in mode | ports | workers | rx_bytes | tx_bytes) continue ;; esac
        want=$(summary_get "$log" "$k")
        n=$((n + 1))
        [ "$want" == "$v" ] || diff+=" $k：/kb/stats $v、[摘要] ${want:-（沒有）};"
    done <"$tel"
    # 反過來：[摘要] 的計數 key（速率、秒數、mode 以外）都要在 /kb/stats 裡
    for k in $(grep '\[摘要\]' "$log" | tail -n 1 | tr ' ' '\n' | sed -n 's/^\([a-z0-9_]*\)=.*/\1/p'); do
        case $k in mode | seconds | rx_pps | tx_pps | rx_mbps | tx_mbps) continue ;; esac
        grep -q "^$k=" "$tel" || diff+=" $k：[摘要] 有、/kb/stats 沒有;"
    done
    if [ -z "$diff" ] && [ "$n" -ge 16 ] && [ "$alive" == yes ]; then
        pass "$name" "執行中 /kb/stats 的 $n 個計數與最後的 [摘要] 相同（rx_packets=$frames malformed=$(summary_get "$log" malformed) cls_vlan=$(summary_get "$log" cls_vlan)…$([ -z "$(summary_get "$log" rxq0)" ] || echo "；flow_rules=$(summary_get "$log" flow_rules) rxq0=$(summary_get "$log" rxq0) mark_other=$(summary_get "$log" mark_other)")）"
    else
        fail "$name" "/kb/stats 與 [摘要] 不符（比了 $n 個 key，讀的時候程式還在跑：$alive）：$diff"; show_log "$log"
    fi
    check_eq "$name.ethdev" "同一個 telemetry socket 的 /ethdev/stats,0 ipackets" "$frames" "$eth"
    check_eq "$name.cli" "dpdk-telemetry.py -f $prefix 的 /kb/stats" "\"rx_packets\": $frames" "$cli"
}

# 擷取：程式在多行程模式（--file-prefix、hugepage）下呼叫了 rte_pdump_init，dpdk-pdump（secondary）才能擷取。
# 用 veth 而不是 net_pcap 重播：擷取要在流量開始之前接上（pcap 重播在 [就緒] 之後立刻跑完），而且 secondary 會自己再開一次
# vdev 參數裡的 pcap 檔。測試主機（netns）重播 200 個 frame（寫成 sent.pcap）；擷取到的 RX 必須與 sent.pcap 逐位元組相同、
# 同順序，TX 必須是每個 frame 對調 MAC。
dpdk_t_pdump() {
    dpdk_need_env dpdk.pdump || return 0
    need_cmd dpdk-pdump dpdk.pdump dpdk-dev || return 0
    local ns=kbdpdk-hp dif=kbdpdk-p0 hif=kbdpdk-p1 prefix=kbdpdk-pd$$ log=$WORK/dpdk-pdump.log plog=$WORK/dpdk-pdump-tool.log
    local crx=$WORK/dpdk-pdump-rx.pcap ctx=$WORK/dpdk-pdump-tx.pcap sent=$WORK/dpdk-pdump-sent.pcap n=200
    rm -f "$crx" "$ctx"
    defer "rm -f /dev/hugepages/${prefix}map_*; rm -rf /var/run/dpdk/$prefix"
    netns_add "$ns"
    veth_add "$dif" "" "$hif" "$ns"
    sysctl -qw "net.ipv6.conf.$dif.disable_ipv6=1"
    nsx "$ns" sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
    local dmac hmac
    dmac=$(cat "/sys/class/net/$dif/address")
    hmac=$(nsx "$ns" cat "/sys/class/net/$hif/address")
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --file-prefix "$prefix" --vdev "net_af_packet0,iface=$dif" -- --mode macswap
    local pid=$BG_PID
    if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then fail dpdk.pdump "沒有 [就緒]"; show_log "$log"; return 0; fi
    # secondary：同樣的 --file-prefix；stdbuf 讓它的「capture for」在開始擷取時就寫進 log
    bg_start "$plog" stdbuf -oL dpdk-pdump -l 0 --no-pci --file-prefix "$prefix" -- \
        --pdump "port=0,queue=*,rx-dev=$crx,tx-dev=$ctx"
    local ppid=$BG_PID
    if ! wait_marker "$plog" 'capture for' 20 "$ppid"; then
        fail dpdk.pdump "dpdk-pdump 沒有開始擷取" "capture for (1) tuples" "$(grep -v '^EAL: Detected' "$plog" | tail -n 3 | tr '\n' ' ' | dpdk_clip 200)"
        show_log "$log"; return 0
    fi
    nsx "$ns" "$DPDK_PY" "$DPDK_FRAMES" send "$hif" "$hmac" "$dmac" "$n" "$sent" >/dev/null
    # 程式送出全部之後才停 dpdk-pdump（它在 SIGINT 時把 ring 裡剩下的寫完）
    dpdk_tel "$prefix" /kb/stats --until "tx_packets=$n" --timeout 10 >/dev/null 2>&1 || true
    local prc=0 rc=0
    kill -INT "$ppid"
    wait_exit "$ppid" 10 || prc=$?
    kill -TERM "$pid"
    wait_exit "$pid" 10 || rc=$?
    local rxres txres
    rxres=$("$DPDK_PY" "$DPDK_FRAMES" compare "$sent" "$crx" 2>&1) || true
    txres=$("$DPDK_PY" "$DPDK_FRAMES" check-swapped "$sent" "$ctx" 2>&1) || true
    if [[ "$rxres" == 相同* ]] && [[ "$txres" == *"matched=$n extra=0 recv=$n in_order=1"* ]] && [ "$prc" == 0 ] && [ "$rc" == 0 ]; then
        pass dpdk.pdump "dpdk-pdump（secondary，--file-prefix $prefix）擷取：RX 與測試主機送出的 $n 個 frame 逐位元組相同（$rxres），TX 是它們對調 MAC（$txres）"
    else
        fail dpdk.pdump "擷取的內容" "RX = sent.pcap、TX = 對調 MAC、兩個行程結束碼 0" "RX：$rxres；TX：$txres；dpdk-pdump $prc、程式 $rc"
        show_log "$log"; show_log "$plog" 8
    fi
}

# --latency：pcap 重播經過 macswap，[摘要] 多了 lat_*：樣本數 = 送出的 frame 數、p50 與 p99 為正、p50 ≤ p99 ≤ max；
# 輸出仍與預期逐位元組相同（回呼只讀時間戳）；沒加 --latency 時 [摘要] 沒有 lat_*（預設路徑不變）
dpdk_t_latency() {
    dpdk_need_env dpdk.latency || return 0
    local dir=$WORK/dpdk-frames log=$WORK/dpdk-lat.log out=$WORK/dpdk-lat-out.pcap rc=0
    dpdk_gen "$dir"
    dpdk_run "$log" 30 "${DPDK_EAL[@]}" --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$out" -- --mode macswap --latency --duration 1 || rc=$?
    if [ "$rc" != 0 ]; then fail dpdk.latency "結束碼" 0 "$rc"; show_log "$log"; return 0; fi
    local s p50 p99 max valid
    s=$(summary_get "$log" lat_samples); p50=$(summary_get "$log" lat_p50_ns)
    p99=$(summary_get "$log" lat_p99_ns); max=$(summary_get "$log" lat_max_ns)
    valid=$(dpdk_expect "$dir" valid)
    if [ -n "$p50" ] && [ -n "$p99" ] && [ -n "$max" ] && [ "$s" == "$valid" ] && [ "$p50" -gt 0 ] && [ "$p50" -le "$p99" ] && [ "$p99" -le "$max" ]; then
        pass dpdk.latency "--latency：lat_samples=$s（= 送出的 frame 數）lat_p50_ns=$p50 ≤ lat_p99_ns=$p99 ≤ lat_max_ns=$max"
    else
        fail dpdk.latency "[摘要] 的 lat_*" "lat_samples=$valid、0 < p50 ≤ p99 ≤ max" "lat_samples=$s p50=$p50 p99=$p99 max=$max"; show_log "$log"
    fi
    local cmp
    if cmp=$("$DPDK_PY" "$DPDK_FRAMES" compare "$dir/expected_macswap.pcap" "$out" 2>&1); then
        pass dpdk.latency.bytes "--latency 不改 frame：輸出與 macswap 的預期逐位元組相同（$cmp）"
    else
        fail dpdk.latency.bytes "--latency 的輸出與預期不同" "expected_macswap.pcap" "$cmp"
    fi
    local plain=$WORK/dpdk-pcap-macswap.log
    if [ -f "$plain" ]; then
        if grep '\[摘要\]' "$plain" | grep -q ' lat_'; then
            fail dpdk.latency.default_off "沒加 --latency 的 [摘要] 有 lat_*" "沒有 lat_*" "$(grep -o ' lat_[a-z0-9_]*=[0-9]*' "$plain" | tr -d '\n')"
        else
            pass dpdk.latency.default_off "沒加 --latency 時 [摘要] 沒有 lat_*，不登記回呼（預設路徑不變）"
        fi
    fi
}

# ---------------------------------------------------------------- 收尾與 hugepage
# dpdk_t_signal SIG：SIGINT/SIGTERM → 結束碼 0、[摘要] 最後一行、/dev/hugepages 沒有新檔案
dpdk_t_signal() {
    local sig=$1 name="dpdk.signal_${1,,}"
    dpdk_need_env "$name" || return 0
    local log=$WORK/dpdk-sig-$sig.log before after
    before=$(dpdk_huge_files)
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --vdev net_null0 --vdev net_null1 -- --mode io
    local pid=$BG_PID
    if ! wait_marker "$log" '\[統計\]' 20 "$pid"; then
        fail "$name" "程式沒有開始印 [統計]"; show_log "$log"; return 0
    fi
    kill -s "$sig" "$pid"
    local rc=0
    wait_exit "$pid" 10 || rc=$?
    after=$(dpdk_huge_files)
    if [ "$rc" == 0 ] && last_line "$log" | grep -q '^\[摘要\]' && [ "$(summary_get "$log" tx_packets)" -gt 0 ]; then
        pass "$name" "SIG$sig：結束碼 0，[摘要] 是最後一行（tx_packets=$(summary_get "$log" tx_packets)）"
    else
        fail "$name" "SIG$sig 後的收尾" "結束碼 0 且 [摘要] 最後一行" "結束碼 $rc，最後一行：$(last_line "$log" | dpdk_clip 60)"
        show_log "$log"
    fi
    check_eq "$name.hugepages" "結束後 /dev/hugepages 的檔案數（--in-memory）" "$before" "$after"
}

# --file-prefix（多行程模式）：DPDK 會留下 <prefix>map_N，程式在 rte_eal_cleanup() 後刪掉
dpdk_t_file_prefix() {
    dpdk_need_env dpdk.file_prefix || return 0
    local log=$WORK/dpdk-fp.log rc=0 prefix=kbdpdk-fp$$ left
    defer "rm -f /dev/hugepages/${prefix}map_*; rm -rf /var/run/dpdk/$prefix"
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --file-prefix "$prefix" --vdev net_null0 -- --mode drop
    local pid=$BG_PID
    if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then fail dpdk.file_prefix "沒有 [就緒]"; show_log "$log"; return 0; fi
    local during
    during=$(find /dev/hugepages -maxdepth 1 -name "${prefix}map_*" | wc -l)
    kill -TERM "$pid"
    wait_exit "$pid" 10 || rc=$?
    left=$(find /dev/hugepages -maxdepth 1 -name "${prefix}map_*" | wc -l)
    if [ "$rc" == 0 ] && [ "$during" -gt 0 ] && [ "$left" == 0 ] && [ ! -e "/var/run/dpdk/$prefix" ]; then
        pass dpdk.file_prefix "--file-prefix：執行中有 $during 個 hugepage 檔案，結束後 0 個，/var/run/dpdk/$prefix 已刪除"
    else
        fail dpdk.file_prefix "--file-prefix 的收尾" "執行中 >0 個、結束後 0 個、結束碼 0" "執行中 $during、結束後 $left、結束碼 $rc"
        show_log "$log"
    fi
}

# dpdk_in_private_run LOG CMD...：在私有的 mount namespace 裡執行 CMD，/run（/var/run 指向它）換成一個新的 tmpfs，
# 裡面放一個哨兵檔 kbdpdk-canary。程式就算把 /run 底下全刪了，刪的也只是這個 tmpfs；真正的 /run 看不到也碰不到。
# tmpfs 沒掛上就不執行 CMD（結束碼 90）。注意：值不能有兩層以上的 ..（/var/run/dpdk/../.. 會走出 tmpfs，回到真正的 /）。LOG 的最後一行是 CANARY=alive|gone，接著 RUNDIR=（/run/dpdk 底下剩下的項目）。
dpdk_in_private_run() {
    local log=$1 rc=0
    shift
    # shellcheck disable=SC2016 # $@ 等變數由內層的 sh 展開
    run_timeout 30 unshare --mount --propagation private sh -c '
        mount -t tmpfs kbdpdk-run /run || exit 90
        [ -L /var/run ] || mount -t tmpfs kbdpdk-varrun /var/run || exit 90
        [ "$(findmnt -n -o FSTYPE -T /run)" = tmpfs ] && [ "$(findmnt -n -o FSTYPE -T /var/run/.)" = tmpfs ] || exit 90
        echo canary >/var/run/kbdpdk-canary
        rc=0; "$@" || rc=$?
        if [ -e /var/run/kbdpdk-canary ]; then echo CANARY=alive; else echo CANARY=gone; fi
        echo "RUNDIR=$(ls -A /var/run/dpdk 2>/dev/null | tr "\n" " ")"
        exit $rc' sh "$@" >"$log" 2>&1 || rc=$?
    return "$rc"
}

# --file-prefix 不能讓程式刪到 DPDK 執行目錄以外的東西（issue 11 第 1 項）：
# 舊版的收尾刪 /var/run/dpdk/<prefix>，prefix 是 .. 就是 /var/run 整個。這裡在私有的 tmpfs /run 裡試（見 dpdk_in_private_run）：
# 每個不合理的 prefix 都必須在 rte_eal_init 之前以結束碼 2 拒絕、有中文說明，哨兵檔還在；合理的 prefix 照常執行，
# 結束後哨兵還在、/var/run/dpdk/<prefix> 已刪除。
dpdk_t_prefix_escape() {
    dpdk_need_env dpdk.file_prefix_escape || return 0
    local bad=() v log=$WORK/dpdk-prefix-escape.log rc out canary
    local eal=(-l 0-1 --no-pci --no-huge -m 64 --vdev net_null0)
    for v in .. . 'a/b' '../x' 'x/..' '' ' ' 'x y' 'a*' "$(printf 'x%.0s' {1..40})"; do
        rc=0
        dpdk_in_private_run "$log" "$(dpdk_bin)" "${eal[@]}" --file-prefix "$v" -- --duration 0.2 || rc=$?
        canary=$(sed -n 's/^CANARY=//p' "$log")
        out=$(grep -m1 '錯誤：' "$log" | dpdk_clip 50 || true)
        if [ "$rc" == 90 ]; then bad+=("「$v」：私有的 /run 沒有掛上，沒有執行"); continue; fi
        if [ "$canary" != alive ]; then bad+=("「$v」：/run 的哨兵檔被刪了（結束碼 $rc）"); continue; fi
        [ "$rc" == 2 ] && [ -n "$out" ] || bad+=("「$v」：結束碼 $rc（預期 2 與「錯誤：」訊息）")
    done
    # 同樣的檢查，用 --file-prefix=VALUE 的寫法
    rc=0
    dpdk_in_private_run "$log" "$(dpdk_bin)" "${eal[@]}" --file-prefix=.. -- --duration 0.2 || rc=$?
    canary=$(sed -n 's/^CANARY=//p' "$log")
    [ "$rc" == 2 ] && [ "$canary" == alive ] || bad+=("「--file-prefix=..」：結束碼 $rc、哨兵 $canary")
    if [ ${#bad[@]} == 0 ]; then
        pass dpdk.file_prefix_escape "11 個不合理的 --file-prefix（..、.、a/b、空字串、空白、40 字元…）都在 EAL 之前以結束碼 2 拒絕，私有 /run 的哨兵檔都還在"
    else
        fail dpdk.file_prefix_escape "不合理的 --file-prefix：$(IFS='；'; echo "${bad[*]}")"; show_log "$log"
    fi
    # 合理的 prefix：照常執行，收尾只刪自己的執行目錄
    rc=0
    dpdk_in_private_run "$log" "$(dpdk_bin)" "${eal[@]}" --file-prefix kbdpdk-ok_1 -- --duration 0.2 || rc=$?
    canary=$(sed -n 's/^CANARY=//p' "$log")
    local left
    left=$(sed -n 's/^RUNDIR=//p' "$log")
    if [ "$rc" == 0 ] && [ "$canary" == alive ] && [ -z "${left// /}" ]; then
        pass dpdk.file_prefix_own_dir "--file-prefix kbdpdk-ok_1：結束碼 0，哨兵檔還在，/var/run/dpdk 底下沒有留下任何目錄"
    else
        fail dpdk.file_prefix_own_dir "合理的 --file-prefix" "結束碼 0、哨兵 alive、/var/run/dpdk 空" "結束碼 $rc、哨兵 $canary、剩下「$left」"
        show_log "$log"
    fi
}

# dpdk_prefix_left PREFIX：這個 prefix 留下的 hugepage 檔案數與執行目錄（「檔案數/有或無」）
dpdk_prefix_left() {
    local n d=無
    n=$(find /dev/hugepages -maxdepth 1 -name "$1map_*" 2>/dev/null | wc -l)
    [ ! -e "/var/run/dpdk/$1" ] || d=有
    echo "$n/$d"
}

# 啟動途中的 SIGINT/SIGTERM（issue 11 第 10 項）：rx_pcap 是一個 FIFO，net_pcap 在 rte_eal_init 探測裝置時開它，
# 沒有寫入端就卡在 open()（/proc/PID/wchan = wait_for_partner）——這時 hugepage 檔案與執行目錄都已經建好。
# 送出信號後才把 pcap 寫進 FIFO：程式必須走正常的收尾（結束碼 0、說明啟動途中停止），不留 hugepage 檔案與執行目錄；
# 舊版在 rte_eal_init 之後才裝信號處理函式，會被預設動作直接殺掉，檔案全留著。
dpdk_t_signal_startup() {
    local sig=$1 name="dpdk.signal_startup_${1,,}"
    dpdk_need_env "$name" || return 0
    local dir=$WORK/dpdk-frames fifo=$WORK/dpdk-startup-$sig.fifo log=$WORK/dpdk-startup-$sig.log prefix=kbdpdk-st$$ rc=0
    dpdk_gen "$dir"
    mkfifo "$fifo"
    defer "rm -f /dev/hugepages/${prefix}map_*; rm -rf /var/run/dpdk/$prefix"
    bg_start "$log" "$(dpdk_bin)" "${DPDK_EAL[@]}" --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$fifo,tx_pcap=$WORK/dpdk-startup-$sig.pcap" -- --mode io --duration 5
    local pid=$BG_PID deadline=$((SECONDS + 20))
    while [ "$(cat "/proc/$pid/wchan" 2>/dev/null)" != wait_for_partner ] && ((SECONDS < deadline)); do sleep 0.05; done
    if [ "$(cat "/proc/$pid/wchan" 2>/dev/null)" != wait_for_partner ]; then
        fail "$name" "程式沒有停在開啟 FIFO 的地方"; show_log "$log"; return 0
    fi
    local during
    during=$(dpdk_prefix_left "$prefix")
    kill -s "$sig" "$pid"
    sleep 0.2
    # shellcheck disable=SC2016 # $1、$2 由內層的 sh 展開
    run_timeout 5 sh -c 'cat "$1" >"$2"' sh "$dir/in.pcap" "$fifo" 2>/dev/null || true # 行程已死時沒有讀取端：逾時
    wait_exit "$pid" 20 || rc=$?
    local left
    left=$(dpdk_prefix_left "$prefix")
    if [ "$rc" == 0 ] && grep -q '啟動途中收到停止信號' "$log" && [ "$left" == "0/無" ]; then
        pass "$name" "rte_eal_init 途中（卡在開 FIFO，當時 hugepage 檔案/執行目錄 = $during）收到 SIG$sig：結束碼 0、「$(grep -m1 '啟動途中' "$log" | dpdk_clip 30)」，收尾後 $left"
    else
        fail "$name" "rte_eal_init 途中收到 SIG$sig" "結束碼 0、說明啟動途中停止、不留 hugepage 檔案與執行目錄（0/無）" \
            "結束碼 $rc、收尾後 hugepage 檔案/執行目錄 = $left（途中 $during）"
        show_log "$log"
    fi
}

# rte_eal_init 之後才發現的錯誤（三個 port 是奇數個，結束碼 2）：--file-prefix 的 hugepage 檔案與執行目錄照樣清掉
dpdk_t_fail_after_eal() {
    dpdk_need_env dpdk.fail_after_eal || return 0
    local log=$WORK/dpdk-fail-after-eal.log prefix=kbdpdk-fa$$ rc=0 left
    defer "rm -f /dev/hugepages/${prefix}map_*; rm -rf /var/run/dpdk/$prefix"
    dpdk_run "$log" 20 "${DPDK_EAL[@]}" --file-prefix "$prefix" --vdev net_null0 --vdev net_null1 --vdev net_null2 \
        -- --duration 1 || rc=$?
    left=$(dpdk_prefix_left "$prefix")
    if [ "$rc" == 2 ] && grep -q '奇數個' "$log" && [ "$left" == "0/無" ]; then
        pass dpdk.fail_after_eal "EAL 之後才發現的錯誤（奇數個 port）：結束碼 2，hugepage 檔案與 /var/run/dpdk/$prefix 都清掉了（$left）"
    else
        fail dpdk.fail_after_eal "EAL 之後的錯誤的收尾" "結束碼 2、「奇數個」、0/無" "結束碼 $rc、$left"; show_log "$log"
    fi
}

# 沒有 hugepage：在私有的 mount namespace 裡把 /sys/kernel/mm/hugepages 蓋成空目錄（不影響其他行程）
dpdk_t_no_hugepages() {
    dpdk_need_env dpdk.no_hugepages || return 0
    local log=$WORK/dpdk-nohuge.log rc=0
    run_timeout 20 unshare -m sh -c 'mount -t tmpfs none /sys/kernel/mm/hugepages && exec "$@"' sh \
        "$(dpdk_bin)" "${DPDK_EAL[@]}" --vdev net_null0 -- --duration 1 >"$log" 2>&1 || rc=$?
    if [ "$rc" == 77 ] && grep -q 'make setup-hugepages' "$log" && grep -q -- '--no-huge' "$log"; then
        pass dpdk.no_hugepages "沒有 hugepage：結束碼 77，訊息提到 make setup-hugepages 與 --no-huge"
    else
        fail dpdk.no_hugepages "沒有 hugepage" "結束碼 77 與提示" "結束碼 $rc"; show_log "$log"
    fi
}

# dpdk_t_bad_eal NAME 說明 預期結束碼 訊息片段 ARGS...
dpdk_t_bad_eal() {
    local name="dpdk.$1" msg=$2 want=$3 text=$4
    shift 4
    dpdk_need_env "$name" || return 0
    local log=$WORK/dpdk-$1.log rc=0
    dpdk_run "$log" 20 "$@" || rc=$?
    if [ "$rc" == "$want" ] && grep -q -- "$text" "$log"; then
        pass "$name" "$msg：結束碼 $want，訊息「$(grep -m1 '錯誤：' "$log" | dpdk_clip 70)…」"
    else
        fail "$name" "$msg" "結束碼 $want 與含「$text」的訊息" "結束碼 $rc"; show_log "$log"
    fi
}

dpdk_t_bad_port_start() {
    dpdk_need_env dpdk.port_start_fail || return 0
    local log=$WORK/dpdk-portfail.log rc=0
    ip link add kbdpdk-f0 type veth peer name kbdpdk-f1
    defer "ip link del kbdpdk-f0"
    # net_af_xdp 的 start_queue=3 在只有 1 個 queue 的 veth 上：建立 XSK 失敗 → queue 設定失敗，port 起不來
    dpdk_run "$log" 20 "${DPDK_EAL[@]}" --vdev net_af_xdp0,iface=kbdpdk-f0,start_queue=3 -- --duration 1 || rc=$?
    if [ "$rc" == 1 ] && grep -q 'port 0（net_af_xdp0）的 rte_eth_' "$log" && grep -q 'Invalid argument' "$log"; then
        pass dpdk.port_start_fail "port 起不來：結束碼 1，訊息指名 port 與 rte_strerror（$(grep -m1 '錯誤：' "$log" | dpdk_clip 80)…）"
    else
        fail dpdk.port_start_fail "port 起不來" "結束碼 1、指名 net_af_xdp0 與 rte_strerror" "結束碼 $rc"; show_log "$log"
    fi
}

# ---------------------------------------------------------------- --flow（rte_flow）：主機上能測的部分（net_tap 的真正分流在 VM：dpdk.flow_vm）
DPDK_FLOW_EAL=(--no-pci --no-huge -m 256)

# dpdk_host_has_flower：這台主機的核心能不能在 multiq qdisc 上裝 flower filter（net_tap 的 rte_flow 需要的）
dpdk_host_has_flower() {
    local ok=1
    ip link add kbdpdk-fl0 type veth peer name kbdpdk-fl1 2>/dev/null || return 1
    tc qdisc add dev kbdpdk-fl0 root handle 1: multiq 2>/dev/null &&
        tc filter add dev kbdpdk-fl0 parent 1: protocol ip flower ip_proto udp dst_port 9000 action drop 2>/dev/null && ok=0
    ip link del kbdpdk-fl0 2>/dev/null || true
    return "$ok"
}

# dpdk.flow_host：主機上的 net_tap。核心沒有 flower（這台主機）：rte_flow_validate 過了、rte_flow_create 被核心拒絕，
# 程式以 77 結束，訊息指名規則、rte_flow_create、驅動的理由與 TC flower 的提示，tap 介面收尾時刪掉；
# 核心有 flower：規則裝得上，flow_rules=2、tc filter show 看得到 flower，結束碼 0。
dpdk_t_flow_host() {
    dpdk_need_env dpdk.flow_host || return 0
    need_cmd tc dpdk.flow_host iproute2 || return 0
    [ -f "$(dpdk_flow_pmds)/librte_net_tap.so" ] || { skip dpdk.flow_host "找不到 net_tap 驅動（Debian 套件 librte-net-tap23）"; return 0; }
    local log=$WORK/dpdk-flow-host.log rc=0 iface=kbdpdk-tap0
    defer "ip link del $iface"
    if dpdk_host_has_flower; then
        bg_start "$log" "$(dpdk_bin)" --lcores '0@0,1@0,2@1' "${DPDK_FLOW_EAL[@]}" --vdev "net_tap0,iface=$iface" \
            -- --mode drop --flow udp-dport=9000,queue=1 --flow src=198.18.3.9,drop
        local pid=$BG_PID
        if ! wait_marker "$log" '\[就緒\]' 20 "$pid"; then fail dpdk.flow_host "核心有 flower，但程式沒有就緒"; show_log "$log"; return 0; fi
        local n
        n=$(tc filter show dev "$iface" | grep -c 'flower chain [0-9]* handle' || true)
        kill -INT "$pid"
        wait_exit "$pid" 10 || rc=$?
        if [ "$rc" == 0 ] && [ "$n" == 2 ] && [ "$(summary_get "$log" flow_rules)" == 2 ]; then
            pass dpdk.flow_host "這台主機的核心有 TC flower：2 條規則裝上（tc filter show 有 2 個 flower filter），結束碼 0"
        else
            fail dpdk.flow_host "有 flower 的核心上裝規則" "結束碼 0、2 個 flower filter、flow_rules=2" "結束碼 $rc、$n 個、flow_rules=$(summary_get "$log" flow_rules)"
            show_log "$log"
        fi
        return 0
    fi
    dpdk_run "$log" 30 --lcores '0@0,1@0,2@1' "${DPDK_FLOW_EAL[@]}" --vdev "net_tap0,iface=$iface" \
        -- --mode drop --flow udp-dport=9000,queue=1 --flow src=198.18.3.9,drop --duration 1 || rc=$?
    local left=no
    ! ip link show "$iface" >/dev/null 2>&1 || left=yes
    if [ "$rc" == 77 ] && grep -q '拒絕 --flow 規則 1「udp-dport=9000,queue=1」：rte_flow_create 失敗' "$log" &&
        grep -q 'cls_flower' "$log" && grep -q 'tap_nl_dump_ext_ack' "$log" && [ "$left" == no ] && ! grep -q '\[摘要\]' "$log"; then
        pass dpdk.flow_host "這台主機的核心沒有 TC flower/multiq：net_tap 的 rte_flow_validate 過了、rte_flow_create 被拒，結束碼 77，「$(grep -m1 '錯誤：' "$log" | dpdk_clip 110)…」，收尾後 $iface 已刪除"
    else
        fail dpdk.flow_host "沒有 flower 的核心上的 net_tap" "結束碼 77、指名 rte_flow_create 與 cls_flower、tap 介面刪除" "結束碼 $rc、介面還在：$left"
        show_log "$log"
    fi
}

# dpdk.flow_no_api：net_null、net_ring 沒有 rte_flow（rte_flow_validate 回 ENOSYS）：77 與中文說明
dpdk_t_flow_no_api() {
    dpdk_need_env dpdk.flow_no_api || return 0
    local vdev bad=() log rc
    for vdev in net_null0 net_ring0; do
        log=$WORK/dpdk-flow-noapi-$vdev.log rc=0
        dpdk_run "$log" 20 -l 0-1 "${DPDK_FLOW_EAL[@]}" --vdev "$vdev" -- --mode io --flow dst=198.18.3.1,mark=7 --duration 1 || rc=$?
        if [ "$rc" != 77 ] || ! grep -q "拒絕 --flow 規則 1「dst=198.18.3.1,mark=7」：rte_flow_validate 失敗" "$log" ||
            ! grep -q '沒有實作 rte_flow' "$log"; then
            bad+=("$vdev：結束碼 $rc")
            show_log "$log" 5
        fi
    done
    if [ ${#bad[@]} == 0 ]; then
        pass dpdk.flow_no_api "net_null、net_ring 沒有 rte_flow：rte_flow_validate 失敗、結束碼 77，「$(grep -m1 '錯誤：' "$log" | dpdk_clip 90)…」"
    else
        fail dpdk.flow_no_api "沒有 rte_flow 的驅動" "結束碼 77 與「沒有實作 rte_flow」" "$(IFS='；'; echo "${bad[*]}")"
    fi
}

# dpdk.flow_rxq：queue=N 必須小於 rx queue 數（= worker 數與驅動上限取小）——1 個 worker 時 queue=1 在 port 啟動前以 2 拒絕；
# 2 個 worker 時 queue=1 通過這個檢查（之後 net_null 沒有 rte_flow，77）
dpdk_t_flow_rxq() {
    dpdk_need_env dpdk.flow_rxq || return 0
    local log=$WORK/dpdk-flow-rxq.log rc=0 rc2=0
    dpdk_run "$log" 20 -l 0-1 "${DPDK_FLOW_EAL[@]}" --vdev net_null0 -- --flow udp-dport=9000,queue=1 --duration 1 || rc=$?
    dpdk_run "$log.2" 20 --lcores '0@0,1@0,2@1' "${DPDK_FLOW_EAL[@]}" --vdev net_null0 -- --flow udp-dport=9000,queue=1 --duration 1 || rc2=$?
    if [ "$rc" == 2 ] && grep -q 'queue=1 超出範圍：port 0（net_null0）只有 1 個 rx queue' "$log" && [ "$rc2" == 77 ]; then
        pass dpdk.flow_rxq "1 個 worker（1 個 rx queue）時 queue=1 以結束碼 2 拒絕（「$(grep -m1 '錯誤：' "$log" | dpdk_clip 70)…」）；2 個 worker 時通過檢查"
    else
        fail dpdk.flow_rxq "queue=N 的範圍檢查" "1 個 worker：結束碼 2 與「超出範圍」；2 個 worker：77（net_null 沒有 rte_flow）" "結束碼 $rc／$rc2"
        show_log "$log"; show_log "$log.2" 5
    fi
}

# dpdk.flow_optional：--flow-optional 時拒絕只是警告，程式照常跑完；每個 rx queue 的計數是 worker 自己數的，
# 加起來等於 rx_packets（net_null 兩個 queue 都會產生流量，所以兩個都 > 0）
dpdk_t_flow_optional() {
    local name=dpdk.flow_optional${DPDK_TAG:-}
    dpdk_need_env "$name" || return 0
    local log=$WORK/dpdk-flow-opt${DPDK_TAG:-}.log rc=0
    dpdk_run "$log" 30 --lcores '0@0,1@0,2@1' "${DPDK_FLOW_EAL[@]}" --vdev net_null0 --vdev net_null1 \
        -- --mode io --flow src=198.18.3.2,drop --flow dst=198.18.3.1,mark=7 --flow-optional --duration 1 || rc=$?
    local rx q0 q1 fr
    rx=$(summary_get "$log" rx_packets) q0=$(summary_get "$log" rxq0) q1=$(summary_get "$log" rxq1) fr=$(summary_get "$log" flow_rules)
    if [ "$rc" == 0 ] && [ "$(grep -c -- '--flow-optional：不裝這條規則' "$log")" == 4 ] && [ "$fr" == 0 ] &&
        [ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] && [ "$rx" == "$((q0 + q1))" ] && [ "$(summary_get "$log" mark_7)" == 0 ]; then
        pass "$name" "--flow-optional：2 個 port × 2 條被拒的規則各一行警告，照常執行，flow_rules=0；rxq0 $q0 + rxq1 $q1 = rx_packets $rx，mark_7=0"
    else
        fail "$name" "--flow-optional" "結束碼 0、4 行警告、flow_rules=0、rxq0+rxq1=rx_packets（兩個都 > 0）" \
            "結束碼 $rc、flow_rules=$fr、rxq0=$q0 rxq1=$q1 rx=$rx"
        show_log "$log"
    fi
}

# 最後：這個群組沒有留下 hugepage 檔案與 /var/run/dpdk 底下的目錄。預設的 --in-memory 執行仍會建空的 /var/run/dpdk/rte
# （EAL 的執行目錄，結束時只剩空目錄）：tests/lib.sh 的 dpdk_check_leftovers 先收掉群組開始時沒有的空目錄再檢查
dpdk_t_leftovers() {
    need_root dpdk.leftovers || return 0
    dpdk_check_leftovers dpdk.leftovers
}

dpdk_full() {
    local m
    for m in io macswap drop classify; do run_test dpdk_t_pcap_mode "$m"; done
    DPDK_TAG=_nohuge run_test dpdk_t_pcap_mode macswap --no-huge -m 128
    if [ -x "$ROOT/build/sanitize/$DPDK_PROG" ]; then
        SANITIZE=1 DPDK_TAG=_ubsan run_test dpdk_t_pcap_mode classify
    else
        run_test skip dpdk.pcap_classify_ubsan "build/sanitize/$DPDK_PROG（UBSan）沒有編譯出來（make sanitize）"
    fi
    run_test dpdk_t_pair
    run_test dpdk_t_portmask
    run_test dpdk_t_two_workers
    run_test dpdk_t_concurrent
    run_test dpdk_t_tx_full
    run_test dpdk_t_veth af_packet
    run_test dpdk_t_veth af_xdp
    run_test dpdk_t_echo_pcap
    run_test dpdk_t_echo_veth af_xdp
    run_test dpdk_t_echo_veth af_packet
    run_test dpdk_t_telemetry dpdk.telemetry
    run_test dpdk_t_telemetry dpdk.telemetry_flow --flow-optional --flow udp-dport=9000,queue=0 --flow dst=198.18.3.1,mark=7
    run_test dpdk_t_pdump
    run_test dpdk_t_latency
    run_test dpdk_t_signal INT
    run_test dpdk_t_signal TERM
    run_test dpdk_t_file_prefix
    run_test dpdk_t_prefix_escape
    run_test dpdk_t_signal_startup INT
    run_test dpdk_t_signal_startup TERM
    run_test dpdk_t_fail_after_eal
    run_test dpdk_t_no_hugepages
    run_test dpdk_t_bad_eal no_ports "沒有任何 port" 77 '--vdev net_null0' "${DPDK_EAL[@]}" -- --duration 1
    run_test dpdk_t_bad_eal bad_eal "錯誤的 EAL 選項" 2 'EAL 選項有誤' "${DPDK_EAL[@]}" --bogus-eal-option --vdev net_null0
    run_test dpdk_t_bad_eal odd_ports "奇數個 port" 2 '奇數個' "${DPDK_EAL[@]}" \
        --vdev net_null0 --vdev net_null1 --vdev net_null2 -- --duration 1
    run_test dpdk_t_bad_eal one_lcore "只有一個 lcore" 2 '至少需要 2 個 lcore' -l 0 --no-pci --vdev net_null0 -- --duration 1
    run_test dpdk_t_bad_port_start
    run_test dpdk_t_flow_host
    run_test dpdk_t_flow_no_api
    run_test dpdk_t_flow_rxq
    run_test dpdk_t_flow_optional
    # 同一個案例用 UBSan 版（-fno-sanitize-recover：有未定義行為就非零結束）：規則解析、validate 被拒、--flow 的熱迴圈、flush
    if [ -x "$ROOT/build/sanitize/$DPDK_PROG" ]; then SANITIZE=1 DPDK_TAG=_ubsan run_test dpdk_t_flow_optional; fi
    run_test dpdk_t_flow_vm
    run_test dpdk_t_leftovers
}

# ---------------------------------------------------------------- make demo
# 1) 兩個 net_null port 上 macswap 3 秒（看每秒的 [統計]）；2) veth 到 netns 測試主機，經 net_af_packet 對調 MAC 送回
dpdk_demo() {
    need_bin "$DPDK_PROG" dpdk.demo || { echo "DEMO|DPDK|略過：dpdk_packet_processing 沒有編譯出來|-|make dpdk"; return 0; }
    local prog=$ROOT/$DPDK_PROG mem=() log=$WORK/demo-dpdk-null.log
    if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" == 0 ]; then
        echo "  沒有空閒的 hugepage，改用 --no-huge -m 256"
        mem=(--no-huge -m 256)
    fi
    echo "  1) $DPDK_PROG -l 0-1 --no-pci ${mem[*]} --vdev net_null0 --vdev net_null1 -- --mode macswap --duration 3"
    run_timeout 30 "$prog" -l 0-1 --no-pci "${mem[@]}" --vdev net_null0 --vdev net_null1 -- --mode macswap --duration 3 \
        >"$log" 2>&1 || true
    grep -E '^\[(就緒|統計)\]' "$log" | dpdk_clip 150 | sed 's/^/     /'
    local mpps
    mpps=$(awk -v v="$(summary_get "$log" tx_pps)" 'BEGIN{printf "%.1f", v/1e6}')

    echo "  2) veth：netns kbdpdk-h（198.18.3.2）⇄ kbdpdk-d0 上的 net_af_packet，macswap"
    local ns=kbdpdk-h dif=kbdpdk-d0 hif=kbdpdk-h0 alog=$WORK/demo-dpdk-afp.log
    netns_add "$ns"
    veth_add "$dif" "" "$hif" "$ns"
    sysctl -qw "net.ipv6.conf.$dif.disable_ipv6=1"
    nsx "$ns" sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
    nsx "$ns" ip addr add 198.18.3.2/24 dev "$hif"
    local dmac hmac
    dmac=$(cat "/sys/class/net/$dif/address")
    hmac=$(nsx "$ns" cat "/sys/class/net/$hif/address")
    bg_start "$alog" "$prog" -l 0-1 --no-pci "${mem[@]}" --vdev "net_af_packet0,iface=$dif" -- --mode macswap
    local pid=$BG_PID res="" cap=$WORK/demo-dpdk-recv.pcap sent=$WORK/demo-dpdk-sent.pcap tlog=$WORK/demo-dpdk-tcpdump.log
    if wait_marker "$alog" '\[就緒\]' 20 "$pid"; then
        dpdk_veth_xchg "$ns" "$hif" "$hmac" "$dmac" 500 "$sent" "$cap" "$tlog" || true
        res=$("$DPDK_PY" "$DPDK_FRAMES" check-swapped "$sent" "$cap" 2>&1 || true)
        echo "     測試主機送出 500 個 frame，收回後比對：$res"
    fi
    kill -INT "$pid" 2>/dev/null || true
    wait_exit "$pid" 10 || true
    grep -E '^\[摘要\]' "$alog" | dpdk_clip 150 | sed 's/^/     /'
    local matched
    matched=$(tr ' ' '\n' <<<"$res" | sed -n 's/^matched=//p')
    echo "DEMO|DPDK|net_null×2 macswap 3 秒；veth→netns 經 net_af_packet 對調 MAC 送回|net_null ${mpps} Mpps；veth ${matched:-0}/500 個 frame 逐位元組相符|README〈3. dpdk_packet_processing〉"
}
