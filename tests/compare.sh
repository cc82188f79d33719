# shellcheck shell=bash
# tests/compare.sh — 同一個 UDP echo 工作負載穿過每一個技術：原始 README 的比較表，實際量出來。
#
# 拓樸：用戶端 namespace kbcmp-c（198.18.6.2，CPU 1）── veth ── 主機的 kbcmp0（198.18.6.1，伺服器在 CPU 0）。
# 每一列換掉的只有伺服器；客戶端永遠是同一個量測儀器 build/tools/udp_echo_client（逐位元組檢查每個回音）：
#   closed：一次一個請求在途，>= 100,000 個樣本的 RTT p50 / p99；
#   open  ：一串提供速率（階梯），每一階一次客戶端執行，量送達率、遺失、p99，以及那一階的
#           伺服器核心 CPU（/proc/stat 的 CPU 0：行程加上 softirq）與伺服器行程的系統呼叫數（perf stat）。
# 客戶端那一端固定設定：不做 checksum offload（每個封包帶完整的 UDP 檢查和，XDP 程式不必補算），
# 掛一個只計數的 XDP_PASS 程式（veth 要有 NAPI 才收得到另一端 XDP_TX / 重導送來的訊框）。
#
# -f：量測儀器本身的測試（對照伺服器逐位元組回音、儀器抓得到被竄改的回音、XDP_TX 上限程式回音正確、
#     不回應來源埠是 echo 埠的封包）。
# -p：比較表（tests/compare_report.py 算中位數與區間、寫 results/compare.csv 與 compare.png）。

CMP_NS=kbcmp-c
CMP_IF=kbcmp0
CMP_PEER=kbcmp1
CMP_SRV=198.18.6.1
CMP_CLI=198.18.6.2
CMP_PORT=19000 # 與 tests/tools/xdp_udp_echo.bpf.c 的 ECHO_PORT 相同
CMP_REPORT=$ROOT/tests/compare_report.py

cmp_need() { # NAME
    need_root "$1" || return 1
    [ -x "$(tool udp_echo_client)" ] && [ -x "$(tool udp_echo_ref)" ] && return 0
    skip "$1" "build/tools/udp_echo_client 或 udp_echo_ref 沒有編譯出來（make tools）"
    return 1
}

# 建立拓樸（defer 收尾）
cmp_topology() {
    netns_add "$CMP_NS"
    veth_add "$CMP_IF" "" "$CMP_PEER" "$CMP_NS"
    ip addr add "$CMP_SRV/24" dev "$CMP_IF"
    ip -n "$CMP_NS" addr add "$CMP_CLI/24" dev "$CMP_PEER"
    nsx "$CMP_NS" ethtool -K "$CMP_PEER" tx off >/dev/null
    ip -n "$CMP_NS" link set dev "$CMP_PEER" xdpdrv obj "$(tool xdp_livegen.bpf.o)" program xdp_pass
    # 固定的 ARP 項目：DPDK 的 echo 不回應 ARP（net_af_xdp 把整個佇列導走、net_af_packet 的列拿掉了位址），
    # 而且第一個樣本不該含 ARP 的時間
    ip -n "$CMP_NS" neigh replace "$CMP_SRV" lladdr "$(cat "/sys/class/net/$CMP_IF/address")" dev "$CMP_PEER" nud permanent
}

# cmp_client ARGS...：在用戶端 namespace、CPU 1 上跑量測儀器
cmp_client() {
    nsx "$CMP_NS" taskset -c 1 "$(tool udp_echo_client)" --server "$CMP_SRV:$CMP_PORT" "$@"
}

# ---------------------------------------------------------------- 伺服器：每一列一種
# cmp_server_start STACK LOG：在 CPU 0 啟動 STACK 的 echo 伺服器並等它就緒；行程的 PID 放在 CMP_PID（沒有行程時為空）
# 可用的 STACK 由 cmp_stacks 列出；還沒有實作的技術不在清單裡。
cmp_stacks() {
    local s=(socket socket_busy_poll xdp_tx)
    [ ! -x "$ROOT/io_uring_async" ] || s+=(io_uring_udp io_uring_udp_sqpoll)
    [ ! -x "$ROOT/af_xdp_socket" ] || s+=(af_xdp af_xdp_busy_poll)
    [ ! -x "$ROOT/dpdk_packet_processing" ] || s+=(dpdk_af_xdp dpdk_af_packet)
    echo "${s[@]}"
}

