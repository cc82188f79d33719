// dpdk_packet_processing.cpp — DPDK 輪詢模式（poll-mode）封包處理範例
//
// 這個程式示範什麼
//   * EAL 初始化、mbuf mempool、以 port 為單位設定 RX/TX queue（多 worker 時每個 worker 一組 queue，能用 RSS 就用）；
//   * 每個 lcore（main 除外）一個 worker：在堆疊上的 32 個 mbuf burst、prefetch、以 rte_eth_dev_tx_buffer 緩衝
//     TX（滿 32 個才送）並用計時器（TSC）每 100 µs rte_eth_tx_buffer_flush()、送不出的 mbuf 釋放並計數；
//   * 四種模式：io（原封不動轉送）、macswap（對調來源與目的 MAC 再送出）、drop（收下就釋放，rxonly）、
//     classify（依 L2/L3/L4 分類計數，再像 io 一樣轉送）；
//   * 轉送或分類前先檢查每個 frame：宣稱的表頭放不進 frame 就是 malformed（計數、釋放、絕不轉送），
//     檢查時絕不讀超過 frame 的結尾；
//   * 每個 lcore 自己一份 alignas(RTE_CACHE_LINE_SIZE) 計數器，main lcore 每秒印出各 port 的 pps 與 Mbit/s；
//   * SIGINT/SIGTERM 只設停止旗標，之後依序停 worker、停 port、關 port、釋放 mempool、rte_eal_cleanup()。
//
// 需求
//   Linux、DPDK 22.11（Debian：libdpdk-dev，驅動 librte-net-null23 / ring23 / pcap23 / af-packet23 / af-xdp23，
//   librte-mempool-ring23）。Debian 的 DPDK 從 pkg-config --variable=pmdsdir libdpdk 的目錄以 plugin 方式載入驅動
//   （EAL 內建這個預設路徑，不必加 -d）。root 權限；hugepage（make setup-hugepages）或 EAL 選項 --no-huge。
//   沒有實體網卡也能跑：用 --vdev 建立虛擬 port（net_null、net_ring、net_pcap、net_af_packet、net_af_xdp）。
//
// 編譯：make dpdk
// 執行：./dpdk_packet_processing -l 0-1 --no-pci --vdev net_null0 --vdev net_null1 -- --mode macswap --duration 5
//       ./dpdk_packet_processing -l 0-1 --no-pci --vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap' -- --mode io
//       ./dpdk_packet_processing -l 0-1 --no-pci --vdev net_af_packet0,iface=veth0 -- --mode macswap
//   EAL 選項放在 `--` 之前，程式選項放在 `--` 之後（--help 列出全部與預設值）。
//   沒有指定 --in-memory / --file-prefix / --proc-type 時，程式會自動加上 --in-memory（--no-huge 時改加 --no-shconf）：
//   hugepage 用匿名 memfd，結束後 /dev/hugepages 不留任何檔案，也能同時跑多個行程。
//   指定 --file-prefix 時（只接受英文字母或數字開頭、由英文字母、數字、-、_ 組成的 1–32 個字元，其他在 rte_eal_init 之前以 2 結束），
//   程式在 rte_eal_cleanup() 之後只刪 EAL 說是自己的 hugepage 檔案與執行目錄（rte_eal_get_runtime_dir()）。
//   試試看：測試會用 tests/dpdk_frames.py 產生 pcap；或在 veth 的另一端（netns）用 tcpdump 看 MAC 對調後的 frame。
//
// 指南章節：docs/kernel-bypass-guide.md 第 4 章「DPDK」。以 `// 8< 名稱` … `// >8 名稱` 標出的片段是章節引用的程式碼。

// DPDK 的標頭是 C 寫的：用 C++20 -Wpedantic 編譯會對零長度陣列、compound literal、volatile ++ 發出警告。
// 那些不是我們的程式碼，只在引入標頭的這一段關掉這三類警告。
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wvolatile"
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <bit>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace {

// ---------------------------------------------------------------- 可調參數（單位寫在名稱或註解）
constexpr uint16_t kBurst = 32;             // 每次 rx/tx 的 mbuf 數：DPDK 範例的慣例，攤平每次呼叫的固定成本
constexpr uint16_t kRxRingSize = 1024;      // RX descriptor 數；驅動可能調整（rte_eth_dev_adjust_nb_rx_tx_desc）
constexpr uint16_t kTxRingSize = 1024;      // TX descriptor 數
constexpr unsigned kMempoolCache = 256;     // 每個 lcore 的 mempool cache（mbuf 數），≤ RTE_MEMPOOL_CACHE_MAX_SIZE
constexpr unsigned kPrefetchAhead = 3;      // 處理第 i 個 frame 時先 prefetch 第 i+3 個的資料
constexpr unsigned kDrainUs = 100;          // TX 緩衝最長停留時間（微秒）：流量小時也不會卡住 frame
constexpr unsigned kTscCheckEvery = 4;      // worker 每幾圈輪詢才檢查一次 TX flush 計時器（一圈最多幾百 ns）
constexpr unsigned kStatsPollMs = 50;       // main lcore 檢查停止旗標的間隔（毫秒）
constexpr unsigned kMaxPairsPerWorker = 64; // 每個 worker 最多處理幾個 (port, queue)
constexpr uint16_t kMaxVlanTags = 4;        // 最多剝幾層 VLAN 標籤（802.1Q / QinQ 再多兩層）；更深的堆疊算 malformed
constexpr size_t kMaxFilePrefix = 32;       // --file-prefix 最長幾個字元：它會成為 /var/run/dpdk/<prefix>/mp_socket_…（sun_path 只有 108 B）

static_assert(kBurst <= kRxRingSize && kBurst <= kTxRingSize, "burst 不能大於 ring");
static_assert(std::has_single_bit(kRxRingSize) && std::has_single_bit(kTxRingSize), "ring 大小必須是 2 的次方");
static_assert(kMempoolCache <= RTE_MEMPOOL_CACHE_MAX_SIZE, "mempool cache 超過 DPDK 上限");
static_assert(kPrefetchAhead < kBurst, "prefetch 距離必須小於 burst");
static_assert(std::has_single_bit(kTscCheckEvery), "kTscCheckEvery 取 2 的次方，% 才會變成位元運算");

// 唯一的全域：停止旗標。信號處理函式只設定它；worker 與 main lcore 都輪詢它。
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "信號處理函式需要 lock-free 的旗標");

extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

// 結束碼
constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2, kExitNoDevice = 77;

// 設定期的錯誤：帶著結束碼與中文訊息往上丟到 main（main 以下不呼叫 exit()）。
// 它是 std::exception：main 另外也接住其他任何例外，解構（port stop、rte_eal_cleanup()）一樣會執行。
struct AppError : std::exception {
    int code;
    std::string message;
    AppError(int c, std::string m) : code(c), message(std::move(m)) {}
    const char* what() const noexcept override { return message.c_str(); }
};

// ---------------------------------------------------------------- 設定與參數
enum class Mode { io, macswap, drop, classify };

constexpr std::string_view mode_name(Mode m) {
    switch (m) {
    case Mode::io: return "io";
    case Mode::macswap: return "macswap";
    case Mode::drop: return "drop";
    case Mode::classify: return "classify";
    }
    return "?";
}

struct Config {
    Mode mode = Mode::macswap;
    uint64_t portmask = 0;  // 0 = 所有偵測到的 port
    double duration_s = 0;  // 0 = 直到 SIGINT/SIGTERM
    bool help = false;
};

