#!/bin/sh
# tests/dpdk_flow_cases.sh — 在測試 VM 裡（Debian 核心，有 sch_multiq、cls_flower、act_gact、act_skbedit）跑
# dpdk_packet_processing --flow。由 tests/dpdk_flow_vm.sh 放進 initramfs，VM 的 /init 以 busybox sh 執行它。
#
# net_tap 的 rte_flow：DPDK 的 RX = 核心從 tap 介面「送出」的 frame，所以規則裝在 tap 的 multiq qdisc（核心的 egress）上，
# flower 比對，gact 丟掉或 skbedit 改 queue_mapping（= tun 的第幾個 queue = DPDK 的第幾個 rx queue）。
# 測試主機就是 VM 自己：tap 介面設 198.18.7.1 與 198.18.7.3，198.18.7.2（DPDK 那一端）有永久的鄰居項目（不送 ARP），
# IPv6 關掉（不送 DAD/MLD），所以 tap 上只有 udp_burst 送的 frame。
# 輸出：@@KB case NAME key=value …（主機端解析）、@@LOG NAME 行（失敗時給人看）、最後 @@KB end。

BIN=/kb/dpdk_packet_processing
BIN_UBSAN=/kb/dpdk_packet_processing_ubsan
BURST=/kb/udp_burst
IF=kbftap0
EAL="--lcores 0@0,1@0,2@1 --no-pci --no-huge -m 256 --vdev net_tap0,iface=$IF"
STEER_PORT=9000   # udp-dport=9000,queue=1
OTHER_PORT=9001   # udp-dport=9001,queue=0
DROP_SRC=198.18.7.3
N_STEER=40 N_OTHER=30 N_DROP=50

log_file() { # NAME FILE：把日誌以 @@LOG 行印出（主機端失敗時顯示）
    sed "s/^/@@LOG $1 /" "$2" | tail -n 40
}

# wait_for FILE PATTERN SECONDS PID
wait_for() {
    i=0
    while [ "$i" -lt $(($3 * 10)) ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null; return; }
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# summary KEY FILE：[摘要] 裡 KEY 的值
summary() { grep '\[摘要\]' "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# case_steer NAME BIN：同一組規則與流量；BIN 是一般版或 UBSan 版（有 UB 就中止，結束碼不是 0，日誌有 runtime error）
case_steer() {
    name=$1 bin=$2 log=/tmp/$1.log
    # shellcheck disable=SC2086 # EAL 故意依空白拆開
    "$bin" $EAL -- --mode drop --flow "udp-dport=$STEER_PORT,queue=1" --flow "udp-dport=$OTHER_PORT,queue=0" \
        --flow "src=$DROP_SRC,drop" >"$log" 2>&1 &
    pid=$!
    if ! wait_for "$log" '\[就緒\]' 60 "$pid"; then
        kill -KILL "$pid" 2>/dev/null
        echo "@@KB case $name ready=no"
        log_file "$name" "$log"
        return
    fi
    iproute2-ip addr add 198.18.7.1/24 dev "$IF"
    iproute2-ip addr add "$DROP_SRC/24" dev "$IF"
    iproute2-ip neigh replace 198.18.7.2 lladdr 02:00:00:00:07:02 dev "$IF" nud permanent
    # 每條規則在 tap 的 multiq qdisc（parent 1:）上是一個 flower filter：數「flower … handle」行
    iproute2-tc filter show dev "$IF" >/tmp/filters.txt 2>&1
    filters=$(grep -c 'flower chain [0-9]* handle' /tmp/filters.txt)
    before=$(cat "/sys/class/net/$IF/statistics/tx_packets")
    "$BURST" --src 198.18.7.1:40000 --dst 198.18.7.2 --dport "$STEER_PORT" --count "$N_STEER" >/tmp/burst1.log 2>&1
    r1=$?
    "$BURST" --src 198.18.7.1:40001 --dst 198.18.7.2 --dport "$OTHER_PORT" --count "$N_OTHER" >/tmp/burst2.log 2>&1
    r2=$?
    "$BURST" --src "$DROP_SRC:40002" --dst 198.18.7.2 --dport 9002 --count "$N_DROP" >/tmp/burst3.log 2>&1
    r3=$?
    # 等核心把 frame 交給 tap（tx_packets：經過 TC、沒被丟的），最多 10 秒；worker 從 tun 讀只是一個 read，再給它一點時間
    want=$((before + N_STEER + N_OTHER))
    i=0
    while [ "$(cat "/sys/class/net/$IF/statistics/tx_packets")" -lt "$want" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sleep 0.5
    tapped=$(($(cat "/sys/class/net/$IF/statistics/tx_packets") - before))
    iproute2-tc -s filter show dev "$IF" >/tmp/filters-stats.txt 2>&1
    # 每個 filter 的動作統計「Sent … bytes N pkt」，依 pref（= 規則順序）排：核心那一邊看到的 40、30、50
    tcpkts=$(awk '/flower chain [0-9]* handle/ {pref = $7} /Sent [0-9]* bytes/ {print pref, $4}' /tmp/filters-stats.txt |
        sort -n | awk '{printf "%s%s", sep, $2; sep = ","}')
    kill -INT "$pid"
    rc=0
    wait "$pid" || rc=$?
    echo "@@KB case $name ready=yes rc=$rc sent=$r1$r2$r3 filters=$filters tapped=$tapped tcpkts=${tcpkts:-none}" \
        "rx=$(summary rx_packets "$log") rxq0=$(summary rxq0 "$log") rxq1=$(summary rxq1 "$log")" \
        "flow_rules=$(summary flow_rules "$log") malformed=$(summary malformed "$log") ubsan=$(grep -c 'runtime error' "$log")"
    log_file "$name" "$log"
    log_file filters /tmp/filters.txt
    log_file filterstats /tmp/filters-stats.txt
    cat /tmp/burst1.log /tmp/burst2.log /tmp/burst3.log | sed 's/^/@@LOG burst /'
}

# net_tap 沒有 mark 動作：rte_flow_validate 就拒絕，程式以 77 結束
case_mark() {
    log=/tmp/mark.log
    rc=0
    # shellcheck disable=SC2086 # EAL 故意依空白拆開
    timeout 60 "$BIN" $EAL -- --mode drop --flow "dst=198.18.7.2,mark=7" --duration 1 >"$log" 2>&1 || rc=$?
    msg=no
    grep -q '拒絕 --flow 規則' "$log" && grep -q 'action not supported' "$log" && msg=yes
    echo "@@KB case mark rc=$rc msg=$msg"
    log_file mark "$log"
}

echo "@@KB cases start"
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
case_steer steer "$BIN"
# UBSan 版（主機上有 build/sanitize/dpdk_packet_processing 時才放進來）：規則解析、net_tap 的 rte_flow_create、--flow 的熱迴圈、flush
if [ -x "$BIN_UBSAN" ]; then case_steer steer_ubsan "$BIN_UBSAN"; fi
case_mark
echo "@@KB end"
