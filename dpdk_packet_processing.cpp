// dpdk_packet_processing.cpp — DPDK 輪詢模式（poll-mode）封包處理範例
//
// 這個程式示範什麼
//   * EAL 初始化、mbuf mempool、以 port 為單位設定 RX/TX queue（多 worker 時每個 worker 一組 queue，能用 RSS 就用）；
//   * 每個 lcore（main 除外）一個 worker：在堆疊上的 32 個 mbuf burst、prefetch、以 rte_eth_tx_buffer 緩衝
//     TX（滿 32 個才送）並用計時器（TSC）每 100 µs rte_eth_tx_buffer_flush()、送不出的 mbuf 釋放並計數；
//   * 五種模式：io（原封不動轉送）、macswap（對調來源與目的 MAC 再送出）、drop（收下就釋放，rxonly）、
//     classify（依 L2/L3/L4 分類計數，再像 io 一樣轉送）、echo（UDP echo 伺服器：對調 MAC、IP 與埠，
//     從收到的 port 整批 rte_eth_tx_burst 送回）；
//   * 轉送或分類前先檢查每個 frame：宣稱的表頭放不進 frame 就是 malformed（計數、釋放、絕不轉送），
//     檢查時絕不讀超過 frame 的結尾；
//   * 每個 lcore 自己一份 alignas(RTE_CACHE_LINE_SIZE) 計數器，main lcore 每秒印出各 port 的 pps 與 Mbit/s；
//   * --flow：以 rte_flow 讓驅動先分流（丟掉某個來源、把 UDP 埠送到某個 rx queue、蓋標記），先 validate 再 create，
//     裝置拒絕時說明理由並以 77 結束；計數在另一份熱迴圈裡，沒給 --flow 時熱迴圈不變；
//   * SIGINT/SIGTERM 只設停止旗標，之後依序停 worker、停 port、關 port、釋放 mempool、rte_eal_cleanup()。
//
// 需求
//   Linux、DPDK 22.11（Debian：libdpdk-dev，驅動 librte-net-null23 / ring23 / pcap23 / af-packet23 / af-xdp23 / tap23，
//   librte-mempool-ring23）。Debian 的 DPDK 從 /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0 以 plugin 方式載入驅動
//   （EAL 內建這個預設路徑 RTE_EAL_PMD_PATH，不必加 -d）。--flow 在 net_tap 上要核心有 TC sch_multiq、cls_flower、act_gact、act_skbedit。root 權限；hugepage（make setup-hugepages）或 EAL 選項 --no-huge。
//   沒有實體網卡也能跑：用 --vdev 建立虛擬 port（net_null、net_ring、net_pcap、net_af_packet、net_af_xdp）。
//
// 編譯：make dpdk
// 執行：./dpdk_packet_processing -l 0-1 --no-pci --vdev net_null0 --vdev net_null1 -- --mode macswap --duration 5
//       ./dpdk_packet_processing -l 0-1 --no-pci --vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap' -- --mode io
//       ./dpdk_packet_processing -l 0-1 --no-pci --vdev net_af_xdp0,iface=veth0 -- --mode echo --udp-port 19000
//   EAL 選項放在 `--` 之前，程式選項放在 `--` 之後（--help 列出全部與預設值）。
//   沒有指定 --in-memory / --file-prefix / --proc-type 時，程式會自動加上 --in-memory（--no-huge 時改加 --no-shconf）：
//   hugepage 用匿名 memfd，結束後 /dev/hugepages 不留任何檔案，也能同時跑多個行程。
//   指定 --file-prefix 時（只接受英文字母或數字開頭、由英文字母、數字、-、_ 組成的 1–32 個字元，其他在 rte_eal_init 之前以 2 結束），
//   程式在 rte_eal_cleanup() 之後只刪 EAL 說是自己的 hugepage 檔案與執行目錄（rte_eal_get_runtime_dir()）。
//       ./dpdk_packet_processing --lcores '0@0,1@0,2@1' --no-pci --vdev net_tap0,iface=dtap0 -- --mode drop --flow udp-dport=9000,queue=1
//   試試看：測試會用 tests/dpdk_frames.py 產生 pcap；echo 模式在 veth 另一端（netns）用 nc -u 198.18.3.1 19000 就看得到回音
//   （對端要有靜態的 ARP 項目：echo 模式不回 ARP）。
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
#include <rte_flow.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_pdump.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_telemetry.h>
#include <rte_udp.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <optional>
#include <mutex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <arpa/inet.h>
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
constexpr unsigned kTscCheckEvery = 4;      // worker 每幾圈輪詢才讀一次 TSC（讀 TSC 與處理一個 burst 同一個量級，見指南 4.3）
constexpr unsigned kStatsPollMs = 50;       // main lcore 檢查停止旗標的間隔（毫秒）
constexpr unsigned kMaxPairsPerWorker = 64; // 每個 worker 最多處理幾個 (port, queue)
constexpr uint16_t kMaxVlanTags = 4;        // 最多剝幾層 VLAN 標籤（802.1Q / QinQ 再多兩層）；更深的堆疊算 malformed
constexpr size_t kMaxFilePrefix = 32;       // --file-prefix 最長幾個字元：它會成為 /var/run/dpdk/<prefix>/mp_socket_…（sun_path 只有 108 B）
constexpr double kMaxDurationS = 86400.0 * 365;  // --duration 的上限（一年）
constexpr uint16_t kDefaultEchoPort = 19000;     // echo 模式預設的 UDP 埠（與 af_xdp_socket、tests/compare.sh 相同）
constexpr uint16_t kEchoMinSrcPort = 1024;       // echo 不回應來源埠 < 1024 的封包（不替 DNS、NTP、echo 等服務反射流量）
constexpr size_t kMaxFlowRules = 8;              // --flow 最多幾條：示範用，也讓 mark 計數是一張固定大小的小表
constexpr uint32_t kMaxMarkId = (1u << 24) - 1;  // mark=N 的上限：多數網卡的 mark 是 24 位元（rte_flow_action_mark.id 是 32 位元）

static_assert(kBurst <= kRxRingSize && kBurst <= kTxRingSize, "burst 不能大於 ring");
static_assert(std::has_single_bit(kRxRingSize) && std::has_single_bit(kTxRingSize), "ring 大小必須是 2 的次方");
static_assert(kMempoolCache <= RTE_MEMPOOL_CACHE_MAX_SIZE, "mempool cache 超過 DPDK 上限");
static_assert(kPrefetchAhead < kBurst, "prefetch 距離必須小於 burst");
static_assert(std::has_single_bit(kTscCheckEvery), "kTscCheckEvery 取 2 的次方，% 才會變成位元運算");

// ============================================================================
// 共同詞彙（四個程式寫法相同，見 README〈開發者慣例〉）：結束碼、錯誤、數字參數、停止旗標、fd、[摘要]
// ============================================================================
constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2, kExitNoDevice = 77;

// 錯誤：結束碼 + 中文訊息。設定階段（與 worker 執行緒）丟出，main 接住、收尾、印出「錯誤：…」、以 code 結束
struct Failure : std::runtime_error {
    int code;
    Failure(int exit_code, const std::string& message) : std::runtime_error(message), code(exit_code) {}
};

// 數字參數：整個字串都必須是數字（空字串、尾巴的垃圾、NaN、inf 都不行），而且在 [lo, hi] 之內；否則丟出 kExitUsage
// （DPDK 多一個 base 參數：--portmask 是十六進位）
template <typename T>
T parse_number(std::string_view option, std::string_view text, T lo, T hi, int base = 10) {
    T v{};
    std::from_chars_result r{};
    if constexpr (std::is_floating_point_v<T>) r = std::from_chars(text.data(), text.data() + text.size(), v);
    else r = std::from_chars(text.data(), text.data() + text.size(), v, base);
    auto [end, ec] = r;
    bool ok = !text.empty() && ec == std::errc() && end == text.data() + text.size() && !(v < lo) && !(hi < v);
    if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(v);
    if (!ok) {
        std::ostringstream m;
        m.precision(10);  // DPDK：--duration 的上限印成 31536000，不是 3.1536e+07
        m << option << " 的值「" << text << "」無效：必須是 " << +lo << " 到 " << +hi << " 之間的"
          << (std::is_floating_point_v<T> ? "數字" : base == 16 ? "整數（十六進位）" : "整數");
        throw Failure(kExitUsage, m.str());
    }
    return v;
}

// 8< signals
// 停止旗標：唯一的全域變數。信號處理函式只設定它；main 的第一步就安裝（在任何可能阻塞的呼叫之前）
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "信號處理函式需要 lock-free 的旗標");
extern "C" void on_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
void install_stop_handler() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    // DPDK 加 SA_RESTART：信號可能落在 EAL 自己的執行緒（telemetry 的 accept 被 EINTR 打斷就整條執行緒結束）或卡在 rte_eal_init 裡的 open()
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);   // 對方關閉後的寫入回傳 EPIPE，不殺掉行程
}
// >8 signals

// 檔案描述符的擁有者：可移動、不可複製，解構時關閉
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept { reset(std::exchange(o.fd_, -1)); return *this; }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset(int fd = -1) { if (fd_ >= 0) ::close(fd_); fd_ = fd; }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
private:
    int fd_;
};

// [摘要] 行：一個 key 一個值，key 與值寫在同一個呼叫裡，不會錯位。key 是穩定的 ASCII（測試解析它們）
class Summary {
public:
    Summary& add(std::string_view key, std::string_view value) { line_ << ' ' << key << '=' << value; return *this; }
    Summary& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    Summary& add(std::string_view key, bool value) { return add(key, value ? "yes" : "no"); }
    template <std::integral T> requires (!std::same_as<T, bool>)
    Summary& add(std::string_view key, T value) { line_ << ' ' << key << '=' << +value; return *this; }
    Summary& add(std::string_view key, double value, int digits) {
        line_ << ' ' << key << '=' << std::fixed << std::setprecision(digits) << value; return *this;
    }
    void print(FILE* f = stdout) const { std::fprintf(f, "[摘要]%s\n", line_.str().c_str()); std::fflush(f); }
private:
    std::ostringstream line_;
};

// ---------------------------------------------------------------- 設定與參數
enum class Mode { Io, MacSwap, Drop, Classify, Echo };

// 命令列上的模式名稱（小寫）；rxonly 是 drop 的別名（testpmd 的叫法）
constexpr std::array<std::pair<std::string_view, Mode>, 6> kModeNames{{
    {"io", Mode::Io}, {"macswap", Mode::MacSwap}, {"drop", Mode::Drop}, {"classify", Mode::Classify},
    {"echo", Mode::Echo}, {"rxonly", Mode::Drop},
}};

constexpr std::string_view mode_name(Mode m) {
    for (const auto& [name, mode] : kModeNames)
        if (mode == m) return name;
    return "?";
}

// ---------------------------------------------------------------- --flow：rte_flow 規則
// 8< flow_rule
// 一條 --flow 規則 = 比對（pattern）+ 一個動作，例如 src=198.18.1.2,drop、udp-dport=9000,queue=1、dst=198.18.1.1,mark=7。
// 比對：src=IPv4、dst=IPv4、udp-dport=埠（可以組合，至少一個）；動作：drop | queue=N | mark=N（正好一個）。
// 轉成 rte_flow 是 ETH / IPV4（有 src/dst 時帶 spec 與全 1 的 mask）/ UDP（有 udp-dport 時）/ END，
// 動作 DROP、QUEUE{index}、MARK{id}，再接 END。位址與埠存成網路位元組順序，直接放進 spec。
enum class FlowAction : uint8_t { Drop, Queue, Mark };

struct FlowRule {
    std::string text;                  // 命令列上的原文（訊息裡引用）
    std::optional<rte_be32_t> src, dst;
    std::optional<rte_be16_t> udp_dport;
    FlowAction action = FlowAction::Drop;
    uint32_t value = 0;                // queue=N 的 N 或 mark=N 的 N
};