void print_usage(const char* prog) {
    std::printf(
        "用法：%s [EAL 選項] -- [程式選項]\n"
        "\n"
        "DPDK 輪詢模式封包處理：每個 worker lcore 輪詢自己的 (port, queue)，依模式轉送、對調 MAC、丟棄或分類。\n"
        "\n"
        "程式選項（放在 -- 之後）：\n"
        "  --mode MODE       io | macswap | drop | classify（預設 macswap）\n"
        "                      io        原封不動轉送\n"
        "                      macswap   對調來源與目的 MAC 後轉送\n"
        "                      drop      收下就釋放（rxonly，不檢查內容）\n"
        "                      classify  依 IPv4/IPv6/ARP/VLAN/TCP/UDP/ICMP/分段/其他 計數，再像 io 一樣轉送\n"
        "  --portmask HEX    使用哪些 port 的十六進位遮罩（預設 0 = 全部）；\n"
        "                    1 個 port：從同一個 port 送回；偶數個：0↔1、2↔3 配對轉送；奇數個（>1）是錯誤\n"
        "  --duration 秒     執行多久後自動結束（預設 0 = 直到 Ctrl-C / SIGTERM）\n"
        "  -h, --help        顯示這段說明\n"
        "\n"
        "常用 EAL 選項（放在 -- 之前，完整清單見 DPDK 文件）：\n"
        "  -l 0-1                  使用的 lcore（第一個是 main lcore，其餘每個是一個 worker；預設全部）\n"
        "  --vdev net_null0        虛擬 port：net_null（丟棄/產生）、net_ring、\n"
        "                          'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap'、net_af_packet0,iface=veth0、\n"
        "                          net_af_xdp0,iface=veth0\n"
        "  --no-pci                不掃描 PCI 裝置（只用 --vdev 時建議加上）\n"
        "  --no-huge -m 256        不用 hugepage，改用 256 MiB 一般記憶體（較慢，但不需設定）\n"
        "  --in-memory             hugepage 不留檔案（沒指定 --in-memory/--file-prefix/--proc-type 時程式自動加上）\n"
        "  --file-prefix NAME      多行程模式（dpdk-proc-info、dpdk-telemetry.py -f NAME 可以連上來看統計）；NAME 是英文字母\n"
        "                          或數字開頭、由英文字母、數字、- 或 _ 組成的 1 到 32 個字元。程式結束時刪掉 EAL 為它建立的\n"
        "                          hugepage 檔案與 /var/run/dpdk/NAME/\n"
        "\n"
        "範例：\n"
        "  %s -l 0-1 --no-pci --vdev net_null0 --vdev net_null1 -- --mode io --duration 5\n"
        "  %s -l 0-1 --no-pci --vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap' -- --mode classify --duration 2\n"
        "\n"
        "輸出：[就緒] 表示 port 已啟動；每秒一行 [統計]；最後一行 [摘要] key=value …\n"
        "結束碼：0 成功，1 執行錯誤，2 參數錯誤，77 沒有 hugepage 或沒有 port\n",
        prog, prog, prog);
}

// 解析數字：std::from_chars，整個字串都要被吃掉，並檢查範圍
template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (s.empty()) return false;
    const char* end = s.data() + s.size();
    std::from_chars_result r{};
    if constexpr (std::is_floating_point_v<T>) {
        r = std::from_chars(s.data(), end, out);
    } else {
        r = std::from_chars(s.data(), end, out, base);
    }
    return r.ec == std::errc{} && r.ptr == end;
}

// 8< parse_args
// 解析 `--` 之後的程式選項；錯誤丟出 AppError{2, ...}
Config parse_app_args(std::span<char* const> args) {
    Config cfg;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto value = [&](std::string_view opt) -> std::string_view {
            if (i + 1 >= args.size()) throw AppError{kExitUsage, "選項 " + std::string(opt) + " 需要一個值"};
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            cfg.help = true;
        } else if (a == "--mode") {
            const std::string_view v = value(a);
            if (v == "io") cfg.mode = Mode::io;
            else if (v == "macswap") cfg.mode = Mode::macswap;
            else if (v == "drop" || v == "rxonly") cfg.mode = Mode::drop;
            else if (v == "classify") cfg.mode = Mode::classify;
            else throw AppError{kExitUsage, "未知的模式：" + std::string(v) + "（可用：io、macswap、drop、classify）"};
        } else if (a == "--portmask") {
            std::string_view v = value(a);
            if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
            if (!parse_number(v, cfg.portmask, 16))
                throw AppError{kExitUsage, "--portmask 必須是十六進位數字（例如 0x3），收到：" + std::string(args[i])};
        } else if (a == "--duration") {
            const std::string_view v = value(a);
            if (!parse_number(v, cfg.duration_s) || !(cfg.duration_s >= 0) || cfg.duration_s > 86400.0 * 365)
                throw AppError{kExitUsage, "--duration 必須是 0 到 31536000 之間的秒數，收到：" + std::string(v)};
        } else {
            throw AppError{kExitUsage, "未知的程式選項：" + std::string(a) + "（EAL 選項請放在 -- 之前）"};
        }
    }
    return cfg;
}
// >8 parse_args

// ---------------------------------------------------------------- 計數器（每個 worker 一份，cache line 對齊）
// 只有擁有它的 worker 會寫；main lcore 以 relaxed atomic 讀取，所以寫入也用 atomic_ref 的 relaxed store
// （在 x86 上就是一般的 mov，沒有 lock 前綴）。
// 8< counters
struct alignas(RTE_CACHE_LINE_SIZE) PortCounters {
    uint64_t rx_packets = 0, rx_bytes = 0;  // 這個 port 收到的
    uint64_t tx_packets = 0, tx_bytes = 0;  // 從這個 port 送出的
    uint64_t dropped = 0;                   // 送不出去（TX 滿）或 drop 模式丟掉的
    uint64_t malformed = 0;                 // 這個 port 收到、檢查不合格的
};
struct alignas(RTE_CACHE_LINE_SIZE) ClassCounters {
    uint64_t ipv4 = 0, ipv6 = 0, arp = 0, vlan = 0, other = 0;  // L2/L3：other = 不是 IPv4/IPv6/ARP
    uint64_t tcp = 0, udp = 0, icmp = 0, l4_other = 0;           // L4（只算 IPv4/IPv6）
    uint64_t frag = 0;                                           // 非第一個 IP 分段：沒有 L4 表頭，不算進 L4
};
struct alignas(RTE_CACHE_LINE_SIZE) WorkerStats {
    std::array<PortCounters, RTE_MAX_ETHPORTS> port{};
    ClassCounters cls{};
};
// >8 counters

