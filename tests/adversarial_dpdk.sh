# shellcheck shell=bash
# tests/adversarial_dpdk.sh — dpdk_packet_processing 的敵意測試（由 tests/adversarial.sh 載入）。
#
#   adversarial_dpdk_smoke：不需要 root——每個程式選項與 --file-prefix 的錯誤值，都要在 rte_eal_init 之前以結束碼 2 拒絕、
#                           有中文說明、沒有 sanitizer 報告（一般版與 build/sanitize/ 的 UBSan 版各跑一次）；
#   adversarial_dpdk_full ：需要 root——tests/hostile_frames.py 產生的幾千個隨機敵意 frame 經 net_pcap（rx_pcap → tx_pcap）
#                           跑過 io、macswap、drop、classify、echo 五個模式（一般版與 UBSan 版）：不當掉、
#                           malformed + 轉送 + 丟棄 = 送進去的、送出去的 pcap 裡沒有任何 malformed（hostile_frames.py check）；
#                           echo 模式只回應給 --dport 的 UDP，回應的來源埠都是 echo 埠、IPv4 與 UDP 檢查和都正確。
# 全部用 --no-huge（不佔 hugepage）；最後確認沒有留下 hugepage 檔案與 /var/run/dpdk 底下的目錄。

ADV_DPDK_PROG=dpdk_packet_processing
ADV_DPDK_PY=/usr/bin/python3
ADV_DPDK_COUNT=${ADV_DPDK_COUNT:-3000}

# adv_dpdk_clip N：每行只留前 N 個字元（以 UTF-8 字元計，不切斷中文）
adv_dpdk_clip() { "$ADV_DPDK_PY" -c 'import sys; n = int(sys.argv[1]); [print(l.rstrip("\n")[:n]) for l in sys.stdin]' "$1"; }

# adv_dpdk_builds：要測的版本（一般版；有 UBSan 版時也測）
adv_dpdk_builds() {
    echo "$ROOT/$ADV_DPDK_PROG"
    [ ! -x "$ROOT/build/sanitize/$ADV_DPDK_PROG" ] || echo "$ROOT/build/sanitize/$ADV_DPDK_PROG"
}