// 錯誤一律 Failure(kExitUsage, …)，訊息引用整條規則與出錯的那一段
FlowRule parse_flow_rule(std::string_view text) {
    FlowRule r;
    r.text = text;
    auto bad = [&](const std::string& why) {
        return Failure(kExitUsage, "--flow 規則「" + std::string(text) + "」有誤：" + why +
                                       "（格式：比對,動作；比對 src=IPv4、dst=IPv4、udp-dport=埠，動作 drop、queue=N、mark=N）");
    };
    auto ipv4 = [&](std::string_view key, std::string_view v) {
        in_addr a{};
        if (v.empty() || v.size() > 15 || inet_pton(AF_INET, std::string(v).c_str(), &a) != 1)
            throw bad(std::string(key) + " 的值「" + std::string(v) + "」不是 IPv4 位址（例如 198.18.1.2）");
        return rte_be32_t{a.s_addr};
    };
    bool have_action = false;
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t comma = std::min(text.find(',', pos), text.size());
        const std::string_view part = text.substr(pos, comma - pos);
        pos = comma + 1;
        const size_t eq = part.find('=');
        const std::string_view key = part.substr(0, eq);
        const std::string_view val = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
        if (part.empty()) throw bad("有空的一段（多了逗號？）");
        const bool is_action = key == "drop" || key == "queue" || key == "mark";
        if (is_action && have_action) throw bad("只能有一個動作，「" + std::string(part) + "」是第二個");
        if (key == "drop") {
            if (eq != std::string_view::npos) throw bad("drop 不帶值");
            r.action = FlowAction::Drop;
        } else if (eq == std::string_view::npos) {
            throw bad("「" + std::string(part) + "」缺少 =值（只有 drop 不帶值）");
        } else if (key == "queue") {
            r.action = FlowAction::Queue;
            r.value = parse_number<uint16_t>("--flow 的 queue", val, 0, RTE_MAX_QUEUES_PER_PORT - 1);
        } else if (key == "mark") {
            r.action = FlowAction::Mark;
            r.value = parse_number<uint32_t>("--flow 的 mark", val, 0, kMaxMarkId);
        } else if (key == "src" || key == "dst") {
            auto& field = key == "src" ? r.src : r.dst;
            if (field) throw bad(std::string(key) + " 出現兩次");
            field = ipv4(key, val);
        } else if (key == "udp-dport") {
            if (r.udp_dport) throw bad("udp-dport 出現兩次");
            r.udp_dport = rte_cpu_to_be_16(parse_number<uint16_t>("--flow 的 udp-dport", val, 1, 65535));
        } else {
            throw bad("未知的欄位「" + std::string(key) + "」");
        }
        have_action |= is_action;
    }
    if (!r.src && !r.dst && !r.udp_dport) throw bad("至少要有一個比對欄位（src、dst 或 udp-dport）");
    if (!have_action) throw bad("缺少動作（drop、queue=N 或 mark=N）");
    return r;
}
// >8 flow_rule

struct Config {
    Mode mode = Mode::MacSwap;
    uint64_t portmask = 0;                 // 0 = 所有偵測到的 port
    double duration_s = 0;                 // 0 = 直到 SIGINT/SIGTERM
    uint16_t udp_port = kDefaultEchoPort;  // echo 模式回應的 UDP 目的埠
    bool latency = false;                  // --latency：量每個 frame 從 RX 到 TX 的時間（RX/TX 回呼，預設的熱迴圈不變）
    std::vector<FlowRule> flows;           // --flow：port 啟動後以 rte_flow 裝上的規則（最多 kMaxFlowRules 條）
    bool flow_optional = false;            // --flow-optional：裝置拒絕時只警告、不裝那條規則，繼續執行
    bool has_mark() const {
        return std::any_of(flows.begin(), flows.end(), [](const FlowRule& r) { return r.action == FlowAction::Mark; });
    }
    bool help = false;
    std::vector<std::string> eal_args;     // `--` 之前的一切（含 argv[0]），交給 rte_eal_init
};

void print_usage(FILE* f, const char* prog) {
    std::fprintf(f,
        "用法：%s [EAL 選項] -- [程式選項]\n"
        "\n"
        "DPDK 輪詢模式封包處理：每個 worker lcore 輪詢自己的 (port, queue)，依模式轉送、對調 MAC、丟棄、分類或回應 UDP echo。\n"
        "\n"
        "程式選項（放在 -- 之後）：\n"
        "  --mode MODE       io | macswap | drop | classify | echo（預設 macswap）\n"
        "                      io        原封不動轉送\n"
        "                      macswap   對調來源與目的 MAC 後轉送\n"
        "                      drop      收下就釋放（rxonly，不檢查內容）\n"
        "                      classify  依 IPv4/IPv6/ARP/VLAN/TCP/UDP/ICMP/分段/其他 計數，再像 io 一樣轉送\n"
        "                      echo      UDP echo：送到 --udp-port 的 IPv4/IPv6 UDP 封包對調 MAC、IP 與埠，從收到的 port 送回；\n"
        "                                其他封包丟棄（not_echo）；來源埠等於 echo 埠或小於 %u 的不回應（refused）\n"
        "  --udp-port 埠     echo 模式回應的 UDP 目的埠（預設 %u）\n"
        "  --portmask HEX    使用哪些 port 的十六進位遮罩（預設 0 = 全部）；\n"
        "                    1 個 port：從同一個 port 送回；偶數個：0↔1、2↔3 配對轉送；奇數個（>1）是錯誤（echo 模式除外）\n"
        "  --duration 秒     執行多久後自動結束（預設 0 = 直到 Ctrl-C / SIGTERM）\n"
        "  --latency         量每個 frame 穿過程式的延遲（RX 時以 rte_rdtsc 蓋時間戳，交給 TX 時計算），\n"
        "                    [摘要] 加上 lat_samples、lat_p50_ns、lat_p99_ns、lat_max_ns（預設關閉：熱迴圈與沒加時完全相同；\n"
        "                    drop 模式不送出，不能用）\n"
        "  --flow 規則       port 啟動後用 rte_flow 在每個 port 上裝一條規則（可重複，最多 %zu 條，先寫的優先）：\n"
        "                    比對 src=IPv4、dst=IPv4、udp-dport=埠（可組合，至少一個），加上一個動作：\n"
        "                      drop      網卡（驅動）直接丟掉，worker 收不到\n"
        "                      queue=N   送到 rx queue N（N 必須小於 rx queue 數 = worker 數）\n"
        "                      mark=N    蓋上標記 N（0–%u），[摘要] 以 mark_N 計數\n"
        "                    例：--flow src=198.18.1.2,drop --flow udp-dport=9000,queue=1 --flow dst=198.18.1.1,mark=7\n"
        "                    每條先 rte_flow_validate 再 rte_flow_create；裝置拒絕時印出驅動的理由、rte_errno 與提示，\n"
        "                    收尾後以 77 結束。[摘要] 加上 flow_rules、每個 rx queue 的 rxq0、rxq1…、flow_marked、mark_N、mark_other\n"
        "                    （預設關閉：沒給 --flow 時熱迴圈與原本相同）\n"
        "  --flow-optional   裝置拒絕 --flow 規則時只印警告，不裝那條規則繼續執行（預設：以 77 結束）\n"
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
        "                          這個模式下 dpdk-dumpcap --file-prefix=NAME -i 0 或 dpdk-pdump --file-prefix=NAME 可以\n"
        "                          擷取流量（secondary 行程，要同樣的 --file-prefix 與 hugepage，不能加 --no-huge）\n"
        "\n"
        "Telemetry：dpdk-telemetry.py（-f NAME；沒給 --file-prefix 時不加 -f）的指令 /kb/stats 顯示本程式的計數器\n"
        "（與 [摘要] 同名的 key），/ethdev/stats,0 是驅動的計數器\n"
        "\n"
        "範例：\n"
        "  %s -l 0-1 --no-pci --vdev net_null0 --vdev net_null1 -- --mode io --duration 5\n"
        "  %s -l 0-1 --no-pci --vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap' -- --mode classify --duration 2\n"
        "  %s -l 0-1 --no-pci --vdev net_af_xdp0,iface=veth0 -- --mode echo --udp-port 19000\n"
        "\n"
        "輸出：[就緒] 表示 port 已啟動；每秒一行 [統計]；最後一行 [摘要] key=value …\n"
        "結束碼：0 成功，1 執行錯誤，2 參數錯誤，77 沒有 hugepage、沒有 port，或裝置拒絕 --flow 規則\n",
        prog, unsigned{kEchoMinSrcPort}, unsigned{kDefaultEchoPort}, kMaxFlowRules, unsigned{kMaxMarkId}, prog, prog, prog);
}

// 8< parse_args
// `--` 之前是 EAL 選項（原封不動留給 rte_eal_init），之後是程式選項；錯誤丟出 Failure(kExitUsage, …)。
// -h / --help 出現在哪一邊都算，看到就停止解析。
Config parse_args(std::span<char* const> argv) {
    Config cfg;
    const auto sep = std::find_if(argv.begin() + 1, argv.end(), [](const char* a) { return std::string_view(a) == "--"; });
    cfg.eal_args.assign(argv.begin(), sep);
    cfg.help = std::any_of(cfg.eal_args.begin() + 1, cfg.eal_args.end(), [](const std::string& a) { return a == "-h" || a == "--help"; });
    const std::span<char* const> app(sep == argv.end() ? sep : sep + 1, argv.end());
    for (size_t i = 0; i < app.size() && !cfg.help; ++i) {
        const std::string_view a = app[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= app.size()) throw Failure(kExitUsage, "選項 " + std::string(a) + " 需要一個值");
            return app[++i];
        };
        if (a == "-h" || a == "--help") {
            cfg.help = true;
        } else if (a == "--mode") {
            const std::string_view v = value();
            const auto* it = std::find_if(kModeNames.begin(), kModeNames.end(), [&](const auto& m) { return m.first == v; });
            if (it == kModeNames.end())
                throw Failure(kExitUsage, "未知的模式：" + std::string(v) + "（可用：io、macswap、drop、classify、echo）");
            cfg.mode = it->second;
        } else if (a == "--portmask") {
            std::string_view v = value();
            if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
            cfg.portmask = parse_number<uint64_t>(a, v, 0, UINT64_MAX, 16);
        } else if (a == "--duration") {
            cfg.duration_s = parse_number<double>(a, value(), 0.0, kMaxDurationS);
        } else if (a == "--udp-port") {
            cfg.udp_port = parse_number<uint16_t>(a, value(), 1, 65535);
        } else if (a == "--latency") {
            cfg.latency = true;
        } else if (a == "--flow") {
            const std::string_view v = value();
            if (cfg.flows.size() == kMaxFlowRules)
                throw Failure(kExitUsage, "--flow 最多 " + std::to_string(kMaxFlowRules) + " 條規則");
            cfg.flows.push_back(parse_flow_rule(v));
        } else if (a == "--flow-optional") {
            cfg.flow_optional = true;
        } else {
            throw Failure(kExitUsage, "未知的程式選項：" + std::string(a) + "（EAL 選項請放在 -- 之前）");
        }
    }
    if (cfg.latency && cfg.mode == Mode::Drop && !cfg.help)
        throw Failure(kExitUsage, "--latency 量的是 RX 到 TX 的時間，drop（rxonly）模式不送出任何 frame：請改用 io、macswap、classify 或 echo");
    if (cfg.flow_optional && cfg.flows.empty() && !cfg.help)
        throw Failure(kExitUsage, "--flow-optional 只影響 --flow 規則：沒有給 --flow");
    return cfg;
}
// >8 parse_args