inline void bump(uint64_t& c, uint64_t n) {
    std::atomic_ref<uint64_t> r(c);
    r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t peek(uint64_t& c) { return std::atomic_ref<uint64_t>(c).load(std::memory_order_relaxed); }

// ---------------------------------------------------------------- frame 檢查與分類
// 8< frame_check
// 判斷一個 frame 的表頭是否完整，順便分類。只讀 [0, seg_len) 之內的位元組：
//   seg_len   = 第一個 segment 的資料長度（表頭必須在這裡面，才能直接用指標讀）
//   frame_len = 整個 frame 的長度（IPv4 total length / IPv6 payload length 要放得進去）
// malformed：短於 Ethernet 表頭（14 B）、VLAN 標籤放不下或超過 kMaxVlanTags 層；
// IPv4 的 version 不是 4、IHL < 5、短於 IHL×4、total length 小於 IHL×4 或超出 frame；
// IPv6 的 version 不是 6、表頭（40 B）或 payload length 超出 frame；
// 宣稱 UDP/TCP 卻放不下那個表頭（見 check_l4）。frame 比 IP 宣稱的長（例如補到 60 B 的 padding）是合法的。
// 非第一個分段（fragment offset ≠ 0）沒有 L4 表頭：分類為 frag，不檢查 L4、不算 TCP/UDP。
enum FrameClass : uint16_t {
    kClsIpv4 = 1u << 0, kClsIpv6 = 1u << 1, kClsArp = 1u << 2, kClsVlan = 1u << 3, kClsOther = 1u << 4,
    kClsTcp = 1u << 5, kClsUdp = 1u << 6, kClsIcmp = 1u << 7, kClsL4Other = 1u << 8, kClsFrag = 1u << 9,
    kMalformed = 1u << 15,
};

inline uint16_t be16_at(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// L4：l4_len = IP 宣稱的 L4 長度（已確認在 frame 之內），avail = 第一個 segment 裡從 l4 起還有幾個位元組。
// UDP：8 B 表頭，UDP length 在 [8, l4_len]（還有後續分段的第一個分段例外：length 指整個資料報）；
// TCP：20 B 表頭，data offset × 4 在 [20, l4_len]。其他協定不檢查。
[[gnu::always_inline]] inline uint16_t check_l4(uint8_t proto, const uint8_t* l4, uint32_t l4_len, uint32_t avail,
                                                bool more_fragments) {
    switch (proto) {
    case IPPROTO_UDP: {
        if (l4_len < sizeof(rte_udp_hdr) || avail < sizeof(rte_udp_hdr)) [[unlikely]] return kMalformed;
        const uint32_t ulen = be16_at(l4 + 4);
        if (!more_fragments && (ulen < sizeof(rte_udp_hdr) || ulen > l4_len)) [[unlikely]] return kMalformed;
        return kClsUdp;
    }
    case IPPROTO_TCP: {
        if (l4_len < sizeof(rte_tcp_hdr) || avail < sizeof(rte_tcp_hdr)) [[unlikely]] return kMalformed;
        const uint32_t doff = (l4[12] >> 4) * 4u;
        if (doff < sizeof(rte_tcp_hdr) || doff > l4_len) [[unlikely]] return kMalformed;
        return kClsTcp;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return kClsIcmp;
    default: return kClsL4Other;
    }
}

[[gnu::always_inline]] inline uint16_t check_frame(const uint8_t* p, uint32_t seg_len, uint32_t frame_len) {
    uint32_t off = sizeof(rte_ether_hdr);  // 14
    if (seg_len < off) [[unlikely]] return kMalformed;
    uint16_t cls = 0;
    uint16_t type = be16_at(p + 12);
    // 標籤疊得比我們剝的還深：裡面的 IP 沒檢查過，不能當成「其他」轉送出去（否則疊標籤就能繞過檢查）
    for (uint16_t tags = 0; type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ; ++tags) {
        if (tags == kMaxVlanTags || seg_len < off + sizeof(rte_vlan_hdr)) [[unlikely]] return kMalformed;
        cls |= kClsVlan;
        type = be16_at(p + off + 2);
        off += sizeof(rte_vlan_hdr);
    }
    switch (type) {
    case RTE_ETHER_TYPE_IPV4: {
        if (seg_len < off + sizeof(rte_ipv4_hdr)) [[unlikely]] return kMalformed;
        const uint32_t ihl_bytes = (p[off] & 0x0f) * 4u;
        const uint32_t total = be16_at(p + off + 2);
        if ((p[off] >> 4) != 4 || ihl_bytes < sizeof(rte_ipv4_hdr) || seg_len < off + ihl_bytes || total < ihl_bytes ||
            off + total > frame_len) [[unlikely]]
            return kMalformed;
        const uint16_t frag = be16_at(p + off + 6);
        if (frag & RTE_IPV4_HDR_OFFSET_MASK) [[unlikely]] return cls | kClsIpv4 | kClsFrag;
        return cls | kClsIpv4 |
               check_l4(p[off + 9], p + off + ihl_bytes, total - ihl_bytes, seg_len - off - ihl_bytes,
                        (frag & RTE_IPV4_HDR_MF_FLAG) != 0);
    }
    case RTE_ETHER_TYPE_IPV6: {
        if (seg_len < off + sizeof(rte_ipv6_hdr)) [[unlikely]] return kMalformed;
        const uint32_t payload = be16_at(p + off + 4);
        if ((p[off] >> 4) != 6 || off + sizeof(rte_ipv6_hdr) + payload > frame_len) [[unlikely]] return kMalformed;
        uint32_t l4 = off + sizeof(rte_ipv6_hdr), l4_len = payload;
        uint8_t next = p[off + 6];
        bool more = false;
        if (next == IPPROTO_FRAGMENT) [[unlikely]] {  // 分段擴充表頭（8 B）；其他擴充表頭依 next header 分類
            if (l4_len < 8 || seg_len < l4 + 8) return kMalformed;
            const uint16_t frag = be16_at(p + l4 + 2);
            if (frag & 0xfff8) return cls | kClsIpv6 | kClsFrag;  // offset ≠ 0：非第一個分段
            more = (frag & 1) != 0;
            next = p[l4];
            l4 += 8;
            l4_len -= 8;
        }
        return cls | kClsIpv6 | check_l4(next, p + l4, l4_len, seg_len - l4, more);
    }
    case RTE_ETHER_TYPE_ARP: return cls | kClsArp;
    default: return cls | kClsOther;
    }
}
// >8 frame_check

inline void count_class(ClassCounters& local, uint16_t c) {
    local.ipv4 += (c & kClsIpv4) != 0;
    local.ipv6 += (c & kClsIpv6) != 0;
    local.arp += (c & kClsArp) != 0;
    local.vlan += (c & kClsVlan) != 0;
    local.other += (c & kClsOther) != 0;
    local.tcp += (c & kClsTcp) != 0;
    local.udp += (c & kClsUdp) != 0;
    local.icmp += (c & kClsIcmp) != 0;
    local.l4_other += (c & kClsL4Other) != 0;
    local.frag += (c & kClsFrag) != 0;
}

// ---------------------------------------------------------------- worker
// 一個 worker 負責的一組 (rx port, queue)：收進來的 frame 從 tx_port 的同號 queue 送出。
// 配對的兩個 port queue 數相同，(p, q) → (peer(p), q) 是一對一，所以每個 TX queue 只有一個 worker 在用，不需要鎖。
struct QueuePair {
    uint16_t rx_port = 0, queue = 0, tx_port = 0;
    rte_eth_dev_tx_buffer* tx_buf = nullptr;  // 送往 (tx_port, queue) 的緩衝
};

struct WorkerCtx {
    unsigned lcore = 0;
    Mode mode = Mode::macswap;
    std::array<QueuePair, kMaxPairsPerWorker> pairs{};
    unsigned nb_pairs = 0;
    WorkerStats* stats = nullptr;
    std::array<char, 256> error{};  // worker 因例外結束時的訊息（空字串 = 正常結束）
};

// rte_eth_tx_buffer 送不出去時的回呼：釋放 mbuf，並把它們從「已送出」改記為「丟棄」。
// 在 worker 自己的執行緒上被呼叫（在 rte_eth_tx_buffer / flush 裡），所以仍是單一寫入者。
extern "C" void on_tx_unsent(rte_mbuf** pkts, uint16_t unsent, void* userdata) {
    auto* pc = static_cast<PortCounters*>(userdata);
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < unsent; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    rte_pktmbuf_free_bulk(pkts, unsent);
    bump(pc->tx_packets, -static_cast<uint64_t>(unsent));
    bump(pc->tx_bytes, -bytes);
    bump(pc->dropped, unsent);
}

// 8< macswap
// 對調目的 MAC（位元組 0–5）與來源 MAC（6–11）：一次 8 B 加一次 4 B 的讀寫，不逐位元組搬。
// 只碰前 12 B（呼叫前已確認 frame 至少 14 B）。x86 是 little-endian：整數的第 k 個位元組就是記憶體的第 k 個位元組。
inline void swap_macs(uint8_t* p) {
    static_assert(std::endian::native == std::endian::little, "swap_macs 假設 little-endian");
    uint64_t a;  // d0 d1 d2 d3 d4 d5 s0 s1
    uint32_t b;  // s2 s3 s4 s5
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 4);
    const uint64_t lo = (a >> 48) | (uint64_t{b} << 16) | (a << 48);  // s0..s5 d0 d1
    const uint32_t hi = static_cast<uint32_t>(a >> 16);               // d2..d5
    std::memcpy(p, &lo, 8);
    std::memcpy(p + 8, &hi, 4);
}
// >8 macswap

// 8< tx_buffer
// 把 n 個 mbuf 放進 TX 緩衝，結果與逐個呼叫 rte_eth_tx_buffer() 完全相同（滿了就 rte_eth_tx_buffer_flush()）。
// 差別只在緩衝長度每個 burst 更新一次：逐個呼叫時每個 mbuf 都要「讀長度 → 加一 → 寫回 → 讀 size」，
// 這條經過記憶體的相依鏈在 net_null 上量得到佔了 worker 自己時間的三分之一。
inline void tx_buffer_bulk(QueuePair& qp, rte_mbuf** pkts, uint16_t n) {
    rte_eth_dev_tx_buffer* b = qp.tx_buf;
    while (n > 0) {
        const uint16_t k = std::min<uint16_t>(n, b->size - b->length);
        std::memcpy(&b->pkts[b->length], pkts, k * sizeof(rte_mbuf*));
        b->length += k;
        pkts += k;
        n -= k;
        if (b->length == b->size) rte_eth_tx_buffer_flush(qp.tx_port, qp.queue, b);
    }
}
// >8 tx_buffer

// 8< worker_loop
template <Mode M>
void worker_loop(WorkerCtx& ctx) {
    const uint64_t drain_tsc = (rte_get_tsc_hz() + US_PER_S - 1) / US_PER_S * kDrainUs;
    uint64_t prev_tsc = rte_rdtsc();
    const std::span<QueuePair> pairs(ctx.pairs.data(), ctx.nb_pairs);
    WorkerStats& st = *ctx.stats;

    for (unsigned iter = 0; !g_stop.load(std::memory_order_relaxed); ++iter) [[likely]] {
        // TX 計時 flush：緩衝裡的 frame 最多停留約 kDrainUs 微秒。
        // 每 kTscCheckEvery 圈才讀一次 TSC（這台 VM 上 rdtsc 約 10 ns，與處理一個 burst 同一個量級）
        if (iter % kTscCheckEvery == 0) {
            const uint64_t now = rte_rdtsc();
            if (now - prev_tsc > drain_tsc) [[unlikely]] {
                for (QueuePair& qp : pairs) rte_eth_tx_buffer_flush(qp.tx_port, qp.queue, qp.tx_buf);
                prev_tsc = now;
            }
        }

        for (QueuePair& qp : pairs) {
            rte_mbuf* bufs[kBurst];
            const uint16_t nb_rx = rte_eth_rx_burst(qp.rx_port, qp.queue, bufs, kBurst);
            if (nb_rx == 0) [[unlikely]] continue;
            PortCounters& rxc = st.port[qp.rx_port];

            if constexpr (M == Mode::drop) {
                // 連長度都不讀：在 net_null 上多讀一次 pkt_len 就慢了約 15%。
                // 這個模式的位元組數改由 main lcore 從驅動的 rte_eth_stats（ibytes）取得。
                rte_pktmbuf_free_bulk(bufs, nb_rx);
                bump(rxc.rx_packets, nb_rx);
                bump(rxc.dropped, nb_rx);
                continue;
            }

            for (unsigned i = 0; i < kPrefetchAhead && i < nb_rx; ++i) rte_prefetch0(rte_pktmbuf_mtod(bufs[i], void*));
            uint64_t rx_bytes = 0, tx_bytes = 0, bad = 0;
            uint16_t nb_ok = 0;  // 合法的 frame 往前壓縮到 bufs[0, nb_ok)
            ClassCounters cls{};
            for (uint16_t i = 0; i < nb_rx; ++i) {
                if (i + kPrefetchAhead < nb_rx) rte_prefetch0(rte_pktmbuf_mtod(bufs[i + kPrefetchAhead], void*));
                rte_mbuf* m = bufs[i];
                const uint32_t len = rte_pktmbuf_pkt_len(m);
                rx_bytes += len;
                auto* data = rte_pktmbuf_mtod(m, uint8_t*);
                const uint16_t c = check_frame(data, rte_pktmbuf_data_len(m), len);
                if (c & kMalformed) [[unlikely]] {
                    rte_pktmbuf_free(m);
                    ++bad;
                    continue;
                }
                if constexpr (M == Mode::classify) count_class(cls, c);
                if constexpr (M == Mode::macswap) swap_macs(data);
                tx_bytes += len;
                bufs[nb_ok++] = m;
            }
            // 先記「已交給 TX」，送不出去的由 on_tx_unsent 扣回來（所以要在交給緩衝之前記，計數器才不會暫時變成負的）
            PortCounters& txc = st.port[qp.tx_port];
            bump(rxc.rx_packets, nb_rx);
            bump(rxc.rx_bytes, rx_bytes);
            if (bad) [[unlikely]] bump(rxc.malformed, bad);
            bump(txc.tx_packets, nb_ok);
            bump(txc.tx_bytes, tx_bytes);
            // 交給 TX 緩衝：滿 kBurst 個才真正呼叫 tx_burst；送不出去的由 on_tx_unsent 釋放並計數
            tx_buffer_bulk(qp, bufs, nb_ok);
            if constexpr (M == Mode::classify) {
                bump(st.cls.ipv4, cls.ipv4); bump(st.cls.ipv6, cls.ipv6); bump(st.cls.arp, cls.arp);
                bump(st.cls.vlan, cls.vlan); bump(st.cls.other, cls.other); bump(st.cls.tcp, cls.tcp);
                bump(st.cls.udp, cls.udp); bump(st.cls.icmp, cls.icmp); bump(st.cls.l4_other, cls.l4_other);
                bump(st.cls.frag, cls.frag);
            }
        }
    }
    // 停止前把緩衝裡剩下的送出去（送不出去的由回呼釋放）
    for (QueuePair& qp : pairs) rte_eth_tx_buffer_flush(qp.tx_port, qp.queue, qp.tx_buf);
}
// >8 worker_loop

// lcore 的進入點由 EAL（C 程式碼）呼叫：例外絕不能穿過它。熱迴圈本身不丟例外，但萬一有（例如將來加了會配置記憶體的程式碼），
// 這裡接住、記下訊息、設停止旗標讓其他 lcore 也收手，回傳 -1；main lcore 在 rte_eal_mp_wait_lcore() 之後報告。
extern "C" int worker_main(void* arg) noexcept {
    auto& ctx = *static_cast<WorkerCtx*>(arg);
    try {
        switch (ctx.mode) {
        case Mode::io: worker_loop<Mode::io>(ctx); break;
        case Mode::macswap: worker_loop<Mode::macswap>(ctx); break;
        case Mode::drop: worker_loop<Mode::drop>(ctx); break;
        case Mode::classify: worker_loop<Mode::classify>(ctx); break;
        }
        return 0;
    } catch (const std::exception& e) {
        std::snprintf(ctx.error.data(), ctx.error.size(), "%s", e.what());
    } catch (...) {
        std::snprintf(ctx.error.data(), ctx.error.size(), "不是 std::exception 的例外");
    }
    g_stop.store(true);
    return -1;
}

// ---------------------------------------------------------------- RAII：mempool、port、TX 緩衝（EAL 的在後面）
// 宣告順序 = 取得順序，解構時倒過來：worker 停止 → TX 緩衝 → port（stop、close）→ mempool → rte_eal_cleanup()。
struct MempoolDeleter {
    void operator()(rte_mempool* mp) const { rte_mempool_free(mp); }
};
using MempoolPtr = std::unique_ptr<rte_mempool, MempoolDeleter>;

struct RteFree {
    void operator()(void* p) const { rte_free(p); }
};
using TxBufferPtr = std::unique_ptr<rte_eth_dev_tx_buffer, RteFree>;

// 一個已設定的 port：解構時 stop + close
class Port {
public:
    explicit Port(uint16_t id) : id_(id) {}
    Port(Port&& o) noexcept : id_(o.id_), configured_(std::exchange(o.configured_, false)), started_(std::exchange(o.started_, false)) {}
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    Port& operator=(Port&&) = delete;
    ~Port() {
        if (started_) rte_eth_dev_stop(id_);
        if (configured_) rte_eth_dev_close(id_);
    }
    uint16_t id() const { return id_; }
    void mark_configured() { configured_ = true; }
    void mark_started() { started_ = true; }

private:
    uint16_t id_;
    bool configured_ = false;
    bool started_ = false;
};

std::string port_name(uint16_t port) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(port, name) != 0) return "port" + std::to_string(port);
    return name;
}

