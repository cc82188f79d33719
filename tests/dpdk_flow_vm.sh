# shellcheck shell=bash
# tests/dpdk_flow_vm.sh — dpdk.flow_vm：在測試 VM 裡跑 --flow（由 tests/dpdk.sh 載入）。
#
# 這台主機的核心沒有 TC flower（CONFIG_NET_CLS_FLOWER 關著，也沒有 sch_multiq），net_tap 的 rte_flow 就裝不上。
# RDMA 測試用的 Debian 核心（tests/rdma_vm.sh 下載並快取）把它們編成模組：這裡借用它的核心快取、_rdma_vm_copy 與
# rdma_vm_boot，另外建一個 initramfs——busybox、iproute2 的 ip 與 tc（改名 iproute2-ip / iproute2-tc：busybox 的 shell
# 一定執行自己的 applet）、dpdk_packet_processing 與 udp_burst（連同 ldd 的函式庫）、DPDK 的 plugin 只放 bus_vdev、
# net_tap、mempool_ring 三個（EAL 載入 pmds 目錄裡的每一個 .so，缺函式庫的會讓 rte_eal_init 失敗）——
# 開機後載入 tun 與 TC 模組，執行 tests/dpdk_flow_cases.sh。VM 沒有網卡（-nic none），流量不會離開 VM。

# shellcheck source=tests/rdma_vm.sh
source "${ROOT:?}/tests/rdma_vm.sh"

DPDK_FLOW_VM_TIMEOUT=300  # 秒：整次 VM 執行的上限（正常 30–60 秒，主機忙時更久）
# net_tap 的 rte_flow 需要的模組（DPDK 22.11 drivers/net/tap：探測時建 multiq 與 ingress qdisc，規則是 flower，
# 動作 gact（drop、passthru）、skbedit（queue）、mirred（remote 模式）），載入順序即此順序（彼此沒有相依）
DPDK_FLOW_VM_MODULES=(
    drivers/net/tun net/sched/sch_multiq net/sched/sch_ingress net/sched/cls_flower
    net/sched/act_gact net/sched/act_skbedit net/sched/act_mirred
)
DPDK_FLOW_VM_PMDS=(librte_bus_vdev.so librte_net_tap.so librte_mempool_ring.so) # EAL 只載入以 .so 或 .so.<ABI 版本> 結尾的

# dpdk_flow_pmds：EAL 載入 plugin 的目錄（Debian：<libdir>/dpdk/pmds-<ABI>，編進 EAL 的 RTE_EAL_PMD_PATH）
dpdk_flow_pmds() {
    local libdir
    libdir=$(pkg-config --variable=libdir libdpdk 2>/dev/null) || libdir=/usr/lib/$(uname -m)-linux-gnu
    find "$libdir/dpdk" -maxdepth 1 -type d -name 'pmds-*' 2>/dev/null | sort -V | tail -n 1
}

# dpdk_flow_vm_initramfs OUT
dpdk_flow_vm_initramfs() {
    local out=$1 rootfs m p pmds
    pmds=$(dpdk_flow_pmds)
    rootfs=$(dirname "$out")/rootfs-flow
    rm -rf "$rootfs"
    mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,run,var,kb/modules}
    ln -s usr/bin "$rootfs/bin"
    ln -s usr/sbin "$rootfs/sbin"
    ln -s usr/lib "$rootfs/lib"
    ln -s usr/lib64 "$rootfs/lib64"
    ln -s ../run "$rootfs/var/run"
    cp "$(command -v busybox)" "$rootfs/usr/bin/busybox"
    _rdma_vm_copy "$rootfs" "$(command -v ip)" "$(command -v tc)"
    mv "$rootfs$(command -v ip)" "$rootfs/usr/sbin/iproute2-ip"
    mv "$rootfs$(command -v tc)" "$rootfs/usr/sbin/iproute2-tc"
    _rdma_vm_copy "$rootfs" "$(dpdk_bin)" "$(tool udp_burst)"
    cp "$(dpdk_bin)" "$rootfs/kb/dpdk_packet_processing"
    if [ -x "$ROOT/build/sanitize/$DPDK_PROG" ]; then  # UBSan 版（連同 libubsan）：VM 裡同一個案例再跑一次
        _rdma_vm_copy "$rootfs" "$ROOT/build/sanitize/$DPDK_PROG"
        cp "$ROOT/build/sanitize/$DPDK_PROG" "$rootfs/kb/dpdk_packet_processing_ubsan"
    fi
    cp "$(tool udp_burst)" "$rootfs/kb/udp_burst"
    for p in "${DPDK_FLOW_VM_PMDS[@]}"; do _rdma_vm_copy "$rootfs" "$pmds/$p"; done
    cp "$ROOT/tests/dpdk_flow_cases.sh" "$rootfs/kb/cases.sh"
    for m in "${DPDK_FLOW_VM_MODULES[@]}"; do cp "$RDMA_VM_KDIR/modules/$(basename "$m").ko" "$rootfs/kb/modules/"; done
    {
        rdma_vm_init_prologue
        cat <<EOF
mount -t tmpfs run /run
echo "@@KB booted \$(uname -r) cpus=\$(nproc)"
for m in ${DPDK_FLOW_VM_MODULES[*]##*/}; do
    insmod /kb/modules/\$m.ko || echo "@@KB insmod_failed \$m"
done
iproute2-ip link set lo up
sh /kb/cases.sh
EOF
    } >"$rootfs/init"
    rdma_vm_pack "$rootfs" "$out"
}