// ---------------------------------------------------------------- 流量分類：一張表
// 加一個分類只要改這裡兩行（列舉值與名稱）再在 check_frame 裡設它的位元：計數器、[摘要] 的 cls_<名稱> 都從這張表來。
// 表的順序就是 [摘要] 裡 cls_* 的順序。
// 8< classes
enum ClassIndex : unsigned { kIpv4, kIpv6, kArp, kVlan, kTcp, kUdp, kIcmp, kOther, kL4Other, kFrag, kNumClasses };
constexpr std::array<std::pair<std::string_view, ClassIndex>, kNumClasses> kClasses{{
    {"ipv4", kIpv4}, {"ipv6", kIpv6}, {"arp", kArp}, {"vlan", kVlan}, {"tcp", kTcp},  // other = 不是 IPv4/IPv6/ARP
    {"udp", kUdp}, {"icmp", kIcmp}, {"other", kOther}, {"l4_other", kL4Other},          // tcp…l4_other 只算 IPv4/IPv6
    {"frag", kFrag},                                                                    // 非第一個 IP 分段：沒有 L4 表頭
}};
constexpr uint16_t cls_bit(ClassIndex c) { return static_cast<uint16_t>(1u << c); }
constexpr uint16_t kMalformed = 1u << 15;  // check_frame 的結果：這個位元 = malformed，其餘位元 = 分類
static_assert(kNumClasses < 15, "分類的位元不能碰到 kMalformed");
static_assert([] { for (unsigned i = 0; i < kNumClasses; ++i) if (kClasses[i].second != i) return false; return true; }(),
              "kClasses 的第 i 列必須是計數器 i");
// >8 classes

// ---------------------------------------------------------------- 計數器（每個 worker 一份，cache line 對齊）
// 只有擁有它的 worker 會寫；main lcore 以 relaxed atomic 讀取，所以寫入也用 atomic_ref 的 relaxed store
// （在 x86 上就是一般的 mov，沒有 lock 前綴）。
// 8< counters
struct alignas(RTE_CACHE_LINE_SIZE) PortCounters {
    uint64_t rx_packets = 0, rx_bytes = 0;  // 這個 port 收到的
    uint64_t tx_packets = 0, tx_bytes = 0;  // 從這個 port 送出的
    uint64_t dropped = 0;                   // 送不出去（TX 滿）、drop 模式丟掉的、echo 模式不回應的
    uint64_t malformed = 0;                 // 這個 port 收到、檢查不合格的
    uint64_t not_echo = 0, refused = 0;     // echo 模式：dropped 之中，不是給 echo 埠的 UDP／迴圈保護拒絕回應的
};
// --flow 時才計（第二份熱迴圈）：每個 rx queue 收到幾個（各 port 的同號 queue 加在一起）、帶 mark 的有幾個
struct FlowCounters {
    std::array<uint64_t, RTE_MAX_QUEUES_PER_PORT> rxq{};
    uint64_t marked = 0;                            // mbuf 帶 RTE_MBUF_F_RX_FDIR_ID 的
    std::array<uint64_t, kMaxFlowRules> mark{};     // 依 WorkerCtx::mark_ids 的順序
    uint64_t mark_other = 0;                        // 帶 mark，但不是任何一條 --flow 的 mark=N
};
struct alignas(RTE_CACHE_LINE_SIZE) WorkerStats {
    std::array<PortCounters, RTE_MAX_ETHPORTS> port{};
    std::array<uint64_t, kNumClasses> cls{};  // classify 模式：kClasses 的每一列一個
    FlowCounters flow;
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
        return cls_bit(kUdp);
    }
    case IPPROTO_TCP: {
        if (l4_len < sizeof(rte_tcp_hdr) || avail < sizeof(rte_tcp_hdr)) [[unlikely]] return kMalformed;
        const uint32_t doff = (l4[12] >> 4) * 4u;
        if (doff < sizeof(rte_tcp_hdr) || doff > l4_len) [[unlikely]] return kMalformed;
        return cls_bit(kTcp);
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return cls_bit(kIcmp);
    default: return cls_bit(kL4Other);
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
        cls |= cls_bit(kVlan);
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
        if (frag & RTE_IPV4_HDR_OFFSET_MASK) [[unlikely]] return cls | cls_bit(kIpv4) | cls_bit(kFrag);
        return cls | cls_bit(kIpv4) |
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
            if (frag & 0xfff8) return cls | cls_bit(kIpv6) | cls_bit(kFrag);  // offset ≠ 0：非第一個分段
            more = (frag & 1) != 0;
            next = p[l4];
            l4 += 8;
            l4_len -= 8;
        }
        return cls | cls_bit(kIpv6) | check_l4(next, p + l4, l4_len, seg_len - l4, more);
    }
    case RTE_ETHER_TYPE_ARP: return cls | cls_bit(kArp);
    default: return cls | cls_bit(kOther);
    }
}
// >8 frame_check

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

// 8< echo
// echo 模式：把一個已通過 check_frame（分類 cls）的 frame 就地改寫成回覆。回傳這個 frame 的去向。
// 只回應 IPv4/IPv6 的 UDP、目的埠 = echo_port、沒有 VLAN 標籤、不是分段（也不是還有後續分段的第一段）、
// 目的 MAC 與目的 IP 不是群播或廣播（回覆的來源位址不能是群播位址，也不替廣播放大流量）。
// 迴圈保護（與 af_xdp_socket 的 echo 相同）：來源埠等於 echo 埠（對方也是 echo，會互相回應到天荒地老）
// 或小於 1024（DNS、NTP、chargen 等服務：偽造來源位址就能把我們變成反射器）的，不回應。
// 檢查和不必重算：IPv4 表頭檢查和與 UDP 檢查和都是 16 位元字的 1 補數和；對調兩個位址（UDP 的偽表頭也含這兩個位址）
// 與兩個埠只是換了加法的順序，和不變。TTL 與其他欄位都不動，所以整個回覆除了對調的欄位之外逐位元組與請求相同。
enum class EchoVerdict : uint8_t { Answer, NotEcho, Refused };

inline void swap_fields(uint8_t* a, uint8_t* b, size_t n) { std::swap_ranges(a, a + n, b); }

[[gnu::always_inline]] inline EchoVerdict echo_frame(uint8_t* p, uint16_t cls, uint16_t echo_port) {
    constexpr uint32_t l3 = sizeof(rte_ether_hdr);  // 沒有 VLAN 標籤：IP 表頭從 14 開始
    if ((cls & (cls_bit(kUdp) | cls_bit(kVlan) | cls_bit(kFrag))) != cls_bit(kUdp) || (p[0] & 1)) return EchoVerdict::NotEcho;
    uint32_t l4;
    if (cls & cls_bit(kIpv4)) {
        if ((be16_at(p + l3 + 6) & RTE_IPV4_HDR_MF_FLAG) || p[l3 + 16] >= 224) return EchoVerdict::NotEcho;
        l4 = l3 + (p[l3] & 0x0f) * 4u;
    } else {
        if (p[l3 + 6] != IPPROTO_UDP || p[l3 + 24] == 0xff) return EchoVerdict::NotEcho;  // 擴充表頭（含分段）、ff00::/8
        l4 = l3 + sizeof(rte_ipv6_hdr);
    }
    const uint16_t sport = be16_at(p + l4), dport = be16_at(p + l4 + 2);
    if (dport != echo_port) return EchoVerdict::NotEcho;
    if (sport == echo_port || sport < kEchoMinSrcPort) return EchoVerdict::Refused;
    swap_macs(p);
    if (cls & cls_bit(kIpv4)) swap_fields(p + l3 + 12, p + l3 + 16, 4);  // 來源 ↔ 目的 IPv4 位址
    else swap_fields(p + l3 + 8, p + l3 + 24, 16);                      // 來源 ↔ 目的 IPv6 位址
    swap_fields(p + l4, p + l4 + 2, 2);                                  // 來源埠 ↔ 目的埠
    return EchoVerdict::Answer;
}
// >8 echo

// ---------------------------------------------------------------- worker
// 一個 worker 負責的一組 (rx port, queue)：收進來的 frame 從 tx_port 的同號 queue 送出。
// 配對的兩個 port queue 數相同，(p, q) → (peer(p), q) 是一對一（echo 模式是 (p, q) → (p, q)），
// 所以每個 TX queue 只有一個 worker 在用，不需要鎖。
struct QueuePair {
    uint16_t rx_port = 0, queue = 0, tx_port = 0;
    rte_eth_dev_tx_buffer* tx_buf = nullptr;  // 送往 (tx_port, queue) 的緩衝
};

struct WorkerCtx {
    unsigned lcore = 0;
    Mode mode = Mode::MacSwap;
    uint16_t echo_port = kDefaultEchoPort;
    std::array<QueuePair, kMaxPairsPerWorker> pairs{};
    unsigned nb_pairs = 0;
    WorkerStats* stats = nullptr;
    bool flow = false;                                 // --flow：用有 flow_count 的那份熱迴圈
    std::array<uint32_t, kMaxFlowRules> mark_ids{};    // --flow 裡出現的 mark=N（不重複）
    unsigned nb_marks = 0;
    std::array<char, 256> error{};  // worker 因例外結束時的訊息（空字串 = 正常結束）
};

// 送不出去的 mbuf：釋放，並把它們從「已送出」改記為「丟棄」。rte_eth_tx_buffer 的錯誤回呼（在 worker 自己的
// rte_eth_tx_buffer / flush 裡被呼叫），echo 模式 tx_burst 沒收下的也交給它，所以仍是單一寫入者。
extern "C" void on_tx_unsent(rte_mbuf** pkts, uint16_t unsent, void* userdata) {
    auto* pc = static_cast<PortCounters*>(userdata);
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < unsent; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    rte_pktmbuf_free_bulk(pkts, unsent);
    bump(pc->tx_packets, -static_cast<uint64_t>(unsent));
    bump(pc->tx_bytes, -bytes);
    bump(pc->dropped, unsent);
}

// 一個 burst 的計數，處理完整批才寫進 WorkerStats（每個 burst 每個計數器一次 store）
struct BurstTally {
    uint64_t rx_bytes = 0, tx_bytes = 0, malformed = 0, not_echo = 0, refused = 0;
    std::array<uint64_t, kNumClasses> cls{};
};