AppError port_error(uint16_t port, const char* call, int ret, const char* hint) {
    return AppError{kExitRuntime, "port " + std::to_string(port) + "（" + port_name(port) + "）的 " + call +
                                      " 失敗：" + rte_strerror(-ret) + "（" + std::to_string(ret) + "）；" + hint};
}

// 8< port_init
// 設定一個 port：nb_queues 組 RX/TX queue（多於一組且驅動支援時開 RSS），啟動並開 promiscuous。
void port_init(Port& port, uint16_t nb_queues, rte_mempool* pool) {
    const uint16_t id = port.id();
    rte_eth_dev_info info{};
    if (int ret = rte_eth_dev_info_get(id, &info); ret != 0)
        throw port_error(id, "rte_eth_dev_info_get", ret, "port 可能已被移除");

    rte_eth_conf conf{};
    if (nb_queues > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;  // 依 IP/TCP/UDP 雜湊把流量分到各 queue
        conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;  // 只有一個 mempool、refcnt 都是 1，可以快速釋放

    if (int ret = rte_eth_dev_configure(id, nb_queues, nb_queues, &conf); ret != 0)
        throw port_error(id, "rte_eth_dev_configure", ret, "驅動可能不支援這麼多 queue，試試減少 -l 的 lcore");
    port.mark_configured();

    uint16_t nb_rxd = kRxRingSize, nb_txd = kTxRingSize;
    if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rxd, &nb_txd); ret != 0)
        throw port_error(id, "rte_eth_dev_adjust_nb_rx_tx_desc", ret, "驅動不接受這個 ring 大小");

    const int socket = rte_eth_dev_socket_id(id);
    const unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < nb_queues; ++q) {
        if (int ret = rte_eth_rx_queue_setup(id, q, nb_rxd, sock, nullptr, pool); ret < 0)
            throw port_error(id, "rte_eth_rx_queue_setup", ret, "檢查 mempool 大小與驅動的 queue 數上限");
        rte_eth_txconf txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        if (int ret = rte_eth_tx_queue_setup(id, q, nb_txd, sock, &txconf); ret < 0)
            throw port_error(id, "rte_eth_tx_queue_setup", ret, "檢查驅動的 queue 數上限");
    }

    if (int ret = rte_eth_dev_start(id); ret < 0)
        throw port_error(id, "rte_eth_dev_start", ret, "檢查 --vdev 的參數（介面存在且已 up？檔案可讀寫？）");
    port.mark_started();

    // 虛擬 port 多半不支援 promiscuous（-ENOTSUP），不算錯誤
    if (int ret = rte_eth_promiscuous_enable(id); ret != 0 && ret != -ENOTSUP)
        std::fprintf(stderr, "注意：port %u 無法開啟 promiscuous：%s\n", id, rte_strerror(-ret));
}
// >8 port_init

