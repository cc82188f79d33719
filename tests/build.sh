# shellcheck shell=bash
# tests/build.sh — 編譯結果：每個找得到函式庫的程式都編出來，而且沒有警告。

# build_t_prog PROG PKGCONFIG_MODULES...
build_t_prog() {
    local prog=$1; shift
    local name="build.$prog"
    if ! pkg-config --exists "$@" 2>/dev/null; then
        skip "$name" "找不到函式庫 $*（make install-deps 會安裝）"
        return 0
    fi
    if [ ! -x "$ROOT/$prog" ]; then
        fail "$name" "make 沒有產生 $prog" "可執行檔" "不存在"
        return 0
    fi
    # 重新編譯這個檔案，確認 -Wall -Wextra -Wpedantic 下沒有警告
    local log=$WORK/build.$prog.log
    if ! make -C "$ROOT" -B -s "$prog" >"$log" 2>&1; then
        fail "$name" "重新編譯失敗"; show_log "$log"; return 0
    fi
    local warnings
    warnings=$(grep -c 'warning:' "$log" || true)
    if [ "$warnings" != 0 ]; then
        fail "$name" "編譯警告數" 0 "$warnings"; show_log "$log" 30
    else
        pass "$name" "以 -Wall -Wextra -Wpedantic 編譯，沒有警告"
    fi
}

build_smoke() {
    run_test build_t_prog io_uring_async liburing
    run_test build_t_prog af_xdp_socket libxdp libbpf
    run_test build_t_prog dpdk_packet_processing libdpdk
    run_test build_t_prog rdma_communication libibverbs librdmacm
}