cmp_server_start() {
    local stack=$1 log=$2
    CMP_PID=
    CMP_MARK=$(cleanup_mark)
    case $stack in
    socket | socket_busy_poll)
        local bp=0
        [ "$stack" == socket ] || bp=50
        bg_start "$log" taskset -c 0 "$(tool udp_echo_ref)" "$CMP_PORT" --busy-poll "$bp"
        CMP_PID=$BG_PID
        wait_marker "$log" '\[就緒\]' 10 "$CMP_PID"
        ;;
    io_uring_udp | io_uring_udp_sqpoll)
        # SQPOLL 的核心執行緒由核心建立在伺服器的 CPU 集合裡（taskset 繼承），它的 CPU 也算在 CPU 0 上
        local extra=()
        [ "$stack" == io_uring_udp ] || extra=(--sqpoll)
        bg_start "$log" taskset -c 0 "$ROOT/io_uring_async" "$CMP_PORT" --udp "${extra[@]}"
        CMP_PID=$BG_PID
        wait_marker "$log" '\[就緒\]' 10 "$CMP_PID"
        ;;
    xdp_tx)
        ip link set dev "$CMP_IF" xdpdrv obj "$(tool xdp_udp_echo.bpf.o)" sec xdp
        defer "ip link set dev $CMP_IF xdpdrv off"
        echo "[就緒] XDP_TX echo 掛在 $CMP_IF" >"$log"
        ;;
    af_xdp | af_xdp_busy_poll)
        local extra=()
        # busy-poll：socket 選項由程式自己設。核心文件建議的 napi_defer_hard_irqs / gro_flush_timeout 這裡不設：
        # veth 的 copy 模式不給 socket NAPI id，忙碌輪詢推不動 NAPI，那兩個值只會讓每批封包多等 gro_flush_timeout
        [ "$stack" != af_xdp_busy_poll ] || extra=(--busy-poll)
        bg_start "$log" taskset -c 0 "$ROOT/af_xdp_socket" "$CMP_IF" 0 --mode echo --udp-port "$CMP_PORT" \
            --pin-cpu 0 --duration 600 --bpf-obj "$ROOT/xdp_redirect.bpf.o" "${extra[@]}"
        CMP_PID=$BG_PID
        wait_marker "$log" '\[就緒\]' 15 "$CMP_PID"
        ;;
    dpdk_af_xdp | dpdk_af_packet)
        # 兩個 lcore 都綁在 CPU 0（main 與忙碌輪詢的 worker）：CPU 1 是客戶端的。-l 0-1 會把 worker 放到客戶端的核心上。
        local vdev=net_af_xdp0,iface=$CMP_IF
        if [ "$stack" == dpdk_af_packet ]; then
            vdev=net_af_packet0,iface=$CMP_IF
            # 介面上有位址時，核心也會收到每個請求並回 ICMP port unreachable：這一列先拿掉位址
            ip addr del "$CMP_SRV/24" dev "$CMP_IF"
            defer "ip addr add $CMP_SRV/24 dev $CMP_IF"
        fi
        bg_start "$log" "$ROOT/dpdk_packet_processing" --lcores '0@0,1@0' --no-pci --file-prefix kbcmp --vdev "$vdev" \
            -- --mode echo --udp-port "$CMP_PORT"
        CMP_PID=$BG_PID
        wait_marker "$log" '\[就緒\]' 30 "$CMP_PID"
        ;;
    *) echo "未知的 stack：$stack" >&2; return 1 ;;
    esac
}

# cmp_server_stop：依相反順序收掉 cmp_server_start 登記的東西（拓樸留著，換下一列）
cmp_server_stop() { cleanup_to "$CMP_MARK"; }