// ---------------------------------------------------------------- hugepage 與 EAL 參數
bool has_arg(std::span<const std::string> args, std::string_view name) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
        return a == name || (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=');
    });
}

// 系統上所有大小的 hugepage 中，空閒的總頁數
uint64_t free_hugepages() {
    namespace fs = std::filesystem;
    uint64_t total = 0;
    std::error_code ec;
    // range-for 的 ++ 是會丟例外的版本，所以用 increment(ec) 自己走
    for (fs::directory_iterator it("/sys/kernel/mm/hugepages", ec), end; !ec && it != end; it.increment(ec)) {
        std::ifstream f(it->path() / "free_hugepages");
        uint64_t n = 0;
        if (f >> n) total += n;
    }
    return total;
}

// 8< file_prefix
// --file-prefix 的值會成為 EAL 執行目錄（root 是 /var/run/dpdk/<prefix>/）與 hugepage 檔名（<hugetlbfs>/<prefix>map_N）的一部分，
// DPDK 22.11 自己不檢查它：.. 會讓執行目錄變成 /var/run 本身。所以只接受 DPDK 自己會合理建立的名字——
// 英文字母或數字開頭，其餘是英文字母、數字、- 或 _，最多 kMaxFilePrefix 個字元——其他的在 rte_eal_init 之前以結束碼 2 拒絕。
// getopt_long 接受不含糊的縮寫（--fi、--file-pre…），那也是 --file-prefix，所以縮寫一律請使用者寫完整。
// 回傳最後一次出現的值（EAL 用的也是最後一次），沒有就是空字串。
std::string checked_file_prefix(std::span<const std::string> eal_args) {
    constexpr std::string_view kOpt = "--file-prefix";
    auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    std::string prefix;
    for (size_t i = 1; i < eal_args.size(); ++i) {
        const std::string_view a = eal_args[i];
        const size_t eq = a.find('=');
        const std::string_view name = a.substr(0, eq);
        if (name.size() < 4 || !kOpt.starts_with(name)) continue;  // --fi 起才只可能是 --file-prefix
        if (name != kOpt)
            throw AppError{kExitUsage, "EAL 選項 " + std::string(name) + " 是 --file-prefix 的縮寫：請寫完整的 --file-prefix"};
        std::string_view v;
        if (eq != std::string_view::npos) v = a.substr(eq + 1);
        else if (i + 1 < eal_args.size()) v = eal_args[++i];
        else throw AppError{kExitUsage, "EAL 選項 --file-prefix 需要一個值（例如 --file-prefix kbd）"};
        const bool ok = !v.empty() && v.size() <= kMaxFilePrefix && is_alnum(v.front()) &&
                        std::all_of(v.begin(), v.end(), [&](char c) { return is_alnum(c) || c == '-' || c == '_'; });
        if (!ok)
            throw AppError{kExitUsage, "--file-prefix 只接受英文字母或數字開頭、由英文字母、數字、- 或 _ 組成的 1 到 " +
                                           std::to_string(kMaxFilePrefix) + " 個字元（它會成為 /var/run/dpdk/<prefix>/ 與 hugepage "
                                           "檔名的一部分，不能有 /、.、空白），收到：「" + std::string(v) + "」"};
        prefix = v;
    }
    return prefix;
}
// >8 file_prefix

