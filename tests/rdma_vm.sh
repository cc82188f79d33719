# shellcheck shell=bash
# tests/rdma_vm.sh — RDMA 測試 VM：這台主機的核心沒有 RDMA，所以開一台 qemu（TCG）跑 Debian 的核心，
# 載入 Soft-RoCE（rdma_rxe），在 VM 裡執行 tests/rdma_cases.sh。由 tests/rdma.sh 載入。
#
#   核心：linux-image-amd64 所依賴的 linux-image-6.1.0-NN-amd64，以 apt-get download 取得、dpkg -x 解開
#         （不安裝），只留下 vmlinuz 與需要的模組，快取在 $RDMA_VM_CACHE（預設 /var/tmp/kb-rdma-vm，在 repo 之外）。
#   initramfs：busybox-static、主機上的 rdma-core 工具（ibv_devices、rdma、perftest）、rxe 的 provider
#              （librxe-rdmav34.so 與 /etc/libibverbs.d/rxe.driver）、iproute2 的 ip（改名 iproute2-ip：
#              busybox 的 shell 一定執行自己的 ip applet）、本專案的程式；每個執行檔連同 ldd 列出的函式庫放在原路徑。
#   VM：沒有網卡（-nic none），所以流量不會離開 VM；rxe0 建在 dummy0（198.18.5.1/25）上。

RDMA_VM_CACHE=${RDMA_VM_CACHE:-/var/tmp/kb-rdma-vm}
RDMA_VM_ADDR=198.18.5.1
RDMA_VM_PREFIX=25
RDMA_VM_PROVIDER=/usr/lib/$(uname -m)-linux-gnu/libibverbs/librxe-rdmav34.so   # rxe 的 user-space provider
RDMA_VM_ERR=""            # rdma_vm_kernel 失敗的原因（給呼叫者印）
export RDMA_VM_ERR
# 模組的載入順序（相依的在前）；crc32_generic 少了會讓 `rdma link add` 失敗
RDMA_VM_MODULES=(
    crypto/crc32_generic net/ipv4/udp_tunnel net/ipv6/ip6_udp_tunnel
    drivers/infiniband/core/ib_core drivers/infiniband/core/ib_uverbs drivers/infiniband/sw/rxe/rdma_rxe
    fs/configfs/configfs drivers/infiniband/core/iw_cm drivers/infiniband/core/ib_cm
    drivers/infiniband/core/rdma_cm drivers/infiniband/core/rdma_ucm drivers/net/dummy
)
# 其他群組在同一個核心上要用的模組（例如 tests/dpdk_flow_vm.sh 的 TC flower）：呼叫 rdma_vm_kernel 之前放進來，
# 快取缺其中任何一個時重新下載一次，之後快取裡兩份清單的模組都有
RDMA_VM_EXTRA_MODULES=(${RDMA_VM_EXTRA_MODULES[@]+"${RDMA_VM_EXTRA_MODULES[@]}"})
# 放進 VM 的主機程式
RDMA_VM_TOOLS=(ibv_devices ibv_devinfo rdma ib_send_lat ib_write_lat ib_read_lat ib_write_bw ib_send_bw ib_read_bw ib_atomic_lat ib_atomic_bw)