# ---------------------------------------------------------------- 每一階的 CPU 與系統呼叫
# cpu_busy CPU：/proc/stat 裡那顆 CPU 的忙碌 jiffies（user+nice+system+irq+softirq+steal）
cpu_busy() {
    awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# cmp_step RATE SIZE SECONDS OUT：一階 open loop；把 key=value 寫到 OUT
cmp_step() {
    local rate=$1 size=$2 secs=$3 out=$4 c0 c1 a0 a1 perf_pid="" perf_log=$WORK/cmp-perf.txt line
    rm -f "$perf_log"
    if [ -n "$CMP_PID" ] && command -v perf >/dev/null; then
        perf stat -x, -e raw_syscalls:sys_enter -p "$CMP_PID" -o "$perf_log" &
        perf_pid=$!
        sleep 0.3 # 讓 perf 先掛上去（多算的是這 0.3 秒的閒置系統呼叫：忙碌輪詢的列在閒置時也在呼叫，照實算進去）
    fi
    c0=$(cpu_busy 0); a0=$((c0 + $(cpu_busy 1)))
    line=$(cmp_client --open --rates "$rate" --step-seconds "$secs" --size "$size" --timeout-ms 100 | grep '^\[階梯\]' || true)
    c1=$(cpu_busy 0); a1=$((c1 + $(cpu_busy 1)))
    local syscalls=0
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        syscalls=$(awk -F, '/raw_syscalls:sys_enter/ { print ($1 ~ /^[0-9]+$/) ? $1 : 0 }' "$perf_log" 2>/dev/null || echo 0)
    fi
    local received
    received=$(tr ' ' '\n' <<<"$line" | sed -n 's/^received=//p')
    {
        echo "$line" | tr ' ' '\n' | grep '='
        cmp_per_pkt "$((c1 - c0))" "$((a1 - a0))" "${received:-0}"
        awk -v n="${received:-0}" -v s="${syscalls:-0}" 'BEGIN { if (n > 0) printf "syscalls_per_pkt=%.3f\n", s / n; else print "syscalls_per_pkt=nan" }'
    } >"$out"
}

# cmp_per_pkt CPU0_JIFFIES ALL_JIFFIES PACKETS：伺服器核心與兩顆核心的 ns/封包（沒有封包時 nan）
cmp_per_pkt() {
    awk -v c="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        if (n > 0) printf "cpu_ns_per_pkt=%.1f\ncpu_all_ns_per_pkt=%.1f\n", c * 1e9 / hz / n, a * 1e9 / hz / n
        else { print "cpu_ns_per_pkt=nan"; print "cpu_all_ns_per_pkt=nan" } }'
}

kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; } # kv FILE KEY

# cmp_blast RATE SIZE SECONDS OUT：用 LIVE_FRAMES 產生器（核心繞過的發送端）定速送一階，數回音；把 key=value 寫到 OUT。
# socket 客戶端在這台機器上大約送到 15–20 萬 pps 就跟不上（sender_kept_up=no），更快的列要靠它才量得到上限。
# 產生器在用戶端 namespace、CPU 1，從 kbcmp1 以 XDP_TX 送出（來源埠 40000）；回音由 kbcmp1 上計數的 XDP_PASS 程式
# （livegen_cnt）數。沒有 RTT、不逐位元組比對（內容的正確性由 closed loop 與 socket 客戶端的階梯檢查）。
# 定速由 XDP 程式看時鐘做，但每次 test_run 之間有幾十 ms 的空檔，實際送出約是目標的 95 %：
# 這一階的速率記實際送達的 delivered_pps，不記目標；實際送出不到目標的 90 % 算產生器跟不上。
# 伺服器那端沒有 XDP 程式的列（socket、io_uring、DPDK af_packet），veth 要開 GRO 才有 NAPI 收得到 XDP_TX 的訊框。
cmp_blast() {
    local rate=$1 size=$2 secs=$3 out=$4 n0 n1 c0 c1 a0 a1 glog=$WORK/cmp-blast.log sent
    # 計數器讀不到：這一階算不合格（階梯停下），不當成 0
    n0=$(cmp_map_sum livegen_cnt) || { echo "sender_kept_up=no" >"$out"; return 0; }
    c0=$(cpu_busy 0); a0=$((c0 + $(cpu_busy 1)))
    nsx "$CMP_NS" taskset -c 1 "$(tool xdp_livegen)" gen "$CMP_PEER" --rate "$rate" --duration "$secs" \
        --size $((size + 42)) --dst-mac "$(cat "/sys/class/net/$CMP_IF/address")" \
        --src-ip "$CMP_CLI" --dst-ip "$CMP_SRV" --port "$CMP_PORT" --obj "$(tool xdp_livegen.bpf.o)" >"$glog" 2>&1 || true
    sleep 0.2 # 還在路上的回音
    c1=$(cpu_busy 0); a1=$((c1 + $(cpu_busy 1)))
    n1=$(cmp_map_sum livegen_cnt) || { echo "sender_kept_up=no" >"$out"; return 0; }
    sent=$(summary_get "$glog" sent)
    {
        awk -v sent="${sent:-0}" -v got="$((n1 - n0))" -v s="$(summary_get "$glog" seconds)" -v rate="$rate" 'BEGIN {
            if (s <= 0 || sent <= 0) { print "sender_kept_up=no"; exit }
            printf "offered_pps=%d\nsent_pps=%.0f\nsent=%d\nreceived=%d\ndelivered_pps=%.0f\n", rate, sent / s, sent, got, got / s
            printf "loss_pct=%.3f\nsender_kept_up=%s\n", (sent > got ? (sent - got) * 100 / sent : 0), (sent / s >= 0.9 * rate ? "yes" : "no") }'
        cmp_per_pkt "$((c1 - c0))" "$((a1 - a0))" "$((n1 - n0))"
    } >"$out"
}