// 8< eal_raii
// rte_eal_init 成功之後才建立；解構時 rte_eal_cleanup()。
// DPDK 22.11 的 rte_eal_cleanup() 不刪 primary 的 hugepage 檔案（<hugetlbfs>/<prefix>map_N）與執行目錄（config、fbarray_*、
// hugepage_info），留給下一次或 secondary 重用。使用者給了 --file-prefix、而這個行程是獨占那個 prefix 的 primary
// （不是 --in-memory / --no-shconf：EAL 以 fcntl 鎖住 <執行目錄>/config，同名的第二個 primary 起不來）時，由這裡收尾，
// 而且只刪 EAL 說是這個行程的東西，從不用使用者給的字串拼路徑：
//   hugepage 檔案：rte_eal_cleanup() 之前走過每個 memseg，用它的 fd（rte_memseg_get_fd_thread_unsafe）在 /proc/self/fd
//                  查出路徑；只收在 hugetlbfs 上、檔名以 <prefix>map_ 開頭的（已 unlink 的、memfd 的都不算）；
//   執行目錄：rte_eal_get_runtime_dir()（最後一段必須正好是 prefix），只 unlink 它直接含有的檔案（不遞迴、不跟隨 symlink）再 rmdir。
// 解構函式不丟例外：路徑清單在 try 裡收集，其餘都是不會丟例外的 C 呼叫。
class Eal {
public:
    explicit Eal(std::string_view prefix) noexcept : prefix_(prefix) {
        if (prefix_.empty() || rte_eal_process_type() != RTE_PROC_PRIMARY) return;
        const char* dir = rte_eal_get_runtime_dir();
        const std::string_view d = dir ? dir : "";
        if (d.size() < sizeof runtime_dir_ && d.ends_with(prefix_) && d.size() > prefix_.size() &&
            d[d.size() - prefix_.size() - 1] == '/')
            std::snprintf(runtime_dir_, sizeof runtime_dir_, "%s", dir);
        own_ = true;
    }
    Eal(const Eal&) = delete;
    Eal& operator=(const Eal&) = delete;
    ~Eal() {
        std::vector<std::string> files;
        if (own_) {
            try {
                Walk w{prefix_, &files};
                rte_memseg_walk(collect_hugepage_file, &w);
            } catch (...) {  // 只可能是配置記憶體失敗：少刪幾個檔案，總比不呼叫 rte_eal_cleanup() 好
            }
        }
        rte_eal_cleanup();
        if (!own_) return;
        for (const std::string& f : files) unlink(f.c_str());
        if (runtime_dir_[0] != '\0') remove_runtime_dir(runtime_dir_);
    }

private:
    struct Walk {
        std::string_view prefix;
        std::vector<std::string>* files;
    };
    // rte_memseg_walk 的回呼（由 C 呼叫，例外不能穿過它）
    static int collect_hugepage_file(const rte_memseg_list*, const rte_memseg* ms, void* arg) noexcept {
        const int fd = rte_memseg_get_fd_thread_unsafe(ms);
        if (fd < 0) return 0;  // 沒有檔案（--no-huge、memfd 以外的匿名記憶體）
        char link[64], path[PATH_MAX];
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        const ssize_t n = readlink(link, path, sizeof path - 1);
        if (n <= 0) return 0;
        path[n] = '\0';
        struct statfs fs{};
        if (statfs(path, &fs) != 0 || fs.f_type != HUGETLBFS_MAGIC) return 0;  // 已刪除（" (deleted)"）或不在 hugetlbfs
        const auto& w = *static_cast<const Walk*>(arg);
        const char* slash = std::strrchr(path, '/');
        const std::string_view base = slash ? slash + 1 : path;
        if (!base.starts_with(w.prefix) || !base.substr(w.prefix.size()).starts_with("map_")) return 0;
        try {
            auto& files = *w.files;
            if (std::find(files.begin(), files.end(), path) == files.end()) files.emplace_back(path);  // single-file-segments：同一個 fd
        } catch (...) {
            return -1;
        }
        return 0;
    }
    static void remove_runtime_dir(const char* dir) noexcept {
        const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) return;
        if (DIR* d = fdopendir(dfd)) {
            while (const dirent* e = readdir(d)) {
                const std::string_view name = e->d_name;
                if (name != "." && name != "..") unlinkat(dfd, e->d_name, 0);  // 子目錄（EAL 不建）unlinkat 會失敗，留著
            }
            closedir(d);  // 也關掉 dfd
        } else {
            close(dfd);
        }
        rmdir(dir);  // 還有東西（例如別人放的子目錄）就失敗，留著
    }

    std::string_view prefix_;
    char runtime_dir_[PATH_MAX] = {};
    bool own_ = false;
};
// >8 eal_raii