# dpdk_flow_kv LINE KEY
dpdk_flow_kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | tail -n 1; }
dpdk_flow_vmlog() { tr -d '\r' <"$1" | sed -n "s/^@@LOG $2 /    │ /p" | tail -n "${3:-15}"; }

# dpdk.flow_vm：VM 裡 net_tap 的 2 個 rx queue，規則 udp-dport=9000→queue 1、udp-dport=9001→queue 0、src=198.18.7.3→drop；
# 測試主機（VM 本身經 tap）送 40 + 30 + 50 個 UDP frame：rxq1=40、rxq0=30、rx=70，丟掉的 50 個只出現在 TC 的計數裡。
# 另外 mark=7 的規則必須被 net_tap 拒絕（77）。
dpdk_t_flow_vm() {
    local name=dpdk.flow_vm
    need_root "$name" || return 0
    need_bin "$DPDK_PROG" "$name" || return 0
    [ -x "$(tool udp_burst)" ] || { skip "$name" "build/tools/udp_burst 沒有編譯出來（make tools）"; return 0; }
    local dep
    for dep in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio tc:iproute2 ip:iproute2 dpkg:dpkg; do
        need_cmd "${dep%%:*}" "$name" "${dep#*:}" || return 0
    done
    local pmds
    pmds=$(dpdk_flow_pmds)
    if [ ! -f "${pmds:-/nonexistent}/librte_net_tap.so.23" ]; then
        skip "$name" "找不到 net_tap 驅動（Debian 套件 librte-net-tap23，make install-deps 會安裝）"; return 0
    fi
    RDMA_VM_EXTRA_MODULES=("${DPDK_FLOW_VM_MODULES[@]}")
    if ! rdma_vm_kernel; then
        skip "$name" "沒有 VM 用的核心：$RDMA_VM_ERR"; return 0
    fi
    mkdir -p "$WORK/dpdk-flow-vm"
    local initrd=$WORK/dpdk-flow-vm/initrd.cpio log=$WORK/dpdk-flow-vm/console.log rc=0 t0=$SECONDS
    dpdk_flow_vm_initramfs "$initrd"
    rdma_vm_boot "$initrd" "$log" "$DPDK_FLOW_VM_TIMEOUT" || rc=$?
    if [ "$rc" == 1 ]; then fail "$name" "VM 沒有開到 userspace"; show_log "$log" 30; return 0; fi
    if [ "$rc" != 0 ]; then fail "$name" "VM 裡的測試沒有跑完（@@KB end）"; show_log "$log" 40; return 0; fi
    if grep -q '^@@KB insmod_failed' "$log"; then
        fail "$name" "模組載入失敗：$(grep '^@@KB insmod_failed' "$log" | awk '{print $3}' | tr '\n' ' ')"; show_log "$log" 30; return 0
    fi
    local steer mark
    # 序列埠的 console 行尾是 \r\n
    steer=$(tr -d '\r' <"$log" | grep '^@@KB case steer ' | tail -n 1)
    mark=$(tr -d '\r' <"$log" | grep '^@@KB case mark ' | tail -n 1)
    local got want="rc=0 sent=000 rx=70 rxq0=30 rxq1=40 flow_rules=3 malformed=0"
    got="rc=$(dpdk_flow_kv "$steer" rc) sent=$(dpdk_flow_kv "$steer" sent) rx=$(dpdk_flow_kv "$steer" rx) rxq0=$(dpdk_flow_kv "$steer" rxq0) rxq1=$(dpdk_flow_kv "$steer" rxq1) flow_rules=$(dpdk_flow_kv "$steer" flow_rules) malformed=$(dpdk_flow_kv "$steer" malformed)"
    if [ "$got" == "$want" ]; then
        pass "$name" "VM（$(grep -m1 '^@@KB booted' "$log" | awk '{print $3}')，$((SECONDS - t0)) 秒）net_tap 2 個 rx queue、3 條規則：udp-dport=9000 的 40 個全在 rxq1、udp-dport=9001 的 30 個全在 rxq0，rx_packets=70，來源 198.18.7.3 的 50 個沒有到任何 worker"
    else
        fail "$name" "VM 裡 --flow 的分流" "$want" "$got"
        dpdk_flow_vmlog "$log" steer 25
    fi
    # 丟掉的 50 個：tap 只交出 70 個（tapped）；核心的三個 flower filter 各自數到 40、30、50 個
    local tapped tcpkts filters
    tapped=$(dpdk_flow_kv "$steer" tapped) tcpkts=$(dpdk_flow_kv "$steer" tcpkts) filters=$(dpdk_flow_kv "$steer" filters)
    if [ "$tapped" == 70 ] && [ "$tcpkts" == 40,30,50 ]; then
        pass "$name.dropped" "src=198.18.7.3,drop：核心經 tap 只交出 70 個 frame；三個 flower filter 的計數 40,30,50（gact drop 的 50 個，worker 一個都沒收到）"
    else
        fail "$name.dropped" "丟掉的流量與 TC 的計數" "tapped=70 tcpkts=40,30,50" "tapped=$tapped tcpkts=$tcpkts"
        dpdk_flow_vmlog "$log" filterstats 30
    fi
    # 程式執行中 tc filter show 列出每條 --flow 對應的 flower filter（tap 的 multiq qdisc 上，pref 依規則順序）
    if [ "$filters" == 3 ]; then
        pass "$name.tc_filters" "執行中 tc filter show dev kbftap0 列出 3 個 flower filter（skbedit queue_mapping 1、skbedit queue_mapping 0、gact drop）"
    else
        fail "$name.tc_filters" "tc filter show 的 flower filter 數" 3 "${filters:-（沒有）}"
        dpdk_flow_vmlog "$log" filters 20
    fi
    # UBSan 版：同樣的分流結果、結束碼 0、沒有 runtime error（-fno-sanitize-recover：有 UB 就中止）
    if [ -x "$ROOT/build/sanitize/$DPDK_PROG" ]; then
        local ub
        ub=$(tr -d '\r' <"$log" | grep '^@@KB case steer_ubsan ' | tail -n 1)
        got="rc=$(dpdk_flow_kv "$ub" rc) sent=$(dpdk_flow_kv "$ub" sent) rx=$(dpdk_flow_kv "$ub" rx) rxq0=$(dpdk_flow_kv "$ub" rxq0) rxq1=$(dpdk_flow_kv "$ub" rxq1) flow_rules=$(dpdk_flow_kv "$ub" flow_rules) malformed=$(dpdk_flow_kv "$ub" malformed)"
        if [ "$got" == "$want" ] && [ "$(dpdk_flow_kv "$ub" ubsan)" == 0 ] && [ "$(dpdk_flow_kv "$ub" tcpkts)" == 40,30,50 ]; then
            pass "$name.ubsan" "UBSan 版在 VM 裡：同樣的 3 條規則與流量，rxq1=40、rxq0=30、rx=70、TC 計數 40,30,50，沒有 runtime error"
        else
            fail "$name.ubsan" "UBSan 版的 --flow 分流" "$want ubsan=0 tcpkts=40,30,50" "$got ubsan=$(dpdk_flow_kv "$ub" ubsan) tcpkts=$(dpdk_flow_kv "$ub" tcpkts)"
            dpdk_flow_vmlog "$log" steer_ubsan 25
        fi
    else
        skip "$name.ubsan" "沒有 build/sanitize/$DPDK_PROG（make sanitize SAN_PROGS=$DPDK_PROG）"
    fi
    if [ "$(dpdk_flow_kv "$mark" rc)" == 77 ] && [ "$(dpdk_flow_kv "$mark" msg)" == yes ]; then
        pass "$name.mark_refused" "net_tap 沒有 mark 動作：dst=198.18.7.2,mark=7 被 rte_flow_validate 拒絕（action not supported），結束碼 77"
    else
        fail "$name.mark_refused" "mark 規則在 net_tap 上" "結束碼 77 與「拒絕 --flow 規則」、action not supported" "$mark"
        dpdk_flow_vmlog "$log" mark 10
    fi
}