# ---------------------------------------------------------------- -f：量測儀器本身
compare_t_instrument() {
    cmp_need compare.instrument || return 0
    cmp_topology
    local log=$WORK/cmp-ref.log out
    cmp_server_start socket "$log" || { fail compare.instrument "對照伺服器沒有就緒"; show_log "$log"; return 0; }
    out=$(cmp_client --samples 5000 --size 64 --max-seconds 20 2>&1) || true
    local s l c
    s=$(sed -n 's/.*\[摘要\].* samples=\([0-9]*\).*/\1/p' <<<"$out")
    l=$(sed -n 's/.*\[摘要\].* lost=\([0-9]*\).*/\1/p' <<<"$out")
    c=$(sed -n 's/.*\[摘要\].* corrupt=\([0-9]*\).*/\1/p' <<<"$out")
    check_eq compare.instrument_closed "對照 UDP 伺服器（recvmmsg/sendmmsg）：5000 個 64 B 請求逐位元組回音，樣本/遺失/竄改" \
        "5000/0/0" "$s/$l/$c"
    out=$(cmp_client --open --rates 2000,5000 --step-seconds 1 --size 1472 2>&1) || true
    local steps bad
    steps=$(grep -c '^\[階梯\]' <<<"$out" || true)
    bad=$(grep '^\[階梯\]' <<<"$out" | grep -c -v 'sender_kept_up=yes .*loss_pct=0.000 corrupt=0' || true)
    check_eq compare.instrument_open "open loop 兩階（2000、5000 pps，1472 B）：每一階都照時間表送完、沒有遺失、沒有竄改（階數/不合格的階）" \
        "2/0" "$steps/$bad"
}

# 量測儀器必須抓得到竄改：一個每 7 個就改掉一個位元組的 echo 伺服器
compare_t_detects_corruption() {
    cmp_need compare.detects_corruption || return 0
    cmp_topology
    local log=$WORK/cmp-bad.log out rc=0
    bg_start "$log" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.6.1", int(sys.argv[1])))
s.settimeout(30)
print("[就緒]", flush=True)
n = 0
while True:
    data, peer = s.recvfrom(2048)
    n += 1
    if n % 7 == 0:
        data = data[:-1] + bytes([data[-1] ^ 0x01])
    s.sendto(data, peer)
' "$CMP_PORT"
    wait_marker "$log" '\[就緒\]' 10 "$BG_PID" || { fail compare.detects_corruption "竄改伺服器沒有就緒"; show_log "$log"; return 0; }
    out=$(cmp_client --samples 70 --size 200 --max-seconds 20 2>&1) || rc=$?
    local c
    c=$(sed -n 's/.*\[摘要\].* corrupt=\([0-9]*\).*/\1/p' <<<"$out")
    if [ "$rc" == 1 ] && [ "${c:-0}" -ge 9 ]; then
        pass compare.detects_corruption "每 7 個回音改一個位元組：儀器記下 $c 個竄改，結束碼 1"
    else
        fail compare.detects_corruption "竄改的回音" "結束碼 1、corrupt >= 9" "結束碼 $rc、corrupt=${c:-?}"
        echo "$out" | tail -n 3
    fi
}