// 8< eal_init
// EAL 參數：使用者沒選記憶體模式時加上 --in-memory（/dev/hugepages 不留檔案、不建共享設定檔，
// 所以同時跑好幾個行程也不必各給 --file-prefix）。
// 沒有 hugepage 又沒加 --no-huge 時，在 rte_eal_init 之前就用中文說明並以 77 結束。
void eal_init(std::vector<std::string> eal_args) {
    const bool no_huge = has_arg(eal_args, "--no-huge");
    // --no-huge 已不碰 hugetlbfs（而且與 --in-memory 不相容），改加 --no-shconf：同樣不建共享設定檔。
    if (!has_arg(eal_args, "--in-memory") && !has_arg(eal_args, "--file-prefix") && !has_arg(eal_args, "--proc-type") &&
        !has_arg(eal_args, "--no-shconf"))
        eal_args.emplace_back(no_huge ? "--no-shconf" : "--in-memory");
    if (!no_huge && free_hugepages() == 0)
        throw AppError{kExitNoDevice,
                       "沒有可用的 hugepage（/sys/kernel/mm/hugepages/*/free_hugepages 全是 0）。"
                       "請以 root 執行 make setup-hugepages 保留 2 MiB hugepage，或加上 EAL 選項 --no-huge（例如 --no-huge -m 256）改用一般記憶體"};

    std::vector<char*> argv;
    for (std::string& a : eal_args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int ret = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    if (ret < 0) {
        const int err = rte_errno;
        std::string msg = std::string("rte_eal_init 失敗：") + rte_strerror(err) + "（rte_errno " + std::to_string(err) + "）；";
        if (err == EINVAL) msg += "EAL 選項有誤，請看上面 EAL 的說明（EAL 選項放在 -- 之前，程式選項放在 -- 之後）";
        else if (err == EACCES || err == EPERM) msg += "權限不足，請以 root 執行";
        else if (err == ENOMEM) msg += "記憶體不足：執行 make setup-hugepages 保留更多 hugepage，或用 --no-huge -m 256";
        else msg += "看上面 EAL 的訊息；只用虛擬 port 時加上 --no-pci";
        throw AppError{err == EINVAL ? kExitUsage : kExitRuntime, msg};
    }
}
// >8 eal_init

// ---------------------------------------------------------------- 統計
struct Totals {
    uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, dropped = 0, malformed = 0;
};

// driver_rx_bytes：drop 模式的 worker 不讀 frame 長度，收到的位元組改用驅動的計數器（rte_eth_stats.ibytes；
// net_null 不計位元組，所以是 0）
Totals port_totals(std::span<WorkerStats> stats, uint16_t port, bool driver_rx_bytes) {
    Totals t;
    if (driver_rx_bytes) {
        rte_eth_stats es{};
        if (rte_eth_stats_get(port, &es) == 0) t.rx_bytes = es.ibytes;
    }
    for (WorkerStats& w : stats) {
        PortCounters& p = w.port[port];
        t.rx_packets += peek(p.rx_packets);
        t.rx_bytes += peek(p.rx_bytes);
        t.tx_packets += peek(p.tx_packets);
        t.tx_bytes += peek(p.tx_bytes);
        t.dropped += peek(p.dropped);
        t.malformed += peek(p.malformed);
    }
    return t;
}

struct Summary {
    Totals total;
    ClassCounters cls;
    unsigned ports = 0, workers = 0;
    double seconds = 0;
};

// 8< stats
// main lcore：每秒一行 [統計]，各 port 的 rx/tx/drop pps 與 Mbit/s（frame 位元組，不含前導碼與 CRC）
class StatsPrinter {
public:
    StatsPrinter(std::span<WorkerStats> stats, std::span<const uint16_t> ports, bool driver_rx_bytes)
        : stats_(stats), ports_(ports), prev_(ports.size()), driver_rx_bytes_(driver_rx_bytes) {}

    void print(unsigned second, double dt) {
        std::string line = "[統計] 第 " + std::to_string(second) + " 秒";
        Totals sum_delta;
        std::string per_port;
        for (size_t i = 0; i < ports_.size(); ++i) {
            const Totals now = port_totals(stats_, ports_[i], driver_rx_bytes_);
            const Totals d{now.rx_packets - prev_[i].rx_packets, now.rx_bytes - prev_[i].rx_bytes,
                           now.tx_packets - prev_[i].tx_packets, now.tx_bytes - prev_[i].tx_bytes,
                           now.dropped - prev_[i].dropped, now.malformed - prev_[i].malformed};
            prev_[i] = now;
            sum_delta.rx_packets += d.rx_packets;
            sum_delta.tx_packets += d.tx_packets;
            char buf[256];
            std::snprintf(buf, sizeof buf, " | port%u rx %.3f Mpps %.1f Mbit/s tx %.3f Mpps %.1f Mbit/s drop %.0f pps malformed %.0f pps",
                          ports_[i], d.rx_packets / dt / 1e6, d.rx_bytes * 8 / dt / 1e6, d.tx_packets / dt / 1e6,
                          d.tx_bytes * 8 / dt / 1e6, d.dropped / dt, d.malformed / dt);
            per_port += buf;
        }
        char head[128];
        std::snprintf(head, sizeof head, " rx_pps=%.0f tx_pps=%.0f", sum_delta.rx_packets / dt, sum_delta.tx_packets / dt);
        std::printf("%s%s%s\n", line.c_str(), head, per_port.c_str());
    }

private:
    std::span<WorkerStats> stats_;
    std::span<const uint16_t> ports_;
    std::vector<Totals> prev_;
    bool driver_rx_bytes_;
};
// >8 stats

// ---------------------------------------------------------------- 主流程
// 8< mempool_size
// mbuf 總數 = 所有可能同時被佔住的 mbuf：
//   每個 port 每個 queue：RX ring（nb_rxd）+ TX ring（nb_txd）+ TX 緩衝（kBurst）
//   + 每個 worker 堆疊上的一個 burst（kBurst）
//   + 每個 lcore 的 mempool cache（kMempoolCache，含 main lcore）
// 例：2 個 port × 1 queue × (1024 + 1024 + 32) + 1 × 32 + 2 × 256 = 4160 + 32 + 512 = 4704，
// 再取不小於它的 2^n − 1（rte_mempool 的 ring 大小是 2^n，2^n − 1 個元素最省記憶體）= 8191。
unsigned mempool_size(unsigned nb_ports, unsigned nb_queues, unsigned nb_workers) {
    const unsigned per_queue = kRxRingSize + kTxRingSize + kBurst;
    const unsigned need = nb_ports * nb_queues * per_queue + nb_workers * kBurst + rte_lcore_count() * kMempoolCache;
    return static_cast<unsigned>(rte_align32pow2(need + 1) - 1);
}
// >8 mempool_size

// 依 --portmask 選出要用的 port，並檢查個數
std::vector<uint16_t> select_ports(uint64_t portmask) {
    std::vector<uint16_t> ports;
    uint16_t id;
    RTE_ETH_FOREACH_DEV(id) {
        if (portmask == 0 || (id < 64 && (portmask >> id) & 1)) ports.push_back(id);
    }
    if (ports.empty()) {
        if (rte_eth_dev_count_avail() == 0)
            throw AppError{kExitNoDevice,
                           "找不到任何 port。沒有綁定 DPDK 的網卡時，用 --vdev 建立虛擬 port，例如："
                           "--vdev net_null0 --vdev net_null1、--vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap'、"
                           "--vdev net_af_packet0,iface=veth0（只用虛擬 port 時加上 --no-pci）"};
        throw AppError{kExitUsage, "--portmask 沒有選到任何存在的 port（共有 " + std::to_string(rte_eth_dev_count_avail()) + " 個）"};
    }
    if (ports.size() > 1 && ports.size() % 2 != 0)
        throw AppError{kExitUsage, "選到 " + std::to_string(ports.size()) +
                                       " 個 port：奇數個（大於 1）無法兩兩配對（0↔1、2↔3）；用 --portmask 選 1 個或偶數個"};
    return ports;
}

// 8< assign_queues
// 把每個 port 的每個 queue 輪流分給 worker：(ports[i], q) 收到的從 (peer, q) 送出，每組配一個 TX 緩衝。
// 送不出去時的回呼記在「負責這組的 worker」的計數器上，所以仍是單一寫入者。
std::vector<TxBufferPtr> assign_queue_pairs(std::span<const uint16_t> ports, std::span<const uint16_t> nb_queues,
                                            std::span<WorkerCtx> ctxs, std::span<WorkerStats> stats) {
    std::vector<TxBufferPtr> tx_buffers;
    const size_t nb_workers = ctxs.size();
    size_t next = 0;
    for (size_t i = 0; i < ports.size(); ++i) {
        const uint16_t tx_port = ports[ports.size() == 1 ? i : (i ^ 1u)];
        for (uint16_t q = 0; q < nb_queues[i]; ++q, ++next) {
            const size_t w = next % nb_workers;
            WorkerCtx& ctx = ctxs[w];
            if (ctx.nb_pairs == kMaxPairsPerWorker) throw AppError{kExitUsage, "每個 worker 的 (port, queue) 太多，請減少 port"};
            auto* buf = static_cast<rte_eth_dev_tx_buffer*>(
                rte_zmalloc_socket("tx_buffer", RTE_ETH_TX_BUFFER_SIZE(kBurst), 0, rte_eth_dev_socket_id(tx_port)));
            if (!buf) throw AppError{kExitRuntime, "rte_zmalloc_socket（TX 緩衝）失敗：記憶體不足"};
            tx_buffers.emplace_back(buf);
            rte_eth_tx_buffer_init(buf, kBurst);
            rte_eth_tx_buffer_set_err_callback(buf, on_tx_unsent, &stats[w].port[tx_port]);
            ctx.pairs[ctx.nb_pairs++] = QueuePair{ports[i], q, tx_port, buf};
        }
    }
    return tx_buffers;
}
// >8 assign_queues

// 所有 port、所有 worker 的計數相加（worker 都已停止）
Summary collect_summary(std::span<WorkerStats> stats, std::span<const uint16_t> ports, bool driver_rx_bytes) {
    Summary s;
    s.ports = static_cast<unsigned>(ports.size());
    for (uint16_t p : ports) {
        const Totals t = port_totals(stats, p, driver_rx_bytes);
        s.total.rx_packets += t.rx_packets;
        s.total.rx_bytes += t.rx_bytes;
        s.total.tx_packets += t.tx_packets;
        s.total.tx_bytes += t.tx_bytes;
        s.total.dropped += t.dropped;
        s.total.malformed += t.malformed;
    }
    for (WorkerStats& w : stats) {
        s.cls.ipv4 += w.cls.ipv4; s.cls.ipv6 += w.cls.ipv6; s.cls.arp += w.cls.arp;
        s.cls.vlan += w.cls.vlan; s.cls.other += w.cls.other; s.cls.tcp += w.cls.tcp;
        s.cls.udp += w.cls.udp; s.cls.icmp += w.cls.icmp; s.cls.l4_other += w.cls.l4_other;
        s.cls.frag += w.cls.frag;
    }
    return s;
}

// rte_eal_mp_wait_lcore() 之前離開 run()（例外）時，先讓 worker 停下來，port 才能關：宣告在 port 與 TX 緩衝之後，所以最先解構
struct WorkerStopper {
    WorkerStopper() = default;
    WorkerStopper(const WorkerStopper&) = delete;
    WorkerStopper& operator=(const WorkerStopper&) = delete;
    ~WorkerStopper() {
        g_stop.store(true);
        rte_eal_mp_wait_lcore();  // 沒啟動過的 lcore 立刻返回
    }
};

Summary run(const Config& cfg, std::vector<std::string> eal_args) {
    // 1. EAL（信號處理函式在 main 的第一步就裝好了）
    const std::string prefix = checked_file_prefix(eal_args);  // 不合理的 --file-prefix：rte_eal_init 之前就以 2 結束
    const bool own_prefix = !prefix.empty() && !has_arg(eal_args, "--in-memory") && !has_arg(eal_args, "--no-shconf");
    eal_init(std::move(eal_args));
    Eal eal(own_prefix ? std::string_view(prefix) : std::string_view{});  // 從這裡起，離開 run() 一定會 rte_eal_cleanup()

    // 2. port 與 worker
    const std::vector<uint16_t> ports = select_ports(cfg.portmask);
    std::vector<unsigned> worker_lcores;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) worker_lcores.push_back(lcore);
    if (worker_lcores.empty())
        throw AppError{kExitUsage, "至少需要 2 個 lcore（main + 1 個 worker），例如 -l 0-1"};
    const unsigned nb_workers = static_cast<unsigned>(worker_lcores.size());

    // 每對 port 的 queue 數 = min(worker 數, 兩邊驅動的上限)，配對兩端相同
    auto peer_of = [&](size_t i) { return ports.size() == 1 ? i : (i ^ 1u); };
    std::vector<uint16_t> nb_queues(ports.size());
    for (size_t i = 0; i < ports.size(); ++i) {
        rte_eth_dev_info info{};
        if (int ret = rte_eth_dev_info_get(ports[i], &info); ret != 0)
            throw port_error(ports[i], "rte_eth_dev_info_get", ret, "port 可能已被移除");
        nb_queues[i] = static_cast<uint16_t>(std::min<unsigned>({nb_workers, info.max_rx_queues, info.max_tx_queues}));
    }
    for (size_t i = 0; i < ports.size(); ++i) nb_queues[i] = std::min(nb_queues[i], nb_queues[peer_of(i)]);

    // 3. mempool
    const unsigned nb_mbufs = mempool_size(static_cast<unsigned>(ports.size()), *std::max_element(nb_queues.begin(), nb_queues.end()), nb_workers);
    MempoolPtr pool(rte_pktmbuf_pool_create("mbuf_pool", nb_mbufs, kMempoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id())));
    if (!pool)
        throw AppError{kExitRuntime, std::string("rte_pktmbuf_pool_create（") + std::to_string(nb_mbufs) + " 個 mbuf）失敗：" +
                                         rte_strerror(rte_errno) + "；hugepage 不夠時執行 make setup-hugepages 或加大 -m"};

    // 4. 啟動 port
    std::vector<Port> port_objs;
    port_objs.reserve(ports.size());
    for (size_t i = 0; i < ports.size(); ++i) {
        port_objs.emplace_back(ports[i]);
        port_init(port_objs.back(), nb_queues[i], pool.get());
    }

    // 5. 把 (port, queue) 輪流分給 worker，每組配一個 TX 緩衝
    std::vector<WorkerStats> stats(nb_workers);
    std::vector<WorkerCtx> ctxs(nb_workers);
    const std::vector<TxBufferPtr> tx_buffers = assign_queue_pairs(ports, nb_queues, ctxs, stats);

    // 6. 啟動 worker，main lcore 印統計並等待停止
    WorkerStopper stopper;
    if (g_stop.load()) {  // 啟動途中（例如 rte_eal_init 還在映射 hugepage 時）就收到 SIGINT/SIGTERM
        std::fprintf(stderr, "注意：啟動途中收到停止信號，不啟動 worker，直接收尾\n");
        Summary s;
        s.ports = static_cast<unsigned>(ports.size());
        s.workers = nb_workers;
        return s;
    }
    for (unsigned w = 0; w < nb_workers; ++w) {
        ctxs[w].lcore = worker_lcores[w];
        ctxs[w].mode = cfg.mode;
        ctxs[w].stats = &stats[w];
        if (int ret = rte_eal_remote_launch(worker_main, &ctxs[w], worker_lcores[w]); ret != 0) {
            g_stop.store(true);
            rte_eal_mp_wait_lcore();
            throw AppError{kExitRuntime, "rte_eal_remote_launch（lcore " + std::to_string(worker_lcores[w]) + "）失敗：" + rte_strerror(-ret)};
        }
    }
    std::string port_list;
    for (size_t i = 0; i < ports.size(); ++i)
        port_list += (i ? "、" : "") + std::to_string(ports[i]) + "（" + port_name(ports[i]) + "，" + std::to_string(nb_queues[i]) +
                     " queue，送往 port " + std::to_string(ports[peer_of(i)]) + "）";
    std::printf("[就緒] 模式 %s，%zu 個 port：%s；%u 個 worker，mempool %u 個 mbuf\n", mode_name(cfg.mode).data(), ports.size(),
                port_list.c_str(), nb_workers, nb_mbufs);
    for (unsigned w = 0; w < nb_workers; ++w)
        if (ctxs[w].nb_pairs == 0) std::printf("注意：lcore %u 沒有分到 queue（queue 數少於 worker 數），閒置\n", ctxs[w].lcore);

    // 8< main_loop
    StatsPrinter printer(stats, ports, cfg.mode == Mode::drop);
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto last = start;
    unsigned second = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(kStatsPollMs));
        const auto now = clock::now();
        if (now - last >= std::chrono::seconds(1)) {
            printer.print(++second, std::chrono::duration<double>(now - last).count());
            last = now;
        }
        if (cfg.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= cfg.duration_s) g_stop.store(true);
    }
    rte_eal_mp_wait_lcore();  // worker 看到旗標、flush 完 TX 緩衝後返回
    // >8 main_loop

    for (const WorkerCtx& c : ctxs)
        if (c.error[0] != '\0')
            throw AppError{kExitRuntime, "lcore " + std::to_string(c.lcore) + " 的 worker 因例外結束：" + c.error.data() +
                                             "（其他 worker 已停止，port 與 EAL 照常收尾）"};
    Summary s = collect_summary(stats, ports, cfg.mode == Mode::drop);
    s.seconds = std::chrono::duration<double>(clock::now() - start).count();
    s.workers = nb_workers;
    return s;  // 解構：worker（已停）→ TX 緩衝 → port stop/close → mempool → rte_eal_cleanup() → 自己的 hugepage 檔案與執行目錄
}