// 8< tx_buffer
// 交給 TX：轉送模式放進 rte_eth_dev_tx_buffer（滿 kBurst 個才真正 tx_burst，計時器再把零頭送出去）。
// 結果與逐個呼叫 rte_eth_tx_buffer() 完全相同，只是整批放進去、長度每個 burst 更新一次：這裡直接寫 DPDK 公開結構的
// length 與 pkts[]（rte_ethdev.h 裡 rte_eth_tx_buffer() 自己也只做這兩件事），理由是量得到的成本差，見指南 4.3〈交給 TX〉。
// echo 模式立刻整批 rte_eth_tx_burst（一個請求不該等 100 µs 的計時器），沒收下的交給 on_tx_unsent 釋放並計數。
template <Mode M>
[[gnu::always_inline]] inline void transmit(QueuePair& qp, rte_mbuf** pkts, uint16_t n, PortCounters& txc) {
    if constexpr (M == Mode::Echo) {
        const uint16_t sent = n ? rte_eth_tx_burst(qp.tx_port, qp.queue, pkts, n) : 0;
        if (sent < n) [[unlikely]] on_tx_unsent(pkts + sent, n - sent, &txc);
    } else {
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
}
// >8 tx_buffer

// 8< handle_burst
// 一個 burst：檢查每個 frame、依模式改寫，合法的往前壓縮到 pkts[0, nb_ok) 再整批交給 TX。
// drop 模式連 frame 長度都不讀（位元組數改由 main lcore 從驅動的 rte_eth_stats.ibytes 取得）。
template <Mode M>
[[gnu::always_inline]] inline void handle_burst(QueuePair& qp, rte_mbuf** pkts, uint16_t nb_rx, uint16_t echo_port,
                                                WorkerStats& st) {
    PortCounters& rxc = st.port[qp.rx_port];
    if constexpr (M == Mode::Drop) {
        rte_pktmbuf_free_bulk(pkts, nb_rx);
        bump(rxc.rx_packets, nb_rx);
        bump(rxc.dropped, nb_rx);
        return;
    }
    for (unsigned i = 0; i < kPrefetchAhead && i < nb_rx; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    BurstTally t;
    uint16_t nb_ok = 0;
    for (uint16_t i = 0; i < nb_rx; ++i) {
        if (i + kPrefetchAhead < nb_rx) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
        rte_mbuf* m = pkts[i];
        const uint32_t len = rte_pktmbuf_pkt_len(m);
        t.rx_bytes += len;
        auto* data = rte_pktmbuf_mtod(m, uint8_t*);
        const uint16_t c = check_frame(data, rte_pktmbuf_data_len(m), len);
        if (c & kMalformed) [[unlikely]] {
            rte_pktmbuf_free(m);
            ++t.malformed;
            continue;
        }
        if constexpr (M == Mode::Classify)
            for (unsigned k = 0; k < kNumClasses; ++k) t.cls[k] += (c >> k) & 1u;
        if constexpr (M == Mode::MacSwap) swap_macs(data);
        if constexpr (M == Mode::Echo) {
            const EchoVerdict v = echo_frame(data, c, echo_port);
            if (v != EchoVerdict::Answer) {
                rte_pktmbuf_free(m);
                ++(v == EchoVerdict::Refused ? t.refused : t.not_echo);
                continue;
            }
        }
        t.tx_bytes += len;
        pkts[nb_ok++] = m;
    }
    // 先記「已交給 TX」，送不出去的由 on_tx_unsent 扣回來（所以要在交給 TX 之前記，計數器才不會暫時變成負的）
    PortCounters& txc = st.port[qp.tx_port];
    bump(rxc.rx_packets, nb_rx);
    bump(rxc.rx_bytes, t.rx_bytes);
    if (t.malformed) [[unlikely]] bump(rxc.malformed, t.malformed);
    if constexpr (M == Mode::Echo) {
        if (t.not_echo + t.refused) [[unlikely]] {
            bump(rxc.dropped, t.not_echo + t.refused);
            bump(rxc.not_echo, t.not_echo);
            bump(rxc.refused, t.refused);
        }
    }
    bump(txc.tx_packets, nb_ok);
    bump(txc.tx_bytes, t.tx_bytes);
    transmit<M>(qp, pkts, nb_ok, txc);
    if constexpr (M == Mode::Classify)
        for (unsigned k = 0; k < kNumClasses; ++k) bump(st.cls[k], t.cls[k]);
}
// >8 handle_burst

// 8< flow_count
// --flow 的計數：worker 自己數它從每個 rx queue 收到幾個（rte_flow 的 queue 動作有沒有生效，看的就是這個），
// 以及驅動在 mbuf 上蓋的標記：rte_flow 的 MARK 動作讓驅動設 RTE_MBUF_F_RX_FDIR_ID，標記值在 mbuf->hash.fdir.hi。
// 只在 worker_loop<M, true> 裡呼叫：沒有 --flow 時熱迴圈連這個函式都沒有（見指南 4.9）。
[[gnu::always_inline]] inline void flow_count(const WorkerCtx& ctx, uint16_t queue, rte_mbuf* const* pkts, uint16_t n,
                                              FlowCounters& fc) {
    bump(fc.rxq[queue], n);
    std::array<uint64_t, kMaxFlowRules + 1> tally{};  // 最後一格 = mark_other
    uint64_t marked = 0;
    for (uint16_t i = 0; i < n; ++i) {
        if (!(pkts[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID)) [[likely]] continue;
        ++marked;
        const uint32_t id = pkts[i]->hash.fdir.hi;
        unsigned k = 0;
        while (k < ctx.nb_marks && ctx.mark_ids[k] != id) ++k;
        ++tally[k < ctx.nb_marks ? k : kMaxFlowRules];
    }
    if (marked == 0) [[likely]] return;
    bump(fc.marked, marked);
    for (unsigned k = 0; k < ctx.nb_marks; ++k)
        if (tally[k]) bump(fc.mark[k], tally[k]);
    if (tally[kMaxFlowRules]) bump(fc.mark_other, tally[kMaxFlowRules]);
}
// >8 flow_count

// 8< worker_loop
// Flow = true 的那一份只在給了 --flow 時使用：每個 burst 先 flow_count，其餘與 Flow = false 完全相同
template <Mode M, bool Flow>
void worker_loop(WorkerCtx& ctx) {
    const uint64_t drain_tsc = (rte_get_tsc_hz() + US_PER_S - 1) / US_PER_S * kDrainUs;
    uint64_t prev_tsc = rte_rdtsc();
    const std::span<QueuePair> pairs(ctx.pairs.data(), ctx.nb_pairs);

    for (unsigned iter = 0; !g_stop.load(std::memory_order_relaxed); ++iter) [[likely]] {
        // TX 計時 flush：緩衝裡的 frame 最多停留約 kDrainUs 微秒；每 kTscCheckEvery 圈才讀一次 TSC
        if (M != Mode::Echo && iter % kTscCheckEvery == 0) {
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
            if constexpr (Flow) flow_count(ctx, qp.queue, bufs, nb_rx, ctx.stats->flow);
            handle_burst<M>(qp, bufs, nb_rx, ctx.echo_port, *ctx.stats);
        }
    }
    // 停止前把緩衝裡剩下的送出去（送不出去的由回呼釋放）
    for (QueuePair& qp : pairs) rte_eth_tx_buffer_flush(qp.tx_port, qp.queue, qp.tx_buf);
}
// >8 worker_loop

template <Mode M>
void worker_loop(WorkerCtx& ctx) {
    if (ctx.flow) worker_loop<M, true>(ctx);
    else worker_loop<M, false>(ctx);
}

// lcore 的進入點由 EAL（C 程式碼）呼叫：例外絕不能穿過它。熱迴圈本身不丟例外，但萬一有（例如將來加了會配置記憶體的程式碼），
// 這裡接住、記下訊息、設停止旗標讓其他 lcore 也收手，回傳 -1；main lcore 在 rte_eal_mp_wait_lcore() 之後報告。
extern "C" int worker_main(void* arg) noexcept {
    auto& ctx = *static_cast<WorkerCtx*>(arg);
    try {
        switch (ctx.mode) {
        case Mode::Io: worker_loop<Mode::Io>(ctx); break;
        case Mode::MacSwap: worker_loop<Mode::MacSwap>(ctx); break;
        case Mode::Drop: worker_loop<Mode::Drop>(ctx); break;
        case Mode::Classify: worker_loop<Mode::Classify>(ctx); break;
        case Mode::Echo: worker_loop<Mode::Echo>(ctx); break;
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

Failure port_error(uint16_t port, const char* call, int ret, const char* hint) {
    return Failure(kExitRuntime, "port " + std::to_string(port) + "（" + port_name(port) + "）的 " + call + " 失敗：" +
                                     rte_strerror(-ret) + "（" + std::to_string(ret) + "）；" + hint);
}

// 8< port_init
// 設定一個 port：nb_queues 組 RX/TX queue（多於一組且驅動支援時開 RSS），啟動並開 promiscuous。
void port_init(Port& port, uint16_t nb_queues, rte_mempool* pool, bool want_mark) {
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

    // --flow 有 mark=N：configure 之前先請驅動把 rte_flow 的標記交到 mbuf（有的驅動預設不交）；
    // 不支援這個協商的驅動回 -ENOTSUP，照常繼續——拒不拒絕 mark 動作由 rte_flow_validate 決定
    if (want_mark) {
        uint64_t features = RTE_ETH_RX_METADATA_USER_MARK;
        if (rte_eth_rx_metadata_negotiate(id, &features) == 0 && !(features & RTE_ETH_RX_METADATA_USER_MARK))
            std::fprintf(stderr, "注意：port %u 不把 rte_flow 的 mark 交到 mbuf（rte_eth_rx_metadata_negotiate）：mark_N 會是 0\n", id);
    }
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

// ---------------------------------------------------------------- EAL 參數與 hugepage
// 8< file_prefix
// EAL 選項裡程式要知道的只有這幾件事，其餘原封不動交給 rte_eal_init。
// --file-prefix 的值會成為 EAL 執行目錄（root 是 /var/run/dpdk/<prefix>/）與 hugepage 檔名（<hugetlbfs>/<prefix>map_N）的一部分，
// DPDK 22.11 自己不檢查它：.. 會讓執行目錄變成 /var/run 本身。所以只接受 DPDK 自己會合理建立的名字——
// 英文字母或數字開頭，其餘是英文字母、數字、- 或 _，最多 kMaxFilePrefix 個字元——其他的在 rte_eal_init 之前以結束碼 2 拒絕。
// getopt_long 接受不含糊的縮寫（--fi、--file-pre…），那也是 --file-prefix，所以縮寫一律請使用者寫完整。
// 出現好幾次時取最後一次（EAL 用的也是最後一次）。
struct EalOptions {
    std::string file_prefix;    // 空字串 = 沒給
    bool no_shared_files = false;  // --in-memory 或 --no-shconf：EAL 不建 hugepage 檔案與共享設定檔
    bool proc_type = false;     // --proc-type：使用者自己選了多行程的角色
    bool no_huge = false;
};

EalOptions scan_eal_args(std::span<const std::string> args) {
    constexpr std::string_view kPrefixOpt = "--file-prefix";
    auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    EalOptions o;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string_view a = args[i];
        const size_t eq = a.find('=');
        const std::string_view name = a.substr(0, eq);
        o.no_shared_files |= name == "--in-memory" || name == "--no-shconf";
        o.proc_type |= name == "--proc-type";
        o.no_huge |= name == "--no-huge";
        if (name.size() < 4 || !kPrefixOpt.starts_with(name)) continue;  // --fi 起才只可能是 --file-prefix
        if (name != kPrefixOpt)
            throw Failure(kExitUsage, "EAL 選項 " + std::string(name) + " 是 --file-prefix 的縮寫：請寫完整的 --file-prefix");
        std::string_view v;
        if (eq != std::string_view::npos) v = a.substr(eq + 1);
        else if (i + 1 < args.size()) v = args[++i];
        else throw Failure(kExitUsage, "EAL 選項 --file-prefix 需要一個值（例如 --file-prefix kbd）");
        const bool ok = !v.empty() && v.size() <= kMaxFilePrefix && is_alnum(v.front()) &&
                        std::all_of(v.begin(), v.end(), [&](char c) { return is_alnum(c) || c == '-' || c == '_'; });
        if (!ok)
            throw Failure(kExitUsage, "--file-prefix 只接受英文字母或數字開頭、由英文字母、數字、- 或 _ 組成的 1 到 " +
                                          std::to_string(kMaxFilePrefix) + " 個字元（它會成為 /var/run/dpdk/<prefix>/ 與 hugepage "
                                          "檔名的一部分，不能有 /、.、空白），收到：「" + std::string(v) + "」");
        o.file_prefix = v;
    }
    return o;
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
    explicit Eal(std::string_view own_prefix) noexcept : prefix_(own_prefix) {
        if (prefix_.empty() || rte_eal_process_type() != RTE_PROC_PRIMARY) return;
        const char* dir = rte_eal_get_runtime_dir();
        const std::string_view d = dir ? dir : "";
        if (d.size() < sizeof runtime_dir_ && d.size() > prefix_.size() && d.ends_with(prefix_) &&
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
        const Fd dfd(open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        DIR* d = dfd ? fdopendir(dup(dfd.get())) : nullptr;  // 目錄串流用自己的一份 fd（closedir 關掉它），dfd 給 unlinkat 用
        if (!d) return;
        while (const dirent* e = readdir(d)) {
            const std::string_view name = e->d_name;
            if (name != "." && name != "..") unlinkat(dfd.get(), e->d_name, 0);  // 子目錄（EAL 不建）unlinkat 會失敗，留著
        }
        closedir(d);
        rmdir(dir);  // 還有東西（例如別人放的子目錄）就失敗，留著
    }

    std::string_view prefix_;
    char runtime_dir_[PATH_MAX] = {};
    bool own_ = false;
};
// >8 eal_raii

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

// 8< eal_init
// EAL 參數：使用者沒選記憶體模式時加上 --in-memory（/dev/hugepages 不留檔案、不建共享設定檔，
// 所以同時跑好幾個行程也不必各給 --file-prefix）；--no-huge 已不碰 hugetlbfs（而且與 --in-memory 不相容），改加 --no-shconf。
// 沒有 hugepage 又沒加 --no-huge 時，在 rte_eal_init 之前就用中文說明並以 77 結束。
void eal_init(std::vector<std::string> eal_args, const EalOptions& o) {
    if (!o.no_shared_files && o.file_prefix.empty() && !o.proc_type) eal_args.emplace_back(o.no_huge ? "--no-shconf" : "--in-memory");
    if (!o.no_huge && free_hugepages() == 0)
        throw Failure(kExitNoDevice,
                      "沒有可用的 hugepage（/sys/kernel/mm/hugepages/*/free_hugepages 全是 0）。"
                      "請以 root 執行 make setup-hugepages 保留 2 MiB hugepage，或加上 EAL 選項 --no-huge（例如 --no-huge -m 256）改用一般記憶體");

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
        throw Failure(err == EINVAL ? kExitUsage : kExitRuntime, msg);
    }
}
// >8 eal_init


// ---------------------------------------------------------------- 統計
struct Totals {
    uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, dropped = 0, malformed = 0, not_echo = 0, refused = 0;

    // 每個欄位配上另一份的同一個欄位：+= 與 -= 都經過這裡，加一個欄位只改這裡與 snapshot
    template <typename F> void zip(const Totals& o, F f) {
        f(rx_packets, o.rx_packets); f(rx_bytes, o.rx_bytes); f(tx_packets, o.tx_packets); f(tx_bytes, o.tx_bytes);
        f(dropped, o.dropped); f(malformed, o.malformed); f(not_echo, o.not_echo); f(refused, o.refused);
    }
    Totals& operator+=(const Totals& o) { zip(o, [](uint64_t& a, uint64_t b) { a += b; }); return *this; }
    Totals& operator-=(const Totals& o) { zip(o, [](uint64_t& a, uint64_t b) { a -= b; }); return *this; }
    friend Totals operator-(Totals a, const Totals& b) { return a -= b; }
};

// 一個 worker 在一個 port 上的計數（worker 可能還在寫：relaxed 讀取）
Totals snapshot(PortCounters& p) {
    return {peek(p.rx_packets), peek(p.rx_bytes), peek(p.tx_packets), peek(p.tx_bytes),
            peek(p.dropped),    peek(p.malformed), peek(p.not_echo),  peek(p.refused)};
}

// 所有 worker 在一個 port 上的計數。driver_rx_bytes：drop 模式的 worker 不讀 frame 長度，收到的位元組改用驅動的計數器
// （rte_eth_stats.ibytes；net_null 不計位元組，所以是 0）
Totals port_totals(std::span<WorkerStats> stats, uint16_t port, bool driver_rx_bytes) {
    Totals t;
    for (WorkerStats& w : stats) t += snapshot(w.port[port]);
    rte_eth_stats es{};
    if (driver_rx_bytes && rte_eth_stats_get(port, &es) == 0) t.rx_bytes = es.ibytes;
    return t;
}

// --latency 的結果（奈秒；samples = 量到的 frame 數）
struct LatencyStats {
    uint64_t samples = 0, p50_ns = 0, p99_ns = 0, max_ns = 0;
};

struct RunResult {
    Totals total;
    std::array<uint64_t, kNumClasses> cls{};
    unsigned ports = 0, workers = 0;
    double seconds = 0;
    LatencyStats latency;  // 只有 --latency 時才有值
    unsigned flow_rules = 0;             // 裝上的 rte_flow 規則數（每個 port 每條各算一次）
    std::vector<uint64_t> rxq;           // --flow：每個 rx queue 收到的（各 port 同號 queue 的和）
    uint64_t flow_marked = 0, mark_other = 0;
    std::array<uint64_t, kMaxFlowRules> marks{};  // 與 flow_mark_ids 同順序
};

// 8< stats
// main lcore：每秒一行 [統計]，各 port 的 rx/tx/drop pps 與 Mbit/s（frame 位元組，不含前導碼與 CRC）
class StatsPrinter {
public:
    StatsPrinter(std::span<WorkerStats> stats, std::span<const uint16_t> ports, bool driver_rx_bytes)
        : stats_(stats), ports_(ports), prev_(ports.size()), driver_rx_bytes_(driver_rx_bytes) {}

    void print(unsigned second, double dt) {
        Totals sum;
        std::string per_port;
        for (size_t i = 0; i < ports_.size(); ++i) {
            const Totals now = port_totals(stats_, ports_[i], driver_rx_bytes_);
            const Totals d = now - prev_[i];
            prev_[i] = now;
            sum += d;
            char buf[256];
            std::snprintf(buf, sizeof buf, " | port%u rx %.3f Mpps %.1f Mbit/s tx %.3f Mpps %.1f Mbit/s drop %.0f pps malformed %.0f pps",
                          ports_[i], d.rx_packets / dt / 1e6, d.rx_bytes * 8 / dt / 1e6, d.tx_packets / dt / 1e6,
                          d.tx_bytes * 8 / dt / 1e6, d.dropped / dt, d.malformed / dt);
            per_port += buf;
        }
        std::printf("[統計] 第 %u 秒 rx_pps=%.0f tx_pps=%.0f%s\n", second, sum.rx_packets / dt, sum.tx_packets / dt, per_port.c_str());
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

// 要用的 port、每個 port 的 queue 數與 worker lcore。loopback：從收到的 port 送回（只有一個 port，或 echo 模式）
struct Topology {
    std::vector<uint16_t> ports, nb_queues;
    std::vector<unsigned> worker_lcores;
    bool loopback = false;
    size_t peer(size_t i) const { return loopback ? i : (i ^ 1u); }
};

// 依 --portmask 選出要用的 port，並檢查個數（轉送模式要能兩兩配對）
std::vector<uint16_t> select_ports(uint64_t portmask, bool allow_odd) {
    std::vector<uint16_t> ports;
    uint16_t id;
    RTE_ETH_FOREACH_DEV(id) {
        if (portmask == 0 || (id < 64 && (portmask >> id) & 1)) ports.push_back(id);
    }
    if (ports.empty()) {
        if (rte_eth_dev_count_avail() == 0)
            throw Failure(kExitNoDevice,
                          "找不到任何 port。沒有綁定 DPDK 的網卡時，用 --vdev 建立虛擬 port，例如："
                          "--vdev net_null0 --vdev net_null1、--vdev 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap'、"
                          "--vdev net_af_packet0,iface=veth0（只用虛擬 port 時加上 --no-pci）");
        throw Failure(kExitUsage, "--portmask 沒有選到任何存在的 port（共有 " + std::to_string(rte_eth_dev_count_avail()) + " 個）");
    }
    if (!allow_odd && ports.size() > 1 && ports.size() % 2 != 0)
        throw Failure(kExitUsage, "選到 " + std::to_string(ports.size()) +
                                      " 個 port：奇數個（大於 1）無法兩兩配對（0↔1、2↔3）；用 --portmask 選 1 個或偶數個");
    return ports;
}

Topology plan_topology(const Config& cfg) {
    Topology t;
    t.ports = select_ports(cfg.portmask, cfg.mode == Mode::Echo);
    t.loopback = cfg.mode == Mode::Echo || t.ports.size() == 1;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) t.worker_lcores.push_back(lcore);
    if (t.worker_lcores.empty()) throw Failure(kExitUsage, "至少需要 2 個 lcore（main + 1 個 worker），例如 -l 0-1");
    // 每個 port 的 queue 數 = min(worker 數, 驅動的上限)，配對的兩端取一樣多
    for (uint16_t p : t.ports) {
        rte_eth_dev_info info{};
        if (int ret = rte_eth_dev_info_get(p, &info); ret != 0) throw port_error(p, "rte_eth_dev_info_get", ret, "port 可能已被移除");
        t.nb_queues.push_back(static_cast<uint16_t>(
            std::min<unsigned>({static_cast<unsigned>(t.worker_lcores.size()), info.max_rx_queues, info.max_tx_queues})));
    }
    for (size_t i = 0; i < t.ports.size(); ++i) t.nb_queues[i] = std::min(t.nb_queues[i], t.nb_queues[t.peer(i)]);
    return t;
}

MempoolPtr create_mempool(const Topology& t) {
    const unsigned n = mempool_size(static_cast<unsigned>(t.ports.size()), *std::max_element(t.nb_queues.begin(), t.nb_queues.end()),
                                    static_cast<unsigned>(t.worker_lcores.size()));
    MempoolPtr pool(rte_pktmbuf_pool_create("mbuf_pool", n, kMempoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id())));
    if (!pool)
        throw Failure(kExitRuntime, "rte_pktmbuf_pool_create（" + std::to_string(n) + " 個 mbuf）失敗：" + rte_strerror(rte_errno) +
                                        "；hugepage 不夠時執行 make setup-hugepages 或加大 -m");
    return pool;
}

std::vector<Port> start_ports(const Topology& t, rte_mempool* pool, bool want_mark) {
    std::vector<Port> ports;
    ports.reserve(t.ports.size());
    for (size_t i = 0; i < t.ports.size(); ++i) {
        ports.emplace_back(t.ports[i]);
        port_init(ports.back(), t.nb_queues[i], pool, want_mark);
    }
    return ports;
}

// ---------------------------------------------------------------- --flow：把規則裝到 port 上
// queue=N 要指向存在的 rx queue：rx queue 數 = min(worker 數, 驅動上限)，EAL 起來之後才知道，所以在這裡（port 啟動前）檢查
void check_flow_queues(const Config& cfg, const Topology& t) {
    for (const FlowRule& r : cfg.flows)
        for (size_t i = 0; r.action == FlowAction::Queue && i < t.ports.size(); ++i)
            if (r.value >= t.nb_queues[i])
                throw Failure(kExitUsage, "--flow 規則「" + r.text + "」的 queue=" + std::to_string(r.value) + " 超出範圍：port " +
                                              std::to_string(t.ports[i]) + "（" + port_name(t.ports[i]) + "）只有 " +
                                              std::to_string(t.nb_queues[i]) + " 個 rx queue（queue 從 0 數；rx queue 數 = worker 數與驅動上限取小，"
                                              "用 -l 多給 lcore 或改小 N）");
}

// --flow 裡出現的 mark=N，不重複、依規則順序：worker 的 mark 表與 [摘要] 的 mark_N 用同一份
std::vector<uint32_t> flow_mark_ids(const Config& cfg) {
    std::vector<uint32_t> ids;
    for (const FlowRule& r : cfg.flows)
        if (r.action == FlowAction::Mark && std::find(ids.begin(), ids.end(), r.value) == ids.end()) ids.push_back(r.value);
    return ids;
}

const char* flow_error_part(rte_flow_error_type t) {
    switch (t) {
    case RTE_FLOW_ERROR_TYPE_ITEM:
    case RTE_FLOW_ERROR_TYPE_ITEM_SPEC:
    case RTE_FLOW_ERROR_TYPE_ITEM_MASK:
    case RTE_FLOW_ERROR_TYPE_ITEM_LAST:
    case RTE_FLOW_ERROR_TYPE_ITEM_NUM: return "pattern（比對）";
    case RTE_FLOW_ERROR_TYPE_ACTION:
    case RTE_FLOW_ERROR_TYPE_ACTION_CONF:
    case RTE_FLOW_ERROR_TYPE_ACTION_NUM: return "action（動作）";
    case RTE_FLOW_ERROR_TYPE_ATTR:
    case RTE_FLOW_ERROR_TYPE_ATTR_GROUP:
    case RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY:
    case RTE_FLOW_ERROR_TYPE_ATTR_INGRESS:
    case RTE_FLOW_ERROR_TYPE_ATTR_EGRESS:
    case RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER: return "attr（屬性）";
    case RTE_FLOW_ERROR_TYPE_HANDLE: return "建立規則本身";
    default: return "未指明";
    }
}

// 拒絕的提示：依驅動說明是哪裡不支援、怎麼辦
std::string flow_hint(std::string_view driver, const FlowRule& r, int code, rte_flow_error_type type) {
    if (driver == "net_tap") {
        if (r.action == FlowAction::Mark)
            return "net_tap 的 rte_flow 只有 drop、queue、rss、passthru 動作，沒有 mark（要 mark 得用支援的實體網卡）";
        return "net_tap 把 rte_flow 轉成 Linux TC 規則：tap 介面 multiq qdisc 上的 flower 分類器，動作是 gact（drop）與 "
               "skbedit（queue_mapping）。核心要有 sch_multiq、cls_flower、act_gact、act_skbedit（CONFIG_NET_SCH_MULTIQ、"
               "CONFIG_NET_CLS_FLOWER、CONFIG_NET_ACT_GACT、CONFIG_NET_ACT_SKBEDIT）；`tc filter add dev IF parent 1: flower …` "
               "回答 TC classifier not found 就是核心沒有 flower。tests/dpdk_flow_vm.sh 在有這些模組的 Debian 核心 VM 裡跑" +
               std::string(code == EEXIST ? "。注意：net_tap 的 rte_flow_create 不論核心回什麼錯都報 EEXIST 與「overlapping rules "
                                            "or Kernel too old for flower support」；核心真正的理由在上面 DPDK 的 log："
                                            "tap_nl_dump_ext_ack() 那一行（Parent Qdisc doesn't exists = 沒有 sch_multiq，"
                                            "探測時就已「Disabling rte flow support」）"
                                          : "");
    }
    if ((code == ENOTSUP || code == ENOSYS) && type == RTE_FLOW_ERROR_TYPE_UNSPECIFIED)
        return "驅動 " + std::string(driver) + " 沒有實作 rte_flow（net_null、net_ring、net_pcap 等虛擬 port 都沒有）："
               "要試 rte_flow 請用 net_tap（核心要有 TC flower）或支援 rte_flow 的網卡";
    return "驅動不接受這個 pattern 與動作的組合：dpdk-testpmd 的 flow validate 指令可以逐項試是哪一部分";
}

// 8< flow_create
// 每個 port 依序裝上每條規則。rte_flow 的模型：attr（ingress、priority）+ pattern（item 的陣列，每個 item 有 spec 與
// mask）+ actions（以 END 結尾）。先 rte_flow_validate（驅動只檢查自己懂不懂，不動硬體），再 rte_flow_create（真的裝上；
// net_tap 這時才把 TC 規則送進核心，所以核心沒有 flower 時 validate 會過、create 才失敗）。
// 裝置拒絕：印出驅動的理由（rte_flow_error.message）、rte_errno 與提示，丟出 Failure(77)；--flow-optional 時只警告。
// 解構（worker 已停、port 還沒 stop）時對裝過規則的 port 呼叫 rte_flow_flush，一次拆掉全部。
class FlowTable {
public:
    FlowTable(const Config& cfg, const Topology& t) {
        try {
            for (uint16_t port : t.ports)
                for (unsigned i = 0; i < cfg.flows.size(); ++i) install(port, i, cfg.flows[i], cfg.flow_optional);
        } catch (...) {
            flush_all();  // 建構失敗不會呼叫解構函式：已裝上的在這裡拆掉
            throw;
        }
    }
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;
    ~FlowTable() { flush_all(); }
    unsigned created() const { return created_; }

private:
    void install(uint16_t port, unsigned index, const FlowRule& r, bool optional) {
        rte_flow_attr attr{};
        attr.ingress = 1;
        attr.priority = index;  // 數字小的先比對：先寫的規則優先
        rte_flow_item_ipv4 ip_spec{}, ip_mask{};
        if (r.src) ip_spec.hdr.src_addr = *r.src, ip_mask.hdr.src_addr = UINT32_MAX;
        if (r.dst) ip_spec.hdr.dst_addr = *r.dst, ip_mask.hdr.dst_addr = UINT32_MAX;
        rte_flow_item_udp udp_spec{}, udp_mask{};
        if (r.udp_dport) udp_spec.hdr.dst_port = *r.udp_dport, udp_mask.hdr.dst_port = UINT16_MAX;

        std::array<rte_flow_item, 4> pattern{};  // ETH / IPV4 / [UDP] / END；沒有 spec 的 item = 「有這一層就好」
        size_t n = 0;
        pattern[n++].type = RTE_FLOW_ITEM_TYPE_ETH;
        pattern[n].type = RTE_FLOW_ITEM_TYPE_IPV4;
        if (r.src || r.dst) pattern[n].spec = &ip_spec, pattern[n].mask = &ip_mask;
        ++n;
        if (r.udp_dport) {
            pattern[n].type = RTE_FLOW_ITEM_TYPE_UDP;
            pattern[n].spec = &udp_spec;
            pattern[n++].mask = &udp_mask;
        }
        pattern[n].type = RTE_FLOW_ITEM_TYPE_END;

        rte_flow_action_queue queue{};
        queue.index = static_cast<uint16_t>(r.value);
        rte_flow_action_mark mark{};
        mark.id = r.value;
        std::array<rte_flow_action, 2> actions{};
        switch (r.action) {
        case FlowAction::Drop: actions[0].type = RTE_FLOW_ACTION_TYPE_DROP; break;
        case FlowAction::Queue: actions[0].type = RTE_FLOW_ACTION_TYPE_QUEUE, actions[0].conf = &queue; break;
        case FlowAction::Mark: actions[0].type = RTE_FLOW_ACTION_TYPE_MARK, actions[0].conf = &mark; break;
        }
        actions[1].type = RTE_FLOW_ACTION_TYPE_END;

        rte_flow_error err{};
        const char* call = "rte_flow_validate";
        int code = -rte_flow_validate(port, &attr, pattern.data(), actions.data(), &err);
        if (code == 0) {
            call = "rte_flow_create";
            err = {};
            if (rte_flow_create(port, &attr, pattern.data(), actions.data(), &err) != nullptr) {
                if (std::find(ports_.begin(), ports_.end(), port) == ports_.end()) ports_.push_back(port);
                ++created_;
                std::printf("rte_flow：port %u（%s）規則 %u「%s」已裝上（rte_flow_validate、rte_flow_create 成功）\n", port,
                            port_name(port).c_str(), index + 1, r.text.c_str());
                return;
            }
            code = rte_errno;
        }
        rte_eth_dev_info info{};
        const std::string driver = rte_eth_dev_info_get(port, &info) == 0 && info.driver_name ? info.driver_name : "?";
        const std::string msg = "port " + std::to_string(port) + "（" + port_name(port) + "，驅動 " + driver + "）拒絕 --flow 規則 " +
                                std::to_string(index + 1) + "「" + r.text + "」：" + call + " 失敗，驅動說：" +
                                (err.message ? err.message : "（沒有說明）") + "（rte_errno " + std::to_string(code) + "：" +
                                rte_strerror(code) + "；出問題的部分：" + flow_error_part(err.type) + "）。" +
                                flow_hint(driver, r, code, err.type);
        if (!optional) throw Failure(kExitNoDevice, msg);
        std::fprintf(stderr, "注意：%s。--flow-optional：不裝這條規則，繼續執行\n", msg.c_str());
    }
    void flush_all() noexcept {
        for (uint16_t port : ports_) {
            rte_flow_error err{};
            if (rte_flow_flush(port, &err) != 0)
                std::fprintf(stderr, "注意：port %u 的 rte_flow_flush 失敗：%s\n", port, err.message ? err.message : rte_strerror(rte_errno));
        }
        ports_.clear();
    }
    std::vector<uint16_t> ports_;  // 裝過規則的 port
    unsigned created_ = 0;
};
// >8 flow_create

// 8< assign_queues
// 把每個 port 的每個 queue 輪流分給 worker：(ports[i], q) 收到的從 (peer, q) 送出，每組配一個 TX 緩衝。
// 送不出去時的回呼記在「負責這組的 worker」的計數器上，所以仍是單一寫入者。
std::vector<TxBufferPtr> assign_queue_pairs(const Topology& t, std::span<WorkerCtx> ctxs, std::span<WorkerStats> stats) {
    std::vector<TxBufferPtr> tx_buffers;
    size_t next = 0;
    for (size_t i = 0; i < t.ports.size(); ++i) {
        const uint16_t tx_port = t.ports[t.peer(i)];
        for (uint16_t q = 0; q < t.nb_queues[i]; ++q, ++next) {
            const size_t w = next % ctxs.size();
            WorkerCtx& ctx = ctxs[w];
            if (ctx.nb_pairs == kMaxPairsPerWorker) throw Failure(kExitUsage, "每個 worker 的 (port, queue) 太多，請減少 port");
            auto* buf = static_cast<rte_eth_dev_tx_buffer*>(
                rte_zmalloc_socket("tx_buffer", RTE_ETH_TX_BUFFER_SIZE(kBurst), 0, rte_eth_dev_socket_id(tx_port)));
            if (!buf) throw Failure(kExitRuntime, "rte_zmalloc_socket（TX 緩衝）失敗：記憶體不足");
            tx_buffers.emplace_back(buf);
            rte_eth_tx_buffer_init(buf, kBurst);
            rte_eth_tx_buffer_set_err_callback(buf, on_tx_unsent, &stats[w].port[tx_port]);
            ctx.pairs[ctx.nb_pairs++] = QueuePair{t.ports[i], q, tx_port, buf};
        }
    }
    return tx_buffers;
}
// >8 assign_queues

// ---------------------------------------------------------------- --latency：每個 frame 穿過程式的時間
// 8< latency
// 不改熱迴圈：用 ethdev 的 RX/TX 回呼（rte_eth_add_rx_callback / rte_eth_add_tx_callback，DPDK 範例 rxtx_callbacks 的做法）。
//   RX 回呼：在 rte_eth_rx_burst 返回之前，把整個 burst 蓋上同一個 rte_rdtsc()，寫進 mbuf 的動態欄位（kb_rx_tsc）；
//   TX 回呼：在 rte_eth_tx_burst 把 frame 交給驅動之前，now − 時間戳 就是這個 frame 在程式裡待的時間
//            （含在 TX 緩衝裡等滿 32 個或等 100 µs 計時器 flush 的時間——那正是轉送延遲的一部分）。
// 沒加 --latency 時不登記回呼：rte_eth_rx_burst/tx_burst 裡「有沒有回呼」的檢查本來就在，熱迴圈一個指令都沒多。
// 直方圖：TSC cycle 數的 2 的次方區間各再分 16 格（誤差 ≤ 1/16 ≈ 6%），百分位取該格的上界（偏保守）。
// 每個 (TX port, queue) 一份直方圖，只有負責那組的 worker 寫（TX 回呼在它自己的 tx_burst 裡執行），telemetry 以 relaxed 讀。
constexpr unsigned kLatSub = 16;                  // 每個 2 的次方區間分幾格
constexpr unsigned kLatBuckets = 61 * kLatSub;    // 涵蓋 0 … 2^64 − 1 cycle
struct alignas(RTE_CACHE_LINE_SIZE) LatencyHist {
    std::array<uint64_t, kLatBuckets> count{};
    uint64_t samples = 0, max_cycles = 0;
    int tsc_offset = -1;  // kb_rx_tsc 動態欄位在 mbuf 裡的位置
};

constexpr unsigned lat_bucket(uint64_t cycles) {
    if (cycles < kLatSub) return static_cast<unsigned>(cycles);  // 0–15：一格一個值
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(cycles));  // ≥ 4
    return (msb - 3) * kLatSub + static_cast<unsigned>((cycles >> (msb - 4)) & (kLatSub - 1));
}
constexpr uint64_t lat_bucket_upper(unsigned b) {  // 第 b 格的最大值
    if (b < kLatSub) return b;
    const unsigned shift = b / kLatSub - 1;  // = msb − 4
    return ((uint64_t{kLatSub} + b % kLatSub + 1) << shift) - 1;
}
static_assert(lat_bucket(15) == 15 && lat_bucket(16) == 16 && lat_bucket(31) == 31 && lat_bucket(32) == 32 &&
              lat_bucket(33) == 32 && lat_bucket(UINT64_MAX) == kLatBuckets - 1 && lat_bucket_upper(32) == 33 &&
              lat_bucket_upper(kLatBuckets - 1) == UINT64_MAX, "直方圖的格子要連續、涵蓋全部 uint64_t");

inline uint64_t& rx_tsc(rte_mbuf* m, int offset) { return *RTE_MBUF_DYNFIELD(m, offset, uint64_t*); }

extern "C" uint16_t lat_stamp_rx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t nb, uint16_t, void* arg) {
    const int offset = *static_cast<const int*>(arg);
    const uint64_t now = rte_rdtsc();
    for (uint16_t i = 0; i < nb; ++i) rx_tsc(pkts[i], offset) = now;
    return nb;
}

extern "C" uint16_t lat_measure_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t nb, void* arg) {
    auto& h = *static_cast<LatencyHist*>(arg);
    const uint64_t now = rte_rdtsc();
    uint64_t max = peek(h.max_cycles);
    for (uint16_t i = 0; i < nb; ++i) {
        const uint64_t d = now - rx_tsc(pkts[i], h.tsc_offset);
        bump(h.count[lat_bucket(d)], 1);
        max = std::max(max, d);
    }
    bump(h.samples, nb);
    std::atomic_ref<uint64_t>(h.max_cycles).store(max, std::memory_order_relaxed);
    return nb;
}

// 登記動態欄位與每組 (port, queue) 的回呼；解構時（worker 都已停止）移除回呼並釋放它們
class LatencyProbe {
public:
    explicit LatencyProbe(std::span<const WorkerCtx> ctxs) {
        static const rte_mbuf_dynfield desc = {"kb_rx_tsc", sizeof(uint64_t), alignof(uint64_t), 0};
        offset_ = rte_mbuf_dynfield_register(&desc);
        if (offset_ < 0)
            throw Failure(kExitRuntime, std::string("rte_mbuf_dynfield_register（kb_rx_tsc）失敗：") + rte_strerror(rte_errno) +
                                            "；mbuf 的動態欄位空間用完了（其他函式庫或驅動已登記太多）");
        size_t n = 0;
        for (const WorkerCtx& c : ctxs) n += c.nb_pairs;
        hists_ = std::vector<LatencyHist>(n);  // 之後不再改大小：回呼拿的是元素的位址
        rx_.reserve(n);
        tx_.reserve(n);
        try {
            size_t i = 0;
            for (const WorkerCtx& c : ctxs)
                for (unsigned k = 0; k < c.nb_pairs; ++k, ++i) {
                    const QueuePair& qp = c.pairs[k];
                    hists_[i].tsc_offset = offset_;
                    add(rx_, qp.rx_port, qp.queue, rte_eth_add_rx_callback(qp.rx_port, qp.queue, lat_stamp_rx, &offset_),
                        "rte_eth_add_rx_callback");
                    add(tx_, qp.tx_port, qp.queue, rte_eth_add_tx_callback(qp.tx_port, qp.queue, lat_measure_tx, &hists_[i]),
                        "rte_eth_add_tx_callback");
                }
        } catch (...) {
            remove_all();  // 建構失敗不會呼叫解構函式：已登記的回呼在這裡移除
            throw;
        }
    }
    LatencyProbe(const LatencyProbe&) = delete;
    LatencyProbe& operator=(const LatencyProbe&) = delete;
    ~LatencyProbe() { remove_all(); }

    // 所有直方圖合併後的 p50/p99/max（奈秒）。worker 還在跑時（telemetry）也可以呼叫
    LatencyStats stats() {
        std::vector<uint64_t> merged(kLatBuckets);
        LatencyStats s;
        uint64_t max_cycles = 0;
        for (LatencyHist& h : hists_) {
            for (unsigned b = 0; b < kLatBuckets; ++b) merged[b] += peek(h.count[b]);
            max_cycles = std::max(max_cycles, peek(h.max_cycles));
        }
        for (uint64_t c : merged) s.samples += c;
        const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
        auto percentile = [&](double q) {
            const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(s.samples)));
            uint64_t seen = 0;
            for (unsigned b = 0; b < kLatBuckets; ++b)
                if ((seen += merged[b]) >= rank && seen > 0)
                    return static_cast<uint64_t>(static_cast<double>(std::min(lat_bucket_upper(b), max_cycles)) * ns_per_cycle + 0.5);
            return uint64_t{0};
        };
        s.p50_ns = percentile(0.50);
        s.p99_ns = percentile(0.99);
        s.max_ns = static_cast<uint64_t>(static_cast<double>(max_cycles) * ns_per_cycle + 0.5);
        return s;
    }

private:
    struct Cb {
        uint16_t port, queue;
        void* cb;
    };
    // 移除後回呼的記憶體歸應用程式（rte_ethdev.h：用 rte_free 釋放）；這時 worker 都已停止，沒有人還在用它
    void remove_all() noexcept {
        for (const Cb& c : rx_)
            if (rte_eth_remove_rx_callback(c.port, c.queue, static_cast<const rte_eth_rxtx_callback*>(c.cb)) == 0) rte_free(c.cb);
        for (const Cb& c : tx_)
            if (rte_eth_remove_tx_callback(c.port, c.queue, static_cast<const rte_eth_rxtx_callback*>(c.cb)) == 0) rte_free(c.cb);
        rx_.clear();
        tx_.clear();
    }
    static void add(std::vector<Cb>& list, uint16_t port, uint16_t queue, const rte_eth_rxtx_callback* cb, const char* call) {
        if (!cb)
            throw port_error(port, call, -rte_errno, "驅動或 DPDK 編譯時沒有 RTE_ETHDEV_RXTX_CALLBACKS，不能用 --latency");
        list.push_back({port, queue, const_cast<rte_eth_rxtx_callback*>(cb)});
    }
    int offset_ = -1;
    std::vector<LatencyHist> hists_;
    std::vector<Cb> rx_, tx_;
};
// >8 latency

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

void launch_workers(const Config& cfg, const Topology& t, std::span<WorkerCtx> ctxs, std::span<WorkerStats> stats) {
    for (size_t w = 0; w < ctxs.size(); ++w) {
        ctxs[w].lcore = t.worker_lcores[w];
        ctxs[w].mode = cfg.mode;
        ctxs[w].echo_port = cfg.udp_port;
        ctxs[w].stats = &stats[w];
        ctxs[w].flow = !cfg.flows.empty();
        const std::vector<uint32_t> marks = flow_mark_ids(cfg);
        std::copy(marks.begin(), marks.end(), ctxs[w].mark_ids.begin());
        ctxs[w].nb_marks = static_cast<unsigned>(marks.size());
        if (int ret = rte_eal_remote_launch(worker_main, &ctxs[w], ctxs[w].lcore); ret != 0)
            throw Failure(kExitRuntime, "rte_eal_remote_launch（lcore " + std::to_string(ctxs[w].lcore) + "）失敗：" + rte_strerror(-ret));
    }
}

void print_ready(const Config& cfg, const Topology& t, std::span<const WorkerCtx> ctxs, unsigned nb_mbufs) {
    std::string port_list;
    for (size_t i = 0; i < t.ports.size(); ++i)
        port_list += (i ? "、" : "") + std::to_string(t.ports[i]) + "（" + port_name(t.ports[i]) + "，" + std::to_string(t.nb_queues[i]) +
                     " queue，送往 port " + std::to_string(t.ports[t.peer(i)]) + "）";
    std::string echo;
    if (cfg.mode == Mode::Echo) echo = "，回應 UDP 埠 " + std::to_string(cfg.udp_port);
    std::printf("[就緒] 模式 %s%s，%zu 個 port：%s；%zu 個 worker，mempool %u 個 mbuf\n", mode_name(cfg.mode).data(), echo.c_str(),
                t.ports.size(), port_list.c_str(), ctxs.size(), nb_mbufs);
    for (const WorkerCtx& c : ctxs)
        if (c.nb_pairs == 0) std::printf("注意：lcore %u 沒有分到 queue（queue 數少於 worker 數），閒置\n", c.lcore);
}

// main lcore：印統計、等停止旗標或 --duration，再等所有 worker 返回；回傳經過的秒數
double stats_loop(const Config& cfg, std::span<WorkerStats> stats, std::span<const uint16_t> ports) {
    // 8< main_loop
    StatsPrinter printer(stats, ports, cfg.mode == Mode::Drop);
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
    return std::chrono::duration<double>(clock::now() - start).count();
}

// 所有 port、所有 worker 的計數相加（worker 都已停止）
RunResult collect(std::span<WorkerStats> stats, const Topology& t, bool driver_rx_bytes) {
    RunResult r;
    r.ports = static_cast<unsigned>(t.ports.size());
    r.workers = static_cast<unsigned>(stats.size());
    for (uint16_t p : t.ports) r.total += port_totals(stats, p, driver_rx_bytes);
    for (WorkerStats& w : stats)  // telemetry 在 worker 執行中也會呼叫：relaxed 讀取
        for (unsigned k = 0; k < kNumClasses; ++k) r.cls[k] += peek(w.cls[k]);
    r.rxq.assign(*std::max_element(t.nb_queues.begin(), t.nb_queues.end()), 0);
    for (WorkerStats& w : stats) {
        for (size_t q = 0; q < r.rxq.size(); ++q) r.rxq[q] += peek(w.flow.rxq[q]);
        r.flow_marked += peek(w.flow.marked);
        r.mark_other += peek(w.flow.mark_other);
        for (size_t k = 0; k < kMaxFlowRules; ++k) r.marks[k] += peek(w.flow.mark[k]);
    }
    return r;
}

// --flow 的 key（[摘要] 與 telemetry 的 /kb/stats 共用，順序相同）：flow_rules 一定有，其餘只在 --flow 的那份熱迴圈裡計數
std::vector<std::pair<std::string, uint64_t>> flow_keys(const Config& cfg, const RunResult& r) {
    std::vector<std::pair<std::string, uint64_t>> kv{{"flow_rules", r.flow_rules}};
    if (cfg.flows.empty()) return kv;
    for (size_t q = 0; q < r.rxq.size(); ++q) kv.emplace_back("rxq" + std::to_string(q), r.rxq[q]);
    kv.emplace_back("flow_marked", r.flow_marked);
    const std::vector<uint32_t> ids = flow_mark_ids(cfg);
    for (size_t k = 0; k < ids.size(); ++k) kv.emplace_back("mark_" + std::to_string(ids[k]), r.marks[k]);
    kv.emplace_back("mark_other", r.mark_other);
    return kv;
}


// ---------------------------------------------------------------- telemetry：/kb/stats
// 8< telemetry
// EAL 的 telemetry 執行緒在 <執行目錄>/dpdk_telemetry.v2（root：/var/run/dpdk/<prefix>/）收 JSON 指令；dpdk-telemetry.py 是它的
// 用戶端。這裡登記 /kb/stats：回傳一個 dict，key 與 [摘要] 的計數 key 同名（rx_packets … cls_* … not_echo、refused，--latency
// 時加上 lat_*，再來是 flow_rules 與 --flow 的 rxq*、mark_*），值是「現在」的累計——worker 還在跑，所以是 relaxed 讀到的一個快照，不是同一瞬間的。
// DPDK 22.11 的回呼沒有使用者參數（帶參數的 rte_telemetry_register_cmd_arg 是 24.x 才加的），也沒有取消登記：
// 回呼只能經過一個全域的指標找到計數器——除了停止旗標之外唯一的全域狀態。TelemetryExport（RAII）在 run() 裡設定它，
// 解構時（worker、port 還在）清掉；回呼與清除拿同一個 mutex，所以清掉之後回呼不會碰到已釋放的計數器，只回傳錯誤。
struct TelemetrySource {
    const Config* cfg;
    std::span<WorkerStats> stats;
    const Topology* topo;
    LatencyProbe* latency;  // 沒加 --latency 時是 nullptr
    unsigned flow_rules;    // 裝上的 rte_flow 規則數（port 啟動後就固定）
};

struct TelemetrySlot {
    std::mutex mu;
    const TelemetrySource* src = nullptr;
};
TelemetrySlot g_telemetry;  // 見上面：回呼沒有使用者參數

extern "C" int kb_stats_cmd(const char*, const char*, rte_tel_data* d) noexcept {
    try {
        const std::lock_guard lock(g_telemetry.mu);
        const TelemetrySource* src = g_telemetry.src;
        if (!src) return -EAGAIN;  // 還沒開始或已在收尾
        RunResult r = collect(src->stats, *src->topo, src->cfg->mode == Mode::Drop);
        r.flow_rules = src->flow_rules;
        const Totals& t = r.total;
        rte_tel_data_start_dict(d);
        rte_tel_data_add_dict_string(d, "mode", mode_name(src->cfg->mode).data());
        const std::pair<const char*, uint64_t> counts[] = {
            {"rx_packets", t.rx_packets}, {"tx_packets", t.tx_packets}, {"dropped", t.dropped}, {"malformed", t.malformed},
            {"rx_bytes", t.rx_bytes},     {"tx_bytes", t.tx_bytes},     {"not_echo", t.not_echo}, {"refused", t.refused},
            {"ports", r.ports},           {"workers", r.workers}};
        for (const auto& [k, v] : counts) rte_tel_data_add_dict_u64(d, k, v);
        for (const auto& [name, k] : kClasses) rte_tel_data_add_dict_u64(d, ("cls_" + std::string(name)).c_str(), r.cls[k]);
        if (src->latency) {
            const LatencyStats l = src->latency->stats();
            rte_tel_data_add_dict_u64(d, "lat_samples", l.samples);
            rte_tel_data_add_dict_u64(d, "lat_p50_ns", l.p50_ns);
            rte_tel_data_add_dict_u64(d, "lat_p99_ns", l.p99_ns);
            rte_tel_data_add_dict_u64(d, "lat_max_ns", l.max_ns);
        }
        for (const auto& [k, v] : flow_keys(*src->cfg, r)) rte_tel_data_add_dict_u64(d, k.c_str(), v);
        return 0;
    } catch (...) {  // 由 C 的 telemetry 執行緒呼叫：例外不能穿過
        return -ENOMEM;
    }
}

class TelemetryExport {
public:
    explicit TelemetryExport(const TelemetrySource& src) {
        // 登記是全域、永久的（行程裡只做一次）；失敗不影響轉送，只提醒
        if (int ret = rte_telemetry_register_cmd("/kb/stats", kb_stats_cmd, "dpdk_packet_processing 的計數器（與 [摘要] 同名的 key）");
            ret != 0 && ret != -EEXIST)
            std::fprintf(stderr, "注意：rte_telemetry_register_cmd（/kb/stats）失敗：%s；dpdk-telemetry.py 看不到本程式的計數器\n",
                         rte_strerror(-ret));
        const std::lock_guard lock(g_telemetry.mu);
        g_telemetry.src = &src;
    }
    TelemetryExport(const TelemetryExport&) = delete;
    TelemetryExport& operator=(const TelemetryExport&) = delete;
    ~TelemetryExport() {
        const std::lock_guard lock(g_telemetry.mu);
        g_telemetry.src = nullptr;
    }
};
// >8 telemetry

// ---------------------------------------------------------------- 擷取：rte_pdump
// 8< pdump
// rte_pdump_init() 登記一個多行程（IPC）動作：dpdk-dumpcap / dpdk-pdump 以 secondary 行程連上來，要求在某個 (port, queue)
// 裝上 RX/TX 回呼，把經過的 mbuf 複製一份放進它們在共享 hugepage 裡建的 ring，由 secondary 寫成 pcap/pcapng。
// 沒有人擷取時沒有回呼，熱迴圈不變。只有多行程模式（--file-prefix 或 --proc-type，而且不是 --in-memory / --no-shconf）
// 才有 IPC 與共享記憶體，所以預設的 --in-memory 不初始化；secondary 要用同樣的 --file-prefix，primary 要用 hugepage
// （--no-huge 的記憶體不能共享）。解構時 rte_pdump_uninit()，在 rte_eal_cleanup() 之前。
class PdumpServer {
public:
    explicit PdumpServer(const EalOptions& o) {
        if (o.no_shared_files || (o.file_prefix.empty() && !o.proc_type) || rte_eal_process_type() != RTE_PROC_PRIMARY) return;
        if (rte_pdump_init() != 0)
            throw Failure(kExitRuntime, std::string("rte_pdump_init 失敗：") + rte_strerror(rte_errno) +
                                            "；多行程 IPC 無法使用（檢查 /var/run/dpdk/<prefix>/ 是否可寫）");
        on_ = true;
    }
    PdumpServer(const PdumpServer&) = delete;
    PdumpServer& operator=(const PdumpServer&) = delete;
    ~PdumpServer() { if (on_) rte_pdump_uninit(); }
    bool on() const { return on_; }

private:
    bool on_ = false;
};
// >8 pdump

// 各步驟與指南 4.3 節〈run() 的步驟與 main lcore〉的編號相同。解構（倒過來）：worker（已停）→ TX 緩衝 → port stop/close
// → mempool → rte_eal_cleanup() → 自己的 hugepage 檔案與執行目錄
RunResult run(const Config& cfg) {
    // 1. EAL（信號處理函式在 main 的第一步就裝好了）
    const EalOptions eal_opts = scan_eal_args(cfg.eal_args);  // 不合理的 --file-prefix：rte_eal_init 之前就以 2 結束
    eal_init(cfg.eal_args, eal_opts);
    Eal eal(eal_opts.no_shared_files ? std::string_view{} : std::string_view(eal_opts.file_prefix));  // 從這裡起一定 rte_eal_cleanup()
    const PdumpServer pdump(eal_opts);  // 多行程模式：讓 dpdk-dumpcap / dpdk-pdump 擷取（指南 4.7）
    // 2. port 與 worker
    const Topology topo = plan_topology(cfg);
    check_flow_queues(cfg, topo);  // --flow 的 queue=N 要小於 rx queue 數
    // 3. mempool
    const MempoolPtr pool = create_mempool(topo);
    // 4. 啟動 port
    const std::vector<Port> ports = start_ports(topo, pool.get(), cfg.has_mark());
    // 4a. --flow：每個 port 裝上 rte_flow 規則（指南 4.9）；解構時 rte_flow_flush，在 port stop/close 之前
    const FlowTable flows(cfg, topo);
    // 5. 把 (port, queue) 輪流分給 worker，每組配一個 TX 緩衝
    std::vector<WorkerStats> stats(topo.worker_lcores.size());
    std::vector<WorkerCtx> ctxs(topo.worker_lcores.size());
    const std::vector<TxBufferPtr> tx_buffers = assign_queue_pairs(topo, ctxs, stats);
    // 5a. --latency：RX/TX 回呼量每個 frame 的延遲（指南 4.8）；5b. telemetry 的 /kb/stats（指南 4.6）
    std::optional<LatencyProbe> latency;
    if (cfg.latency) latency.emplace(ctxs);
    const TelemetrySource tel_src{&cfg, stats, &topo, latency ? &*latency : nullptr, flows.created()};
    const TelemetryExport telemetry(tel_src);
    // 6. 啟動 worker，main lcore 印統計並等待停止
    WorkerStopper stopper;
    if (g_stop.load()) {  // 啟動途中（例如 rte_eal_init 還在映射 hugepage 時）就收到 SIGINT/SIGTERM
        std::fprintf(stderr, "注意：啟動途中收到停止信號，不啟動 worker，直接收尾\n");
        return collect(stats, topo, false);
    }
    launch_workers(cfg, topo, ctxs, stats);
    if (pdump.on())
        std::printf("擷取：dpdk-dumpcap --file-prefix=%s -i 0（或 dpdk-pdump）可以擷取這個行程的流量\n",
                    eal_opts.file_prefix.empty() ? "rte" : eal_opts.file_prefix.c_str());  // 只給 --proc-type 時是 EAL 的預設 rte
    print_ready(cfg, topo, ctxs, pool->size);
    const double seconds = stats_loop(cfg, stats, topo.ports);
    for (const WorkerCtx& c : ctxs)
        if (c.error[0] != '\0')
            throw Failure(kExitRuntime, "lcore " + std::to_string(c.lcore) + " 的 worker 因例外結束：" + c.error.data() +
                                            "（其他 worker 已停止，port 與 EAL 照常收尾）");
    RunResult r = collect(stats, topo, cfg.mode == Mode::Drop);
    r.seconds = seconds;
    if (latency) r.latency = latency->stats();
    r.flow_rules = flows.created();
    return r;
}

// [摘要]：key 的順序是測試與 README 依賴的介面，只能往後加
Summary summarize(const Config& cfg, const RunResult& r) {
    const double secs = r.seconds > 0 ? r.seconds : 1;
    const Totals& t = r.total;
    Summary s;
    s.add("mode", mode_name(cfg.mode)).add("rx_packets", t.rx_packets).add("tx_packets", t.tx_packets);
    s.add("dropped", t.dropped).add("malformed", t.malformed);
    s.add("rx_pps", t.rx_packets / secs, 0).add("tx_pps", t.tx_packets / secs, 0);
    s.add("rx_mbps", t.rx_bytes * 8 / secs / 1e6, 1).add("tx_mbps", t.tx_bytes * 8 / secs / 1e6, 1);
    s.add("ports", r.ports).add("workers", r.workers).add("seconds", r.seconds, 3);
    for (const auto& [name, k] : kClasses) s.add("cls_" + std::string(name), r.cls[k]);
    s.add("not_echo", t.not_echo).add("refused", t.refused);
    if (cfg.latency)
        s.add("lat_samples", r.latency.samples).add("lat_p50_ns", r.latency.p50_ns).add("lat_p99_ns", r.latency.p99_ns)
            .add("lat_max_ns", r.latency.max_ns);
    for (const auto& [k, v] : flow_keys(cfg, r)) s.add(k, v);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    install_stop_handler();  // rte_eal_init 之前：啟動途中的 Ctrl-C 也走正常的收尾
    // 任何例外都在這裡接住：run() 的區域變數此時都已解構（worker 停止、port stop/close、rte_eal_cleanup()），
    // 只剩印訊息與選結束碼
    try {
        const Config cfg = parse_args(std::span<char* const>(argv, static_cast<size_t>(argc)));
        if (cfg.help) {
            print_usage(stdout, argv[0]);
            return kExitOk;
        }
        const RunResult r = run(cfg);
        summarize(cfg, r).print();  // 在 rte_eal_cleanup() 之後印，確保 [摘要] 是最後一行
        return kExitOk;
    } catch (const Failure& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        if (e.code == kExitUsage) print_usage(stderr, argv[0]);
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
