# shellcheck shell=bash
# tests/adversarial.sh — 敵意輸入：亂碼、斷頭封包、惡意對端、錯誤的命令列。
#
# 每個程式的敵意測試在自己的檔案裡（tests/adversarial_<程式>.sh），這裡只負責依序呼叫：
#   adversarial_<程式>_smoke：不需要 root 的部分（命令列：空值、負數、極大、NaN、inf、尾巴有垃圾、缺值）
#   adversarial_<程式>_full ：需要 root 的部分（netns、veth、XDP、hugepage、RDMA VM）
# 流量只送往 loopback 與測試自己建立的 namespace，每個負載都有次數與時間上限。

ADV_PROGS=(io_uring af_xdp dpdk rdma)

for _p in "${ADV_PROGS[@]}"; do
    # shellcheck source=/dev/null
    [ ! -f "$ROOT/tests/adversarial_$_p.sh" ] || source "$ROOT/tests/adversarial_$_p.sh"
done
unset _p

adversarial_smoke() {
    local p
    for p in "${ADV_PROGS[@]}"; do
        if declare -F "adversarial_${p}_smoke" >/dev/null; then "adversarial_${p}_smoke"; fi
    done
}

adversarial_full() {
    local p
    for p in "${ADV_PROGS[@]}"; do
        if declare -F "adversarial_${p}_full" >/dev/null; then "adversarial_${p}_full"; fi
    done
}