void print_summary(const Config& cfg, const Summary& s) {
    const double secs = s.seconds > 0 ? s.seconds : 1;
    std::printf("[摘要] mode=%s rx_packets=%lu tx_packets=%lu dropped=%lu malformed=%lu rx_pps=%.0f tx_pps=%.0f "
                "rx_mbps=%.1f tx_mbps=%.1f ports=%u workers=%u seconds=%.3f "
                "cls_ipv4=%lu cls_ipv6=%lu cls_arp=%lu cls_vlan=%lu cls_tcp=%lu cls_udp=%lu cls_icmp=%lu cls_other=%lu cls_l4_other=%lu cls_frag=%lu\n",
                mode_name(cfg.mode).data(), s.total.rx_packets, s.total.tx_packets, s.total.dropped, s.total.malformed,
                s.total.rx_packets / secs, s.total.tx_packets / secs, s.total.rx_bytes * 8 / secs / 1e6,
                s.total.tx_bytes * 8 / secs / 1e6, s.ports, s.workers, s.seconds, s.cls.ipv4, s.cls.ipv6, s.cls.arp,
                s.cls.vlan, s.cls.tcp, s.cls.udp, s.cls.icmp, s.cls.other, s.cls.l4_other, s.cls.frag);
}

// 8< signals
// SIGINT/SIGTERM 只設停止旗標。用 sigaction（std::signal 在不同平台的語意不一，例如處理一次後是否還原成預設），
// 並加 SA_RESTART：EAL 的執行緒也可能接到信號，被打斷的系統呼叫自動重來，不會變成 EAL 裡意料之外的 EINTR。
// 在 main 的第一步就裝好：rte_eal_init 可能要好幾秒（映射 hugepage、探測裝置），這段時間的 Ctrl-C 也要走正常的收尾，
// 而不是被預設動作直接殺掉，留下 hugepage 檔案與執行目錄。
bool install_stop_signals() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGINT, &sa, nullptr) == 0 && sigaction(SIGTERM, &sa, nullptr) == 0;
}
// >8 signals

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (!install_stop_signals()) {
        std::fprintf(stderr, "錯誤：sigaction（SIGINT/SIGTERM）失敗：%s\n", std::strerror(errno));
        return kExitRuntime;
    }
    // 任何例外都在這裡接住：run() 的區域變數此時都已解構（worker 停止、port stop/close、rte_eal_cleanup()），
    // 只剩印訊息與選結束碼
    try {
        const std::span<char* const> all(argv, static_cast<size_t>(argc));
        // `--` 之前是 EAL 選項，之後是程式選項
        const auto sep = std::find_if(all.begin() + 1, all.end(), [](const char* a) { return std::string_view(a) == "--"; });
        std::vector<std::string> eal_args(all.begin(), sep);
        const std::span<char* const> app_args = sep == all.end() ? std::span<char* const>{} : std::span<char* const>(sep + 1, all.end());
        const Config cfg = parse_app_args(app_args);
        if (cfg.help || has_arg(eal_args, "--help") || has_arg(eal_args, "-h")) {
            print_usage(argv[0]);
            return kExitOk;
        }
        const Summary s = run(cfg, std::move(eal_args));
        print_summary(cfg, s);  // 在 rte_eal_cleanup() 之後印，確保 [摘要] 是最後一行
        return kExitOk;
    } catch (const AppError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "錯誤：%s\n", e.message.c_str());
        if (e.code == kExitUsage) std::fprintf(stderr, "用 %s -- --help 查看用法\n", argv[0]);
        return e.code;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "錯誤：未預期的例外：%s（worker、port 與 EAL 都已收尾）\n", e.what());
        return kExitRuntime;
    } catch (...) {
        std::fflush(stdout);
        std::fprintf(stderr, "錯誤：未預期的例外（不是 std::exception）（worker、port 與 EAL 都已收尾）\n");
        return kExitRuntime;
    }
}