# XDP_TX 上限程式：逐位元組回音；來源埠是 echo 埠的偽造封包不回（兩個 echo 互相回應的迴圈）
compare_t_xdp_ceiling() {
    cmp_need compare.xdp_ceiling || return 0
    [ -f "$(tool xdp_udp_echo.bpf.o)" ] || { skip compare.xdp_ceiling "build/tools/xdp_udp_echo.bpf.o 沒有編譯出來"; return 0; }
    cmp_topology
    cmp_server_start xdp_tx "$WORK/cmp-xdp.log"
    local out s c
    out=$(cmp_client --samples 5000 --size 1472 --max-seconds 20 2>&1) || true
    s=$(sed -n 's/.*\[摘要\].* samples=\([0-9]*\).*/\1/p' <<<"$out")
    c=$(sed -n 's/.*\[摘要\].* corrupt=\([0-9]*\).*/\1/p' <<<"$out")
    check_eq compare.xdp_ceiling "XDP_TX echo：5000 個 1472 B 請求逐位元組回音（樣本/竄改）" "5000/0" "${s:-?}/${c:-?}"
    # 偽造：來源埠 = echo 埠。XDP 程式丟掉它，不送回（它的 echo_cnt 計數器只數送回的封包）
    need_cmd bpftool compare.xdp_ceiling_no_loop bpftool || return 0
    local before after
    before=$(cmp_xdp_echo_count)
    nsx "$CMP_NS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.6.2", int(sys.argv[1])))
for _ in range(20):
    s.sendto(b"spoofed-echo-loop", ("198.18.6.1", int(sys.argv[1])))
' "$CMP_PORT"
    after=$(cmp_xdp_echo_count)
    check_eq compare.xdp_ceiling_no_loop "來源埠 = echo 埠的 20 個封包：XDP_TX echo 一個都不回（echo_cnt 增加）" 0 "$((after - before))"
}

# XDP_TX echo 程式送回的封包數（echo_cnt 每 CPU 計數器的和）
cmp_xdp_echo_count() { cmp_map_sum echo_cnt; }

# cmp_map_sum MAP：名為 MAP 的每 CPU 計數器陣列的總和（同名的 map 全部加起來）；讀不到就失敗，不假裝是 0
cmp_map_sum() {
    bpftool -j map dump name "$1" |
        python3 -c 'import json, sys; print(sum(v["value"] for e in json.load(sys.stdin) for v in e["formatted"]["values"]))'
}

compare_full() {
    run_test compare_t_instrument
    run_test compare_t_detects_corruption
    run_test compare_t_xdp_ceiling
}

# ---------------------------------------------------------------- -p：比較表
# 階梯：從 25,000 pps 起每階 ×1.5，遇到第一個不合格的階（遺失 >= 1 %）就停。socket 客戶端跟不上的那一階起，
# 改用 LIVE_FRAMES 產生器（cmp_blast）接著往上量，直到遺失 >= 1 % 或產生器也跟不上（只量 64 B：目標都在 64 B）。
CMP_RATES=(25000 37500 56250 84375 126560 189840 284760 427140 640710 961060 1441590 2162390 3243580)
# 在同一個提供速率比較每一列的 CPU：最高速率那一階各列的速率不同，而且那時伺服器核心都是 100 %，ns/封包只是 1/速率。
# 56,250 pps 是每一列都服務得了的一階；忙碌輪詢的列（AF_XDP busy-poll、DPDK）在任何速率都吃滿一個核心，這裡看得出來。
CMP_FIXED_RATE=56250
CMP_ROUNDS=${CMP_ROUNDS:-3}
CMP_SAMPLES=${CMP_SAMPLES:-100000}
CMP_STEP_S=${CMP_STEP_S:-1}