# ---------------------------------------------------------------- 命令列（不需要 root）
adv_dpdk_t_cmdline() {
    need_bin "$ADV_DPDK_PROG" adversarial.dpdk.cmdline || return 0
    local eal=(-l 0-1 --no-pci --no-huge -m 64 --vdev net_null0) nine_rules
    nine_rules=$(printf -- '--flow|udp-dport=9000,drop|%.0s' {1..9})
    nine_rules=${nine_rules%|}  # 9 條 --flow（上限 8 條）
    # 每一行是一組程式選項（放在 -- 之後），以 | 分隔參數；每一組都必須被拒絕
    local app_cases=(
        "--mode" "--mode|" "--mode|-1" "--mode|99999999999999999999" "--mode|nan" "--mode|inf" "--mode|io!" "--mode|macswapx"
        "--mode|IO"
        "--portmask" "--portmask|" "--portmask|-1" "--portmask|0x1ffffffffffffffffff" "--portmask|nan" "--portmask|inf"
        "--portmask|0x3zz" "--portmask|0x" "--portmask|3 " "--portmask|+3"
        "--duration" "--duration|" "--duration|-1" "--duration|-0.5" "--duration|1e400" "--duration|31536001"
        "--duration|99999999999999999999999" "--duration|nan" "--duration|NaN" "--duration|-nan" "--duration|inf"
        "--duration|-inf" "--duration|infinity" "--duration|5x" "--duration|0x10" "--duration|1,5" "--duration| 1"
        "--udp-port" "--udp-port|" "--udp-port|0" "--udp-port|-1" "--udp-port|65536" "--udp-port|99999999999999999999"
        "--udp-port|nan" "--udp-port|inf" "--udp-port|19000x" "--udp-port|0x4a38" "--udp-port|1.5" "--udp-port| 19000"
        "--mode|echo|--udp-port|abc" "--mode|ECHO"
        "--latency|1" "--latency=1" "--latency|yes" "--mode|drop|--latency" "--latency|--mode|rxonly" "--latencyx"
        "--bogus" "extra" "--mode=io" "--duration=1" "-x"
        # --flow：規則的每一段都嚴格解析（位址、未知欄位、沒有比對、兩個動作、缺值、範圍、重複、多餘的逗號、超過 8 條）
        "--flow" "--flow|" "--flow|drop" "--flow|src=198.18.1.2" "--flow|src=198.18.1.2,drop,drop"
        "--flow|udp-dport=9000,queue=1,drop" "--flow|dst=198.18.1.1,mark=7,queue=0" "--flow|src=1.2.3.4.5,drop"
        "--flow|src=198.18.1,drop" "--flow|src=198.18.1.256,drop" "--flow|src=198.018.1.2,drop" "--flow|src=-1.0.0.0,drop"
        "--flow|dst=nan,drop" "--flow|dst=::1,drop" "--flow|src=,drop" "--flow|src= 198.18.1.2,drop"
        "--flow|src=198.18.1.2,src=198.18.1.3,drop" "--flow|udp-dport=1,udp-dport=2,drop" "--flow|bogus=1,drop" "--flow|SRC=198.18.1.2,drop"
        "--flow|dst=198.18.1.1,mark" "--flow|dst=198.18.1.1,mark=" "--flow|dst=198.18.1.1,mark=x" "--flow|dst=198.18.1.1,mark=16777216"
        "--flow|dst=198.18.1.1,mark=-1" "--flow|dst=198.18.1.1,mark=7x" "--flow|udp-dport=0,drop" "--flow|udp-dport=65536,drop"
        "--flow|udp-dport=nan,drop" "--flow|udp-dport=9000,queue" "--flow|udp-dport=9000,queue=" "--flow|udp-dport=9000,queue=-1"
        "--flow|udp-dport=9000,queue=99999" "--flow|udp-dport=9000,drop=1" "--flow|,drop" "--flow|src=198.18.1.2,,drop"
        "--flow|src=198.18.1.2,drop," "--flow|src=198.18.1.2;drop" "--flow-optional" "--flow-optional|1" "--flow=src=198.18.1.2,drop"
        "$nine_rules"
    )
    # --file-prefix 的值（EAL 選項，在 -- 之前）：都必須在 rte_eal_init 之前被拒絕
    local long
    long=$(printf 'p%.0s' {1..33})
    local prefix_cases=(
        "--file-prefix|.." "--file-prefix|." "--file-prefix|a/b" "--file-prefix|/tmp"
        "--file-prefix|" "--file-prefix| " "--file-prefix|x y" "--file-prefix|a*" "--file-prefix|-x" "--file-prefix|_x"
        "--file-prefix|$long" "--file-prefix|nan.x" "--file-prefix|kb\$(id)" "--file-prefix=.." "--file-prefix=" "--file-prefix"
        "--fi|kbd" "--file-pre=kbd" "--file-prefix|ok|--file-prefix|.."
    )
    # 安全措施：舊版（或任何退化的版本）收到 --file-prefix .. 會在收尾時刪掉 /run 底下的一切。所以 --file-prefix 的情況
    # 一律在私有的 mount namespace 裡、/run 換成新的 tmpfs 之後才執行（root 直接 unshare；不是 root 時用 user namespace）。
    # 值不能有兩層以上的 ..：/var/run/dpdk/../.. 會走出私有的 /run，回到真正的 /。
    # 兩種都不行時，不執行含 . 或 / 的值（只剩不會指向別的目錄的值），並在結果裡說明。
    local wrap=() unsafe_skipped=""
    # shellcheck disable=SC2016 # $@ 由內層的 sh 展開
    local inner='mount -t tmpfs kbdpdk-run /run || exit 90; [ -L /var/run ] || mount -t tmpfs kbdpdk-varrun /var/run || exit 90; exec "$@"'
    if [ "$(id -u)" == 0 ] && unshare --mount --propagation private sh -c "$inner" sh true 2>/dev/null; then
        wrap=(unshare --mount --propagation private sh -c "$inner" sh)
    elif unshare --user --map-root-user --mount sh -c "$inner" sh true 2>/dev/null; then
        wrap=(unshare --user --map-root-user --mount sh -c "$inner" sh)
    else
        unsafe_skipped="（無法建立私有的 /run，略過含 . 或 / 的值）"
    fi
    local b c problems=() n=0 p args
    while read -r b; do
        for c in "${app_cases[@]}"; do
            IFS='|' read -r -a args <<<"$c|"
            n=$((n + 1))
            p=$(refusal_problem "$b" "${eal[@]}" -- "${args[@]}") || problems+=("$(basename "$(dirname "$b")")/${b##*/} $c：$p")
        done
        for c in "${prefix_cases[@]}"; do
            IFS='|' read -r -a args <<<"$c|"
            if [ ${#wrap[@]} == 0 ] && [[ $c == *.* || $c == */* ]]; then continue; fi
            n=$((n + 1))
            p=$(refusal_problem "${wrap[@]}" "$b" "${eal[@]}" "${args[@]}" -- --duration 0.1) ||
                problems+=("$(basename "$(dirname "$b")")/${b##*/} $c：$p")
        done
    done < <(adv_dpdk_builds)
    if [ ${#problems[@]} == 0 ]; then
        pass adversarial.dpdk.cmdline "$n 個錯誤的命令列（--mode/--portmask/--duration/--udp-port 的空值、負數、極大、NaN、inf、尾巴垃圾、缺值，--latency 帶值或配 drop，--flow 規則的錯誤（位址、欄位、動作、範圍、超過 8 條），--file-prefix 的 ..、/、空白、過長、縮寫；$(adv_dpdk_builds | wc -l) 個版本）都是結束碼 2、有中文說明、沒有 sanitizer 報告$unsafe_skipped"
    else
        fail adversarial.dpdk.cmdline "${#problems[@]}/$n 個命令列沒有被正確拒絕：$(printf '%s；' "${problems[@]:0:8}")"
    fi
    # --help 一定可以用，而且 [摘要] 的說明提到新的分類
    local out rc=0
    out=$("$ROOT/$ADV_DPDK_PROG" -- --help 2>&1) || rc=$?
    if [ "$rc" == 0 ] && grep -q '分段' <<<"$out"; then
        pass adversarial.dpdk.help "--help 結束碼 0，說明 classify 也計分段"
    else
        fail adversarial.dpdk.help "--help" "結束碼 0、提到分段" "結束碼 $rc"
    fi
}

adversarial_dpdk_smoke() {
    run_test adv_dpdk_t_cmdline
}

# ---------------------------------------------------------------- 隨機敵意 frame 經 net_pcap（需要 root）
# adv_dpdk_t_hostile BIN TAG：BIN 跑過五個模式，每個模式同一個 pcap
adv_dpdk_t_hostile() {
    local b=$1 tag=$2 name="adversarial.dpdk.hostile_frames$2"
    need_root "$name" || return 0
    [ -x "$b" ] || { skip "$name" "$b 沒有編譯出來（make dpdk / make sanitize）"; return 0; }
    "$ADV_DPDK_PY" -c 'import scapy' 2>/dev/null || { skip "$name" "找不到 scapy（Debian 套件 python3-scapy）"; return 0; }
    local seed=${ADV_DPDK_SEED:-$((RANDOM % 10000))} dir=$WORK/adv-dpdk$tag gen frames wf mf other
    mkdir -p "$dir"
    gen=$("$ADV_DPDK_PY" "$ROOT/tests/hostile_frames.py" gen "$dir/in.pcap" --count "$ADV_DPDK_COUNT" --seed "$seed" \
        --src-ip 198.18.3.2 --dst-ip 198.18.3.1 --dport 19000 --max-len 9014)
    frames=$(tr ' ' '\n' <<<"$gen" | sed -n 's/^frames=//p')
    wf=$(tr ' ' '\n' <<<"$gen" | sed -n 's/^wellformed=//p')
    mf=$(tr ' ' '\n' <<<"$gen" | sed -n 's/^malformed=//p')
    other=$(tr ' ' '\n' <<<"$gen" | sed -n 's/^other=//p')
    local mode problems=() log out rc rx tx dr bad chk want_tx
    for mode in io macswap drop classify echo; do
        log=$dir/$mode.log out=$dir/out-$mode.pcap rc=0
        run_timeout 60 "$b" -l 0-1 --no-pci --no-huge -m 128 --vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$out" \
            -- --mode "$mode" --udp-port 19000 --duration 1 >"$log" 2>&1 || rc=$?
        rx=$(summary_get "$log" rx_packets) tx=$(summary_get "$log" tx_packets)
        dr=$(summary_get "$log" dropped) bad=$(summary_get "$log" malformed)
        if [ "$rc" != 0 ]; then problems+=("$mode：結束碼 $rc（$(grep -m1 -E '錯誤|runtime error|Sanitizer' "$log" | adv_dpdk_clip 80)）"); show_log "$log" 5; continue; fi
        if grep -qE 'runtime error:|Sanitizer' "$log"; then problems+=("$mode：$(grep -m1 -E 'runtime error:|Sanitizer' "$log" | adv_dpdk_clip 100)"); continue; fi
        [ "$rx" == "$frames" ] || problems+=("$mode：rx_packets=$rx，送進去 $frames")
        [ "$((bad + tx + dr))" == "$frames" ] || problems+=("$mode：malformed $bad + tx $tx + dropped $dr ≠ $frames")
        want_tx=$((wf + other)) # 程式的 malformed 定義與 hostile_frames.py 相同（它最多疊 3 層 VLAN）
        [ "$mode" != drop ] || want_tx=0
        if [ "$mode" == echo ]; then
            # echo：回應的只是合法 frame 的一部分（給 19000 的 UDP），其餘記為 not_echo / refused（也算在 dropped 裡）
            [ "$tx" -le "$wf" ] && [ "$dr" == "$(($(summary_get "$log" not_echo) + $(summary_get "$log" refused)))" ] ||
                problems+=("echo：回應 $tx 個（合法的只有 $wf 個），dropped $dr ≠ not_echo + refused")
            # 每個回應：來源埠是 19000、IPv4 表頭與 UDP 檢查和都正確（產生器的合法 frame 檢查和都正確，對調之後也必須正確）
            local replies
            replies=$("$ADV_DPDK_PY" -c 'import sys; sys.path.insert(0, sys.argv[2]); import dpdk_frames as d; from scapy.all import Ether, UDP
fr = d.read_pcap(sys.argv[1]); sp = sorted({str(Ether(f)[UDP].sport) for f in fr if UDP in Ether(f)})
print("sports=" + (",".join(sp) or "none"), "bad_checksum=%d" % sum(not d.checksums_ok(f) for f in fr))' "$out" "$ROOT/tests" 2>&1 | tail -n 1)
            [ "$tx" == 0 ] || [ "$replies" == "sports=19000 bad_checksum=0" ] || problems+=("echo：回應「$replies」，預期 sports=19000 bad_checksum=0")
        else
            [ "$tx" == "$want_tx" ] || problems+=("$mode：轉送 $tx 個，hostile_frames.py 說合法的（含非 IP）是 $want_tx 個")
        fi
        if chk=$("$ADV_DPDK_PY" "$ROOT/tests/hostile_frames.py" check "$out" 2>&1); then
            [ "$(tr ' ' '\n' <<<"$chk" | sed -n 's/^frames=//p')" == "$tx" ] || problems+=("$mode：out.pcap 有「$chk」，tx_packets=$tx")
        else
            problems+=("$mode：送出去的 frame 裡有 malformed（$chk）")
        fi
        if [ "$mode" == classify ] && [ "$(summary_get "$log" cls_frag)" == 0 ]; then problems+=("classify：cls_frag=0（產生器一定有非第一個分段）"); fi
    done
    if [ ${#problems[@]} == 0 ]; then
        pass "$name" "${b#"$ROOT"/}：$frames 個敵意 frame（seed $seed，合法 $wf、malformed $mf、非 IP $other）經 net_pcap 跑過 io/macswap/drop/classify/echo：沒有當掉，malformed + 轉送 + 丟棄 = $frames，送出的 pcap 沒有 malformed"
    else
        fail "$name" "${b#"$ROOT"/}，seed $seed（ADV_DPDK_SEED=$seed 可重現）：$(printf '%s；' "${problems[@]}")"
    fi
}

# 最後：沒有留下 hugepage 檔案與 /var/run/dpdk 底下的目錄。--no-huge 的執行仍會建空的 /var/run/dpdk/rte：
# tests/lib.sh 的 dpdk_check_leftovers 先收掉群組開始時沒有的空目錄再檢查（群組開始前就有的不動）
adv_dpdk_t_leftovers() {
    need_root adversarial.dpdk.leftovers || return 0
    dpdk_check_leftovers adversarial.dpdk.leftovers
}

adversarial_dpdk_full() {
    local b tag
    while read -r b; do
        tag=""
        [[ $b != */build/sanitize/* ]] || tag=_ubsan
        run_test adv_dpdk_t_hostile "$b" "$tag"
    done < <(adv_dpdk_builds)
    run_test adv_dpdk_t_leftovers
}