# rdma_vm_kernel：找到（必要時下載）核心，設定 RDMA_VM_KDIR；失敗時把原因放在 RDMA_VM_ERR
rdma_vm_kernel() {
    local pkg cached tmp deb m
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
    if [ -z "$pkg" ]; then
        # 沒有套件清單（全新機器）：先用快取裡最新的一個，沒有才 apt-get update
        cached=$(find "$RDMA_VM_CACHE" -maxdepth 2 -name vmlinuz -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
        if [ -n "$cached" ]; then RDMA_VM_KDIR=$cached; return 0; fi
        apt-get update -q >/dev/null 2>&1 || true
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
        [ -n "$pkg" ] || { RDMA_VM_ERR="apt-cache 找不到 linux-image-amd64 所依賴的核心套件"; return 1; }
    fi
    RDMA_VM_KDIR=$RDMA_VM_CACHE/$pkg
    local keep=("${RDMA_VM_MODULES[@]}" ${RDMA_VM_EXTRA_MODULES[@]+"${RDMA_VM_EXTRA_MODULES[@]}"}) have=1
    for m in "${keep[@]}"; do [ -f "$RDMA_VM_KDIR/modules/$(basename "$m").ko" ] || have=0; done
    [ -f "$RDMA_VM_KDIR/vmlinuz" ] && [ "$have" == 1 ] && return 0

    echo "    （第一次使用：下載 $pkg，約 70 MB，解開後只留 vmlinuz 與 ${#keep[@]} 個模組，快取在 $RDMA_VM_KDIR）"
    mkdir -p "$RDMA_VM_CACHE"
    tmp=$(mktemp -d "$RDMA_VM_CACHE/dl.XXXXXX")
    chmod 755 "$tmp"     # apt-get download 以 _apt 身分寫入
    if ! (cd "$tmp" && run_timeout 240 apt-get download -q "$pkg" >"$tmp/download.log" 2>&1); then
        RDMA_VM_ERR="apt-get download $pkg 失敗：$(tail -n 2 "$tmp/download.log" | tr '\n' ' ')"
        rm -rf "$tmp"
        return 1
    fi
    deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
    if [ -z "$deb" ] || ! dpkg -x "$deb" "$tmp/x"; then
        RDMA_VM_ERR="dpkg -x $pkg 失敗"
        rm -rf "$tmp"
        return 1
    fi
    local kver
    kver=$(basename "$(find "$tmp/x/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
    mkdir -p "$tmp/k/modules"
    cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/k/vmlinuz"
    for m in "${keep[@]}"; do
        if ! cp "$tmp/x/lib/modules/$kver/kernel/$m.ko" "$tmp/k/modules/"; then
            RDMA_VM_ERR="核心套件裡沒有模組 $m.ko"
            rm -rf "$tmp"
            return 1
        fi
    done
    echo "$kver" >"$tmp/k/version"
    rm -rf "$RDMA_VM_KDIR"
    mv "$tmp/k" "$RDMA_VM_KDIR"
    rm -rf "$tmp"
    return 0
}

# 把執行檔（或函式庫）與它的 ldd 相依放進 ROOTFS，保持原路徑
_rdma_vm_copy() { # ROOTFS FILE...
    local rootfs=$1 f lib
    shift
    for f in "$@"; do
        cp -L --parents "$f" "$rootfs/" 2>/dev/null || cp -L "$f" "$rootfs$f"
        while read -r lib; do
            if [ -n "$lib" ] && [ ! -e "$rootfs$lib" ]; then cp -L --parents "$lib" "$rootfs/"; fi
        done < <(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}')
    done
}

# rdma_vm_init_prologue：initramfs 的 /init 開頭（busybox 的 applet、/proc、/sys、/dev、/tmp），RDMA 與 DPDK flow 的 VM 共用
rdma_vm_init_prologue() {
    cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
EOF
}

# rdma_vm_pack ROOTFS OUT：/init 收尾（sync、poweroff）之後打包成 cpio newc（不壓縮：建得快，核心解得也快）
rdma_vm_pack() {
    printf 'sync\npoweroff -f\n' >>"$1/init"
    chmod 755 "$1/init"
    (cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) >"$2"
}

# rdma_vm_initramfs MODE OUT：建 initramfs（cpio newc，不壓縮：建得快，核心解得也快）
rdma_vm_initramfs() {
    local mode=$1 out=$2 rootfs t m provider=$RDMA_VM_PROVIDER
    rootfs=$(dirname "$out")/rootfs-$mode
    rm -rf "$rootfs"
    mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,run,etc/libibverbs.d,kb/modules}
    ln -s usr/bin "$rootfs/bin"
    ln -s usr/sbin "$rootfs/sbin"
    ln -s usr/lib "$rootfs/lib"
    ln -s usr/lib64 "$rootfs/lib64"
    cp "$(command -v busybox)" "$rootfs/usr/bin/busybox"
    for t in "${RDMA_VM_TOOLS[@]}"; do _rdma_vm_copy "$rootfs" "$(command -v "$t")"; done
    _rdma_vm_copy "$rootfs" "$provider"
    cp /etc/libibverbs.d/rxe.driver "$rootfs/etc/libibverbs.d/"
    _rdma_vm_copy "$rootfs" "$(command -v ip)"
    mv "$rootfs$(command -v ip)" "$rootfs/usr/sbin/iproute2-ip"
    _rdma_vm_copy "$rootfs" "$RDMA_BIN"
    cp "$RDMA_BIN" "$rootfs/kb/rdma_communication"
    cp "${ROOT:?}/tests/rdma_cases.sh" "$rootfs/kb/cases.sh"
    # 比較表的 RDMA 列：同一次開機裡的 UDP echo 基準（socket 參考伺服器、量測儀器、io_uring 的 UDP 模式）；只有效能模式用，有編譯出來才放
    for t in "$(tool udp_echo_ref)" "$(tool udp_echo_client)" "$ROOT/io_uring_async"; do
        if [ "$mode" != perf ] || [ ! -x "$t" ]; then continue; fi
        _rdma_vm_copy "$rootfs" "$t"
        cp "$t" "$rootfs/kb/$(basename "$t")"
    done
    for m in "${RDMA_VM_MODULES[@]}"; do cp "$RDMA_VM_KDIR/modules/$(basename "$m").ko" "$rootfs/kb/modules/"; done
    printf '%s\n' "${RDMA_VM_MODULES[@]##*/}" >"$rootfs/kb/modules.order"
    echo "$mode" >"$rootfs/kb/mode"
    # 效能參數可由環境變數覆寫（開發時縮短）
    # 值加上單引號：KB_PERF_TESTS 這類有空白的值在 VM 裡 `. /kb/env` 時才是一個值
    env | grep -E '^KB_(LAT|BW|ROUNDS|LONG|PERF|ATOMIC|UDP)[A-Z_]*=[A-Za-z0-9_ ,.-]*$' | sed "s/=\(.*\)/='\1'/" >"$rootfs/kb/env" || true
    {
        rdma_vm_init_prologue
        cat <<EOF
echo "@@KB booted \$(uname -r) cpus=\$(nproc) clocksource=\$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
for m in \$(cat /kb/modules.order); do
    insmod /kb/modules/\$m.ko || echo "@@KB insmod_failed \$m"
done
iproute2-ip link set lo up
[ -e /sys/class/net/dummy0 ] || iproute2-ip link add dummy0 type dummy
iproute2-ip addr add $RDMA_VM_ADDR/$RDMA_VM_PREFIX dev dummy0
iproute2-ip link set dummy0 up
if rdma link add rxe0 type rxe netdev dummy0; then
    echo "@@KB ready \$(rdma link show | tr '\n' ' ')"
    set -a; . /kb/env; set +a
    KB_BIN=/kb/rdma_communication KB_ADDR=$RDMA_VM_ADDR KB_DEV=rxe0 KB_TMP=/tmp sh /kb/cases.sh \$(cat /kb/mode)
else
    echo "@@KB rxe_failed"
    dmesg | tail -n 20
fi
EOF
    } >"$rootfs/init"
    rdma_vm_pack "$rootfs" "$out"
}

# rdma_vm_boot INITRD LOG TIMEOUT_S：開機並等 VM 自己關機（或逾時被殺）。
# 回傳 0 = 看到 "@@KB end"；1 = 沒開到 userspace；2 = 開機了但沒跑完（卡住或當掉）。
# qemu 由 bg_start 啟動，所以測試結束、失敗或 Ctrl-C 時一定會被 stop_pid 結束。
rdma_vm_boot() {
    local initrd=$1 log=$2 timeout=$3 rc=0
    local -a qemu=(qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 -display none -serial stdio
        -monitor none -no-reboot -nic none -nodefaults
        -kernel "$RDMA_VM_KDIR/vmlinuz" -initrd "$initrd"
        -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init clocksource=tsc tsc=reliable")
    bg_start "$log" "${qemu[@]}" </dev/null
    local pid=$BG_PID
    # 開到 userspace（@@KB booted）最多 90 秒；之後整體 timeout
    if ! wait_marker "$log" '@@KB (booted|ready)' 90 "$pid"; then
        stop_pid "$pid" KILL
        return 1
    fi
    wait_exit "$pid" "$timeout" || rc=$?
    grep -q '^@@KB end' "$log" && return 0
    [ "$rc" == 124 ] && echo "    （VM 在 $timeout 秒內沒有結束，已強制關閉）"
    return 2
}