# 一列、一個大小、一回合：closed loop，然後階梯；結果附加到 $CMP_RAW（round,stack,size,metric,value）
# 與 $CMP_STEPS（round,stack,size,rate,delivered_pps,loss_pct,p99_us）
cmp_measure() { # ROUND STACK SIZE
    local round=$1 stack=$2 size=$3 log=$WORK/cmp-$2.log out=$WORK/cmp-closed.txt st=$WORK/cmp-step.txt
    if ! cmp_server_start "$stack" "$log"; then
        echo "  $stack 沒有就緒，這一回合略過"; show_log "$log" 5; cmp_server_stop; return 0
    fi
    cmp_client --samples "$CMP_SAMPLES" --size "$size" --max-seconds 30 2>/dev/null | grep '\[摘要\]' | tr ' ' '\n' >"$out" || true
    local m
    for m in p50_us p99_us p999_us; do echo "$round,$stack,$size,rtt_$m,$(kv "$out" "$m")" >>"$CMP_RAW"; done
    local best_rate=0 best_p99=nan best_cpu=nan best_all=nan best_sys=nan rate i blast_from="" fixed_cpu=nan fixed_all=nan
    for ((i = 0; i < ${#CMP_RATES[@]}; i++)); do
        rate=${CMP_RATES[$i]}
        cmp_step "$rate" "$size" "$CMP_STEP_S" "$st"
        echo "$round,$stack,$size,$rate,$(kv "$st" delivered_pps),$(kv "$st" loss_pct),$(kv "$st" p99_us)" >>"$CMP_STEPS"
        cmp_step_ok "$st" || { [ "$(kv "$st" sender_kept_up)" == yes ] || blast_from=$i; break; }
        [ "$rate" != "$CMP_FIXED_RATE" ] || { fixed_cpu=$(kv "$st" cpu_ns_per_pkt); fixed_all=$(kv "$st" cpu_all_ns_per_pkt); }
        best_rate=$rate best_p99=$(kv "$st" p99_us) best_cpu=$(kv "$st" cpu_ns_per_pkt)
        best_all=$(kv "$st" cpu_all_ns_per_pkt) best_sys=$(kv "$st" syscalls_per_pkt)
    done
    # socket 客戶端跟不上：同一階起改用 LIVE_FRAMES 產生器（沒有 RTT 與系統呼叫數；CPU/封包照算）
    local sender=socket
    if [ -n "$blast_from" ] && [ "$size" == 64 ] && [ -x "$(tool xdp_livegen)" ] && command -v bpftool >/dev/null; then
        cmp_blast_prepare "$stack"
        for ((i = blast_from; i < ${#CMP_RATES[@]}; i++)); do
            rate=${CMP_RATES[$i]}
            cmp_blast "$rate" "$size" "$CMP_STEP_S" "$st"
            echo "$round,$stack,$size,$rate,$(kv "$st" delivered_pps),$(kv "$st" loss_pct),nan" >>"$CMP_STEPS"
            cmp_step_ok "$st" || break
            best_rate=$(kv "$st" delivered_pps) best_cpu=$(kv "$st" cpu_ns_per_pkt) best_all=$(kv "$st" cpu_all_ns_per_pkt)
            best_sys=nan sender=livegen
        done
    fi
    {
        echo "$round,$stack,$size,max_rate_pps,$best_rate"
        echo "$round,$stack,$size,p99_at_max_us,$([ "$sender" == socket ] && echo "$best_p99" || echo nan)"
        echo "$round,$stack,$size,cpu_ns_per_pkt,$best_cpu"
        echo "$round,$stack,$size,cpu_all_ns_per_pkt,$best_all"
        echo "$round,$stack,$size,syscalls_per_pkt,$best_sys"
        echo "$round,$stack,$size,cpu_ns_fixed_rate,$fixed_cpu"
        echo "$round,$stack,$size,cpu_all_ns_fixed_rate,$fixed_all"
    } >>"$CMP_RAW"
    printf '  回合 %s %-18s %5s B：p50 %8s µs  p99 %8s µs  最高 %7s pps（%s 發送端；伺服器核心 %s ns/封包，%s 系統呼叫/封包；%s pps 時 %s ns/封包）\n' \
        "$round" "$stack" "$size" "$(kv "$out" p50_us)" "$(kv "$out" p99_us)" "$best_rate" "$sender" "$best_cpu" "$best_sys" \
        "$CMP_FIXED_RATE" "$fixed_cpu"
    cmp_server_stop
}

# cmp_step_ok FILE：這一階合格 = 發送端照時間表送完、遺失 < 1 %
cmp_step_ok() {
    [ "$(kv "$1" sender_kept_up)" == yes ] && awk -v l="$(kv "$1" loss_pct)" 'BEGIN { exit !(l != "" && l < 1.0) }'
}

# cmp_blast_prepare STACK：伺服器那端沒有 XDP 程式的列，開 GRO 讓 veth 有 NAPI 收 XDP_TX 的訊框（cmp_server_stop 時關回去）
cmp_blast_prepare() {
    case $1 in
    socket* | io_uring* | dpdk_af_packet)
        ethtool -K "$CMP_IF" gro on >/dev/null
        defer "ethtool -K $CMP_IF gro off >/dev/null"
        ;;
    esac
}

compare_t_perf() {
    cmp_need compare.perf || return 0
    # cmp_measure 的 perf stat 用 tracepoint（raw_syscalls）：沒掛 tracefs 時 perf 自己掛上去、不會卸掉。這裡先掛，測完卸
    if ! mountpoint -q /sys/kernel/tracing; then
        mount -t tracefs nodev /sys/kernel/tracing && defer "umount /sys/kernel/tracing"
    fi
    cmp_topology
    CMP_RAW=$WORK/compare_raw.csv CMP_STEPS=$WORK/compare_steps.csv
    echo "round,stack,size,metric,value" >"$CMP_RAW"
    echo "round,stack,size,rate,delivered_pps,loss_pct,p99_us" >"$CMP_STEPS"
    local stacks round size i n
    read -r -a stacks <<<"$(cmp_stacks)"
    n=${#stacks[@]}
    echo "  比較的列：${stacks[*]}；$CMP_ROUNDS 回合交錯（每回合換一個起點），64 B 與 1472 B"
    for ((round = 1; round <= CMP_ROUNDS; round++)); do
        for size in 64 1472; do
            for ((i = 0; i < n; i++)); do
                cmp_measure "$round" "${stacks[$(((i + round - 1) % n))]}" "$size"
            done
        done
    done
    mkdir -p "$RESULTS_DIR"
    cp "$CMP_RAW" "$RESULTS_DIR/compare_raw.csv"
    cp "$CMP_STEPS" "$RESULTS_DIR/compare_steps.csv"
    local out rc=0
    out=$(python3 "$CMP_REPORT" "$RESULTS_DIR" 2>&1) || rc=$?
    echo "$out"
    if [ "$rc" == 0 ]; then
        pass compare.perf "比較表：results/compare.csv、compare.png（$CMP_ROUNDS 回合 × ${#stacks[@]} 列 × 2 種大小）"
    else
        fail compare.perf "比較表的報表" "產生 CSV 與圖" "結束碼 $rc"
    fi
}

compare_perf() {
    run_test compare_t_perf
}

# ---------------------------------------------------------------- make demo：每一列的延遲（短版）
# 同一個拓樸、同一個量測儀器，每一列 20,000 個 64 B 請求、一次一個在途，只印 RTT；完整的表要 -p compare。
declare -gA CMP_DEMO_SHORT=([socket]=socket [io_uring_udp]=io_uring [af_xdp]=AF_XDP [dpdk_af_xdp]=DPDK [xdp_tx]=XDP_TX)
compare_demo() {
    if [ ! -x "$(tool udp_echo_client)" ] || [ ! -x "$(tool udp_echo_ref)" ]; then
        echo "DEMO|compare|略過：量測儀器沒有編譯出來|-|make tools"; return 0
    fi
    cmp_topology
    local stack log out p50 p99 line=""
    for stack in $(cmp_stacks); do
        [ -n "${CMP_DEMO_SHORT[$stack]:-}" ] || continue  # 短版只跑每個技術的基本列
        log=$WORK/demo-cmp-$stack.log
        if cmp_server_start "$stack" "$log"; then
            out=$WORK/demo-cmp-$stack.out
            cmp_client --samples 20000 --size 64 --max-seconds 10 >"$out" 2>&1 || true
            p50=$(summary_get "$out" p50_us) p99=$(summary_get "$out" p99_us)
            printf '  %-8s RTT p50 %6s µs  p99 %6s µs（%s）\n' "${CMP_DEMO_SHORT[$stack]}" "${p50:-?}" "${p99:-?}" \
                "$(summary_get "$out" samples) 個樣本，竄改 $(summary_get "$out" corrupt)"
            line+="${line:+ / }${CMP_DEMO_SHORT[$stack]} ${p50:-?}"
        else
            echo "  ${CMP_DEMO_SHORT[$stack]}：伺服器沒有就緒（$log）"
        fi
        cmp_server_stop
    done
    echo "DEMO|compare|同一個 UDP echo（64 B、一次一個在途）穿過每個技術|RTT p50 µs：$line|README〈同一個工作負載〉"
}
