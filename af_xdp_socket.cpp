// af_xdp_socket.cpp — AF_XDP：在使用者空間直接收送網卡佇列上的封包
//
// 這個程式示範什麼
//   一個 XDP 程式（xdp_redirect.bpf.c）掛在網卡上，把使用者要的 UDP 流量（或 --all 全部）
//   導向一個 AF_XDP socket；其餘流量 XDP_PASS 給核心，所以 SSH、ARP、ping 不受影響。
//   使用者空間與核心共用一塊 UMEM 記憶體和四個環（fill、rx、tx、completion），
//   封包不經過 sk_buff 與協定堆疊。四種模式：
//     rxdrop  收下就丟（量測接收上限）        txonly  產生 UDP 封包（可限速 --rate）
//     l2fwd   交換 MAC 後從同一佇列送回       echo    交換 MAC/IP/埠，nc -u 收得到自己的字
//   延伸（指南 3.6–3.8）：--queues N 一個佇列一個 socket 與執行緒；--jumbo 以 XDP_USE_SG 收送跨多個 frame 的封包；
//   --fwd-if 介面2 是兩埠 l2fwd，兩個 socket 共用一個 UMEM（XDP_SHARED_UMEM），frame 在兩埠之間不複製。
//   XDP 程式只導向「送給這個介面」（它的 MAC、它的 IPv4）的封包；l2fwd 與 echo 不送出標頭不一致的訊框
//   （malformed），echo 不回應可能形成迴圈或反射的封包（refused，見錨點 echo）。
//
// 需求
//   Linux 5.11+（need_wakeup、busy-poll、XDP_STATISTICS 的新欄位），libxdp 1.3+、libbpf 1.0+，
//   root（或 CAP_NET_ADMIN + CAP_NET_RAW + CAP_BPF），bpffs 掛在 /sys/fs/bpf（libxdp 的 dispatcher 用），
//   /run 可寫（/run/af_xdp_socket/ 下每個介面一個 flock 鎖：同一介面同時只有一個實例）。
//
// 編譯與執行
//   make af_xdp                                  # af_xdp_socket + xdp_redirect.bpf.o
//   sudo ./af_xdp_socket eth0 0                  # eth0 的佇列 0，rxdrop，攔截 UDP 4242
//   sudo ./af_xdp_socket veth0 0 --mode echo     # 另一台主機：echo hi | nc -u -w1 <IP> 4242
//   sudo ./af_xdp_socket veth0 --unload          # 移除 kill -9 後殘留的 XDP 程式
//
// 指南章節：「AF_XDP」——UMEM 與四個環、XDP 程式分流、環的迴圈、copy 與 zero-copy、收尾。
//
// 結構：常數 → 共同詞彙（結束碼、Failure、parse_number、停止旗標、Fd、Summary）→ Config 與解析 →
//       RAII 包裝 → 裝置檢查 → 擁有權與殘留 → XDP 程式 → UMEM 與 socket → 封包處理 →
//       環的迴圈（Worker）→ 統計 → 兩埠轉送（TwoPort）→ 車道（多佇列）→ run() 的步驟 → main。

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------- 可調參數（單位寫在名字或註解裡）
// 8< tunables
constexpr uint32_t kDefaultFrames = 4096;      // UMEM 的 frame 數：16 MiB，足夠填滿 fill 環與 tx 環
constexpr uint32_t kDefaultFrameSize = 4096;   // bytes；一頁一個 frame，aligned 模式要求 2 的冪
constexpr uint32_t kMinFrameSize = 2048;       // bytes；核心允許的最小 aligned frame
constexpr uint32_t kMaxRingSize = 8192;        // 每個環的描述子數上限（2 的冪）；實際取 min(8192, frames/2)
constexpr uint32_t kDefaultBatch = 64;         // 每輪最多處理的封包數
constexpr uint32_t kMaxBatch = 1024;
constexpr uint32_t kMinFillDepth = 16;         // --fill-depth 的下限（--jumbo 時是 2 × kMaxSgBuffers）
constexpr uint16_t kDefaultUdpPort = 4242;
constexpr uint32_t kDefaultTxSize = 64;        // bytes，txonly 的訊框長度（不含 FCS）
constexpr uint32_t kMinTxSize = 60;            // Ethernet 最短訊框（不含 FCS）
constexpr int kBusyPollUsec = 20;              // SO_BUSY_POLL：每次系統呼叫最多忙等 20 µs
constexpr uint32_t kIdleSpins = 20000;         // 連續空轉這麼多輪收不到封包，才改用 poll() 睡覺（睡著再被喚醒要排程，滿載時會掉封包）
constexpr int kIdlePollMs = 100;               // poll() 逾時；也決定多快注意到停止旗標
constexpr auto kTxDrainTimeout = std::chrono::milliseconds(500);  // 結束時等待 TX 完成的上限
constexpr uint32_t kCopyTxPerKick = 32;        // copy 模式每次 sendto() 預設最多送 32 個（net/xdp/xsk.c 的 TX_BATCH_SIZE）
constexpr int kSockoptMaxTxBudget = 9;         // XDP_MAX_TX_SKB_BUDGET（Linux 6.17+；Debian 12 的標頭還沒有）
constexpr uint16_t kXdpUseSg = 1 << 4;         // XDP_USE_SG：bind 旗標，一個封包可跨多個 frame（Linux 6.6+；Debian 12 的標頭還沒有）
constexpr uint32_t kXdpPktContd = 1 << 0;      // XDP_PKT_CONTD：rx / tx 描述子的 options，「這個封包還有下一個 buffer」
constexpr uint32_t kMaxSgBuffers = 18;         // 一個封包最多幾個 buffer（核心的 MAX_SKB_FRAGS 17 + 1 個線性部分）
constexpr uint32_t kMaxQueues = 64;            // 與 xdp_redirect.bpf.c 的 XSKMAP 大小一致
constexpr uint32_t kMaxIp4 = 4;                // 與 xdp_redirect.bpf.c 的 MAX_IP4 一致：比對介面的前 4 個 IPv4 位址
constexpr uint32_t kXdpStats = 4;              // xsk_stats 的項目數：redirected、passed、no_socket、not_local
constexpr uint16_t kEchoMinSrcPort = 1024;     // echo 不回應來源埠 < 1024 的封包（不替 DNS、NTP、echo 服務等反射流量）
constexpr const char* kLockDir = "/run/af_xdp_socket";  // 每個介面一個 flock 鎖：誰持有，誰就是那個介面上活著的實例
constexpr const char* kProgName = "kb_xsk_redirect";  // BPF 程式名（≤ 15 字元），用來認出「我們的」程式
constexpr const char* kBpfObjName = "xdp_redirect.bpf.o";
constexpr const char* kBpffsDir = "/sys/fs/bpf";
static_assert((kMaxRingSize & (kMaxRingSize - 1)) == 0, "環的大小必須是 2 的冪");
static_assert(kDefaultBatch <= kMaxRingSize && kMaxBatch <= kMaxRingSize, "批次不能大於環");
static_assert(kDefaultFrameSize >= kMinFrameSize && (kDefaultFrameSize & (kDefaultFrameSize - 1)) == 0);
// >8 tunables

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
template <typename T>
T parse_number(std::string_view option, std::string_view text, T lo, T hi) {
    T v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    bool ok = !text.empty() && ec == std::errc() && end == text.data() + text.size() && !(v < lo) && !(hi < v);
    if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(v);
    if (!ok) {
        std::ostringstream m;
        m << option << " 的值「" << text << "」無效：必須是 " << +lo << " 到 " << +hi << " 之間的" << (std::is_floating_point_v<T> ? "數字" : "整數");
        throw Failure(kExitUsage, m.str());
    }
    return v;
}

// 停止旗標：唯一的全域變數。信號處理函式只設定它；main 的第一步就安裝（在任何可能阻塞的呼叫之前）
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
void install_stop_handler() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);   // 不設 SA_RESTART：阻塞中的系統呼叫以 EINTR 返回，迴圈才看得到旗標
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);   // 對方關閉後的寫入回傳 EPIPE，不殺掉行程
}

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

// 失敗的呼叫：「<call> 失敗：<strerror(err)>（errno N）」，有提示時下一行是「  提示：…」。用法：throw call_failed(...)
Failure call_failed(std::string_view call, int err, std::string_view hint, int code = kExitRuntime) {
    std::string m = std::string(call) + " 失敗：" + std::strerror(err) + "（errno " + std::to_string(err) + "）";
    if (!hint.empty()) m += "\n  提示：" + std::string(hint);
    return Failure(code, m);
}

// ---------------------------------------------------------------- Config 與解析
// 模式與綁定偏好：列舉值 PascalCase；命令列上的名字（小寫）在 kModeNames 這張表裡
enum class Mode { RxDrop, TxOnly, L2Fwd, Echo };
enum class BindPref { Automatic, ZeroCopy, Copy };

constexpr std::array<std::pair<Mode, std::string_view>, 4> kModeNames{
    {{Mode::RxDrop, "rxdrop"}, {Mode::TxOnly, "txonly"}, {Mode::L2Fwd, "l2fwd"}, {Mode::Echo, "echo"}}};

constexpr std::string_view mode_name(Mode m) {
    for (const auto& [mode, name] : kModeNames)
        if (mode == m) return name;
    return "?";
}

struct Config {
    std::string ifname;
    uint32_t queue = 0;                              // 第一個佇列
    uint32_t queues = 1;                             // --queues：從 queue 起連續幾個佇列（每個一個 socket、一個執行緒）
    Mode mode = Mode::RxDrop;
    uint16_t udp_port = kDefaultUdpPort;
    bool all = false;
    bool broadcast = false;                          // 目的 MAC 是廣播 / 多播的也導向 socket
    uint32_t tx_size = kDefaultTxSize;
    std::array<uint8_t, 6> dst_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::optional<std::array<uint8_t, 6>> src_mac;  // 預設：介面自己的 MAC
    in_addr dst_ip{htonl(0xC6120002)};               // 198.18.0.2
    in_addr src_ip{htonl(0xC6120001)};               // 198.18.0.1
    uint64_t rate = 0;                               // pps，0 = 全速
    BindPref bind = BindPref::Automatic;
    bool skb_mode = false;
    bool need_wakeup = true;
    bool busy_poll = false;
    std::string fwd_if;                              // --fwd-if：兩埠轉送的第二個介面（空 = 單埠）
    bool jumbo = false;                              // --jumbo：XDP_USE_SG（multi-buffer）+ frags 版的 XDP 程式
    uint32_t batch = kDefaultBatch;
    uint32_t frame_size = kDefaultFrameSize;
    uint32_t frames = kDefaultFrames;
    uint32_t fill_depth = 0;                         // 最多交給核心幾個 frame 等著收（0 = fill 環裝得下的都給）
    double duration_s = 0;                           // 0 = 直到 Ctrl-C
    uint64_t count = 0;                              // 0 = 不限
    int pin_cpu = -1;
    bool force = false;
    bool unload = false;
    bool verbose = false;                            // 印出 libxdp / libbpf 自己的訊息（英文）
    std::string bpf_obj;                             // 預設：執行檔旁的 xdp_redirect.bpf.o（空 = 沒給）
    bool help = false;                               // -h / --help：main 印出說明後結束
};

void print_usage(FILE* out) {
    std::fprintf(out,
        "用法：af_xdp_socket 介面 佇列 [選項]\n"
        "      af_xdp_socket 介面 --unload\n"
        "\n"
        "在「介面」的接收「佇列」上掛 XDP 程式並開一個 AF_XDP socket。\n"
        "只有指定的 UDP 流量（或 --all 全部）進入 socket，其餘照常交給核心。\n"
        "\n"
        "模式：\n"
        "  --mode M           rxdrop|txonly|l2fwd|echo（預設 rxdrop）\n"
        "                       rxdrop 收下就丟；txonly 產生 UDP；l2fwd 交換 MAC 送回；\n"
        "                       echo 交換 MAC、IP、埠後送回（nc -u 可收到回音）\n"
        "  --udp-port P       攔截的 UDP 目的埠，txonly 的目的埠（預設 %u）\n"
        "  --all              攔截這個佇列上的所有封包（小心：包括 ARP 與 SSH）\n"
        "  --broadcast        目的 MAC 是廣播 / 多播的 UDP 也攔截（預設 只攔截送給介面 MAC 的；\n"
        "                       介面有 IPv4 位址時目的 IP 也必須是它的；echo 一律不回應廣播 / 多播）\n"
        "txonly 的封包：\n"
        "  --size N           訊框長度 bytes，不含 FCS（預設 %u，範圍 %u..框架大小-256）\n"
        "  --dst-mac MAC      目的 MAC（預設 ff:ff:ff:ff:ff:ff）\n"
        "  --src-mac MAC      來源 MAC（預設 介面自己的 MAC）\n"
        "  --dst-ip IP        目的 IPv4（預設 198.18.0.2）\n"
        "  --src-ip IP        來源 IPv4（預設 198.18.0.1）\n"
        "  --rate PPS         每秒封包數上限（預設 0 = 全速）\n"
        "綁定與 XDP：\n"
        "  --zero-copy        只用 zero-copy，驅動不支援就失敗\n"
        "  --copy             只用 copy 模式\n"
        "                     （預設：先試 zero-copy，不支援就改用 copy 並說明原因）\n"
        "  --skb-mode         XDP 掛在通用（SKB）路徑；預設 native（驅動內）\n"
        "  --no-need-wakeup   不用 need_wakeup 旗標（預設使用：只在核心要求時才做系統呼叫）\n"
        "  --busy-poll        SO_PREFER_BUSY_POLL + SO_BUSY_POLL=%d µs（預設關閉）\n"
        "  --jumbo            multi-buffer：MTU 大於一個 frame 的封包（例 MTU 9000）跨多個 frame 收進來、原樣轉送 / 回音\n"
        "                       （XDP_USE_SG + frags 版的 XDP 程式，Linux 6.6+；只用於 rxdrop、l2fwd、echo；預設關閉）\n"
        "  --force            介面上已有別人的 XDP 程式時，移除它並換上我們的\n"
        "  --unload           移除這個介面上我們殘留的 XDP 程式（例如 kill -9 之後）然後結束；\n"
        "                       有實例正在使用這個介面時拒絕\n"
        "  --bpf-obj 路徑     XDP 程式檔（預設 執行檔旁的 %s）\n"
        "  -v, --verbose      顯示 libxdp 與 libbpf 自己的訊息（預設 不顯示，錯誤由本程式用中文說明）\n"
        "UMEM 與迴圈：\n"
        "  --batch N          每輪最多處理幾個封包（預設 %u，範圍 1..%u）\n"
        "  --frame-size N     UMEM frame 大小 bytes：2048 或 4096（預設 %u）\n"
        "  --frames N         UMEM frame 數，2 的冪（預設 %u，範圍 256..262144）\n"
        "  --fill-depth N     最多交給核心 N 個 frame 等著收（fill 環裡加上核心手上、還沒被收走的）\n"
        "                       （預設 0 = fill 環裝得下的都給；範圍 %u..fill 環大小 = min(%u, frames/2)）。\n"
        "                       copy 模式的核心把每個封包複製進 fill 環裡的下一個 frame：給得越少，輪流用到的 frame\n"
        "                       越少、越熱（快）；但程式被搶走 CPU 時越快沒有 frame 可用（rx_fill_ring_empty_descs）\n"
        "  --duration S       執行 S 秒後結束（預設 0 = 直到 Ctrl-C）\n"
        "  --count N          收到（txonly：送出）N 個封包後結束（預設 0 = 不限）\n"
        "  --pin-cpu N        把環的迴圈固定在 CPU N（預設 不固定；多佇列時第 i 個佇列在 CPU N+i）\n"
        "兩埠轉送（共用 UMEM）：\n"
        "  --fwd-if 介面2     l2fwd 兩埠轉送：從「介面」收到的原樣從「介面2」送出，反之亦然（同一個佇列編號）；\n"
        "                       兩個 socket 共用一個 UMEM（XDP_SHARED_UMEM），frame 在兩埠之間不複製；\n"
        "                       不比對目的 MAC／IP（封包是給線另一頭的主機的），只轉送 --udp-port（--all：全部）（預設 不用）\n"
        "多佇列：\n"
        "  --queues N         從「佇列」起連續 N 個接收佇列，每個佇列一個 socket、一個 UMEM、一個執行緒，\n"
        "                       執行緒依序固定在允許的 CPU 上；[摘要] 有每個佇列與總計（預設 1，範圍 1..%u）\n"
        "                       --count 與 txonly 的 --rate 是所有佇列的總數\n"
        "  -h, --help         顯示這段說明\n"
        "\n"
        "結束碼：0 成功，1 執行錯誤，2 參數錯誤，77 沒有權限或裝置\n",
        kDefaultUdpPort, kDefaultTxSize, kMinTxSize, kBusyPollUsec, kBpfObjName, kDefaultBatch, kMaxBatch,
        kDefaultFrameSize, kDefaultFrames, kMinFillDepth, kMaxRingSize, kMaxQueues);
}

Failure usage(const std::string& message) { return Failure(kExitUsage, message); }

std::array<uint8_t, 6> parse_mac(std::string_view opt, std::string_view s) {
    const auto bad = [&] { return usage(std::string(opt) + " 的值「" + std::string(s) + "」不是 MAC 位址（例 02:00:00:00:00:01）"); };
    std::array<uint8_t, 6> mac{};
    if (s.size() != 17) throw bad();
    for (size_t i = 0; i < 6; ++i) {
        const char* p = s.data() + i * 3;
        auto [end, ec] = std::from_chars(p, p + 2, mac[i], 16);
        if (ec != std::errc{} || end != p + 2 || (i < 5 && p[2] != ':')) throw bad();
    }
    return mac;
}

in_addr parse_ip(std::string_view opt, const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw usage(std::string(opt) + " 的值「" + s + "」不是 IPv4 位址");
    return a;
}

// 不帶值的選項：認得就設定並回傳 true
bool parse_flag(Config& c, std::string_view a) {
    if (a == "-h" || a == "--help") c.help = true;
    else if (a == "--all") c.all = true;
    else if (a == "--broadcast") c.broadcast = true;
    else if (a == "--zero-copy") c.bind = BindPref::ZeroCopy;
    else if (a == "--copy") c.bind = BindPref::Copy;
    else if (a == "--skb-mode") c.skb_mode = true;
    else if (a == "--no-need-wakeup") c.need_wakeup = false;
    else if (a == "--busy-poll") c.busy_poll = true;
    else if (a == "--jumbo") c.jumbo = true;
    else if (a == "--force") c.force = true;
    else if (a == "--unload") c.unload = true;
    else if (a == "-v" || a == "--verbose") c.verbose = true;
    else return false;
    return true;
}

// 帶值的選項（名字在這張表裡）：設定 Config，值有錯丟出 kExitUsage
constexpr std::array<std::string_view, 18> kValueOptions{"--queues", "--fwd-if", "--mode", "--udp-port", "--size", "--dst-mac", "--src-mac",
    "--dst-ip", "--src-ip", "--rate", "--batch", "--frame-size", "--frames", "--fill-depth", "--duration", "--count", "--pin-cpu",
    "--bpf-obj"};

void parse_value(Config& c, std::string_view a, const std::string& v) {
    if (a == "--mode") {
        const auto it = std::find_if(kModeNames.begin(), kModeNames.end(), [&](const auto& m) { return m.second == v; });
        if (it == kModeNames.end()) throw usage("--mode 的值「" + v + "」不是 rxdrop、txonly、l2fwd、echo 之一");
        c.mode = it->first;
    }
    else if (a == "--udp-port") c.udp_port = parse_number<uint16_t>(a, v, 1, 65535);
    else if (a == "--size") c.tx_size = parse_number<uint32_t>(a, v, kMinTxSize, 4096);
    else if (a == "--dst-mac") c.dst_mac = parse_mac(a, v);
    else if (a == "--src-mac") c.src_mac = parse_mac(a, v);
    else if (a == "--dst-ip") c.dst_ip = parse_ip(a, v);
    else if (a == "--src-ip") c.src_ip = parse_ip(a, v);
    else if (a == "--rate") c.rate = parse_number<uint64_t>(a, v, 0, 1'000'000'000);
    else if (a == "--batch") c.batch = parse_number<uint32_t>(a, v, 1, kMaxBatch);
    else if (a == "--frame-size") {
        c.frame_size = parse_number<uint32_t>(a, v, kMinFrameSize, 4096);
        if (c.frame_size != 2048 && c.frame_size != 4096) throw usage("--frame-size 只能是 2048 或 4096");
    }
    else if (a == "--frames") {
        c.frames = parse_number<uint32_t>(a, v, 256, 262144);
        if (c.frames & (c.frames - 1)) throw usage("--frames 必須是 2 的冪（例 4096）");
    }
    else if (a == "--fill-depth") c.fill_depth = parse_number<uint32_t>(a, v, 0, kMaxRingSize);
    else if (a == "--duration") c.duration_s = parse_number<double>(a, v, 0, 86400.0 * 365);
    else if (a == "--count") c.count = parse_number<uint64_t>(a, v, 0, UINT64_MAX);
    else if (a == "--fwd-if") {
        if (v.empty() || v.size() >= IFNAMSIZ) throw usage("--fwd-if 的介面名稱「" + v + "」是空的或太長");
        c.fwd_if = v;
    }
    else if (a == "--queues") c.queues = parse_number<uint32_t>(a, v, 1, kMaxQueues);
    else if (a == "--pin-cpu") c.pin_cpu = parse_number<int>(a, v, 0, CPU_SETSIZE - 1);
    else if (a == "--bpf-obj") {
        std::error_code ec;
        if (v.empty()) throw usage("--bpf-obj 的值是空的（要用預設的檔案就不要給 --bpf-obj）");
        if (!std::filesystem::is_regular_file(v, ec))
            throw usage("--bpf-obj 的檔案「" + v + "」不存在或不是一般檔案（先 make af_xdp）");
        c.bpf_obj = v;
    }
}

// 位置參數（介面、佇列）與選項之間的組合
void check_config(Config& c, const std::vector<std::string_view>& pos) {
    if (!c.fwd_if.empty() && (c.mode != Mode::L2Fwd || c.queues != 1 || c.jumbo || c.unload))
        throw usage("--fwd-if（兩埠轉送）只用於 --mode l2fwd，而且不能和 --queues、--jumbo、--unload 一起用（兩個介面各自 --unload）");
    if (c.fill_depth) {
        const uint32_t ring = std::min(kMaxRingSize, c.frames / 2);  // 與 ring_size_for() 相同
        const uint32_t low = c.jumbo ? 2 * kMaxSgBuffers : kMinFillDepth;
        if (c.mode == Mode::TxOnly) throw usage("--fill-depth 只用於收的模式（rxdrop、l2fwd、echo）：txonly 不用 fill 環");
        if (c.fill_depth < low || c.fill_depth > ring)
            throw usage("--fill-depth " + std::to_string(c.fill_depth) + " 超出範圍 " + std::to_string(low) + ".." +
                        std::to_string(ring) + "（上限是 fill 環的大小 min(" + std::to_string(kMaxRingSize) + ", --frames/2)" +
                        (c.jumbo ? "；--jumbo 時至少兩個最長的封包 2 × " + std::to_string(kMaxSgBuffers) + " 個 frame" : "") + "）");
    }
    if (c.jumbo && c.mode == Mode::TxOnly) throw usage("--jumbo 只用於收的模式（rxdrop、l2fwd、echo）：txonly 產生的訊框放得進一個 frame");
    if (c.bind == BindPref::ZeroCopy && c.skb_mode) throw usage("--zero-copy 不能和 --skb-mode 一起用（SKB 模式一定是 copy）");
    if (pos.empty()) throw usage("缺少參數：介面");
    if (pos.size() > 2) throw usage("多餘的參數：" + std::string(pos[2]));
    if (pos[0].empty()) throw usage("介面名稱是空的");
    if (pos[0].size() >= IFNAMSIZ) throw usage("介面名稱太長：" + std::string(pos[0]));
    c.ifname = pos[0];
    if (c.fwd_if == c.ifname) throw usage("--fwd-if 必須是另一個介面（不是 " + c.ifname + "）");
    if (pos.size() == 2) c.queue = parse_number<uint32_t>("佇列", pos[1], 0, kMaxQueues - 1);
    else if (!c.unload) throw usage("缺少參數：佇列（例：af_xdp_socket eth0 0）");
    if (c.mode == Mode::TxOnly && ((c.count && c.count < c.queues) || (c.rate && c.rate < c.queues)))
        throw usage("txonly 的 --count 與 --rate 分給 " + std::to_string(c.queues) + " 個佇列，每個至少要 1（不能小於 --queues）");
    if (c.queue + c.queues > kMaxQueues)
        throw usage("佇列 " + std::to_string(c.queue) + " 起的 " + std::to_string(c.queues) + " 個佇列超出 XSKMAP 的 " +
                    std::to_string(kMaxQueues) + " 格（0.." + std::to_string(kMaxQueues - 1) + "）");
    if (c.tx_size > c.frame_size - XDP_PACKET_HEADROOM)
        throw usage("--size " + std::to_string(c.tx_size) + " 放不進 " + std::to_string(c.frame_size) +
                    " bytes 的 frame（上限 frame 大小 - " + std::to_string(XDP_PACKET_HEADROOM) + "）");
}

// 8< parse_args
// 一個解析器填一個 Config；錯誤丟出 Failure(kExitUsage)，main 印中文說明與用法。-h 設定 cfg.help 後就停止解析
Config parse_args(int argc, char** argv) {
    Config c;
    std::vector<std::string_view> pos;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        std::optional<std::string> inline_val;  // --選項=值 的寫法
        if (a.starts_with("--") && a.find('=') != std::string_view::npos) {
            inline_val = std::string(a.substr(a.find('=') + 1));
            a = a.substr(0, a.find('='));
        }
        if (parse_flag(c, a)) {  // 不帶值的選項：--all=1 之類的寫法是打錯，不是「開啟」
            if (inline_val) throw usage(std::string(a) + " 不接受值（寫成 " + std::string(a) + " 就好）");
            if (c.help) return c;
            continue;
        }
        if (std::find(kValueOptions.begin(), kValueOptions.end(), a) != kValueOptions.end()) {
            if (!inline_val && i + 1 >= argc) throw usage(std::string(a) + " 需要一個值");
            parse_value(c, a, inline_val ? *inline_val : std::string(argv[++i]));
            continue;
        }
        if (a.starts_with("-") && a.size() > 1) throw usage("未知的選項：" + std::string(a));
        pos.push_back(a);
    }
    check_config(c, pos);
    return c;
}
// >8 parse_args

// ---------------------------------------------------------------- RAII：每個 C 資源一個擁有者
// UMEM 的記憶體本身（mmap），最後才釋放
class UmemArea {
public:
    explicit UmemArea(size_t bytes) : size_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) throw call_failed("mmap(UMEM)", errno, "記憶體不足？試試較小的 --frames");
        base_ = static_cast<uint8_t*>(p);
    }
    UmemArea(const UmemArea&) = delete;
    UmemArea& operator=(const UmemArea&) = delete;
    ~UmemArea() { ::munmap(base_, size_); }
    uint8_t* data() const { return base_; }
    size_t size() const { return size_; }
private:
    uint8_t* base_ = nullptr;
    size_t size_;
};

// ---------------------------------------------------------------- 裝置檢查
std::string read_text(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::string s;
    std::getline(f, s);
    return s;
}

std::string list_interfaces() {
    std::string out;
    if (struct if_nameindex* ni = ::if_nameindex()) {
        for (auto* p = ni; p->if_index != 0; ++p) out += std::string(out.empty() ? "" : " ") + p->if_name;
        if_freenameindex(ni);
    }
    return out;
}

// 需要的權限：CAP_NET_ADMIN（掛 XDP）、CAP_NET_RAW（AF_XDP socket）、CAP_BPF 或 CAP_SYS_ADMIN（載入 BPF）
void check_privileges() {
    std::ifstream f("/proc/self/status");
    std::string line;
    uint64_t eff = 0;
    while (std::getline(f, line))
        if (line.starts_with("CapEff:")) eff = std::strtoull(line.c_str() + 7, nullptr, 16);
    auto has = [&](int cap) { return (eff >> cap) & 1; };
    constexpr int kCapNetAdmin = 12, kCapNetRaw = 13, kCapSysAdmin = 21, kCapBpf = 39;
    std::string missing;
    if (!has(kCapNetAdmin)) missing += " CAP_NET_ADMIN";
    if (!has(kCapNetRaw)) missing += " CAP_NET_RAW";
    if (!has(kCapBpf) && !has(kCapSysAdmin)) missing += " CAP_BPF";
    if (!missing.empty())
        throw Failure(kExitNoDevice, "權限不足：缺少" + missing +
                                       "\n  提示：請用 root 執行（sudo ./af_xdp_socket ...），或給執行檔權限："
                                       "setcap cap_net_admin,cap_net_raw,cap_bpf+ep ./af_xdp_socket");
}

struct Device {
    int ifindex = 0;
    uint32_t rx_queues = 1;
    uint32_t mtu = 1500;
    std::array<uint8_t, 6> mac{};
    std::string driver = "?";
    std::vector<in_addr> ip4;  // 介面的 IPv4 位址（XDP 程式只導向送給它們的封包；空 = 不比對 IP）
};

// 8< device
Device inspect_device(const Config& cfg, bool need_queue) {
    Device d;
    d.ifindex = static_cast<int>(if_nametoindex(cfg.ifname.c_str()));
    if (d.ifindex == 0)
        throw Failure(kExitRuntime, "找不到網路介面「" + cfg.ifname + "」（if_nametoindex: " + std::strerror(errno) +
                                      "）\n  現有的介面：" + list_interfaces() +
                                      "\n  提示：用 ip -br link 查看；在 network namespace 裡要用 ip netns exec 執行");
    const std::filesystem::path sys = std::filesystem::path("/sys/class/net") / cfg.ifname;
    uint32_t n = 0;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(sys / "queues", ec))
        if (e.path().filename().string().starts_with("rx-")) ++n;
    if (n > 0) d.rx_queues = n;
    const std::string mtu = read_text(sys / "mtu");
    std::from_chars(mtu.data(), mtu.data() + mtu.size(), d.mtu);

    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", cfg.ifname.c_str());
    if (s.get() >= 0 && ::ioctl(s.get(), SIOCGIFHWADDR, &ifr) == 0)
        std::memcpy(d.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (s.get() >= 0 && ::ioctl(s.get(), SIOCETHTOOL, &ifr) == 0) d.driver = info.driver;
    if (ifaddrs* ifa = nullptr; ::getifaddrs(&ifa) == 0) {
        for (auto* p = ifa; p; p = p->ifa_next)
            if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET && cfg.ifname == p->ifa_name && d.ip4.size() < kMaxIp4)
                d.ip4.push_back(reinterpret_cast<const sockaddr_in*>(p->ifa_addr)->sin_addr);
        ::freeifaddrs(ifa);
    }

    const uint32_t last = cfg.queue + cfg.queues - 1;  // --queues：用到的最後一個佇列
    if (need_queue && last >= d.rx_queues)
        throw Failure(kExitRuntime, "佇列 " + std::to_string(last) + " 不存在：" + cfg.ifname + " 只有 " +
                                      std::to_string(d.rx_queues) + " 個接收佇列（0.." +
                                      std::to_string(d.rx_queues - 1) + "）\n  提示：ethtool -l " + cfg.ifname +
                                      " 查看佇列數；veth 可用 ip link add ... numrxqueues N 建立多佇列");
    // 一個封包（含一層 VLAN）要放得進 frame 扣掉 XDP 保留的 headroom
    // --jumbo：跨多個 frame，上限是 kMaxSgBuffers 個（見錨點 rx_batch_sg）
    const uint32_t room = (cfg.frame_size - XDP_PACKET_HEADROOM) * (cfg.jumbo ? kMaxSgBuffers : 1);
    if (need_queue && d.mtu + ETH_HLEN + 4 > room)
        throw Failure(kExitRuntime, "MTU 太大：" + cfg.ifname + " 的 MTU 是 " + std::to_string(d.mtu) + "，加上標頭 " +
                                      std::to_string(d.mtu + ETH_HLEN + 4) + " bytes 放不進 " +
                                      std::to_string(cfg.frame_size) + " bytes 的 frame（可用 " +
                                      std::to_string(room) + "）\n  提示：" + (cfg.jumbo ? "" : "加 --jumbo（multi-buffer），") +
                                      "加大 --frame-size，或 ip link set " + cfg.ifname + " mtu " +
                                      std::to_string(room - ETH_HLEN - 4));
    return d;
}
// >8 device

// libxdp 的 dispatcher 把程式釘（pin）在 bpffs；沒掛就替使用者掛上，掛不上就說怎麼做
void ensure_bpffs() {
    struct statfs st{};
    if (::statfs(kBpffsDir, &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC) return;
    if (::mount("bpf", kBpffsDir, "bpf", 0, nullptr) == 0) {
        std::printf("[說明] bpffs 沒有掛載，已自動掛載於 %s（libxdp 需要它來釘住 XDP 程式）\n", kBpffsDir);
        return;
    }
    throw call_failed("mount(bpffs)", errno, std::string("bpffs 沒有掛載，自動掛載也失敗；請執行：mount -t bpf bpf ") +
                                         kBpffsDir + "（或 make setup-hugepages）");
}

// ---------------------------------------------------------------- XDP 程式：載入、辨認、移除
// 與 xdp_redirect.bpf.c 的 struct xsk_cfg 相同排列
struct XskCfg {
    uint32_t owner_pid;  // 資訊用：誰掛的（ip link / bpftool 查得到）；擁有權由 OwnerLock 證明
    uint16_t udp_port;
    uint8_t all;
    uint8_t broadcast;
    std::array<uint8_t, 6> mac;
    uint8_t n_ip4;
    uint8_t wire;  // 1 = 兩埠轉送：不比對目的 MAC／IP
    std::array<uint32_t, kMaxIp4> ip4;  // 網路位元組序
};
static_assert(sizeof(XskCfg) == 32);

int libxdp_silent(enum libxdp_print_level, const char*, va_list) { return 0; }
int libbpf_silent(enum libbpf_print_level, const char*, va_list) { return 0; }
int libxdp_verbose(enum libxdp_print_level, const char* fmt, va_list ap) { return std::vfprintf(stderr, fmt, ap); }
int libbpf_verbose(enum libbpf_print_level lvl, const char* fmt, va_list ap) {
    return lvl == LIBBPF_DEBUG ? 0 : std::vfprintf(stderr, fmt, ap);
}

// ---------------------------------------------------------------- 擁有權與殘留：一個步驟
// 8< owner_lock
// 用 netlink 掛上的 XDP 程式不屬於任何程序：kill -9 之後 socket 被核心關掉，XDP 程式卻留在介面上。下一次啟動要分辨
// 「殘留」與「另一個活著的實例正在用」，證明是 /run/af_xdp_socket/<介面>.net<namespace>.lock 上的 flock：核心在程序結束
// （包括 kill -9）時自動放開 flock，所以活著的擁有者一定持有它、死掉的一定沒有——不像 kill(pid, 0) 與 /proc/PID/comm，
// 不會被重用的 PID、改了名字的執行檔或別的 PID namespace 騙過。拿到鎖之後，介面上的 kb_xsk_redirect 一定是殘留（錨點 stale）。
// 鎖在 XDP 程式掛上之前取得、卸下之後才放開（run() 裡比 XdpAttachment 先宣告）。檔名含 network namespace 的 inode：
// 不同 namespace 裡同名的介面是不同的裝置。鎖檔的內容是持有者的 PID，只是給人看的資訊。
class OwnerLock {
public:
    explicit OwnerLock(const std::string& ifname) : path_(lock_path(ifname)) {
        // 前一個擁有者結束時會刪掉鎖檔：拿到鎖之後確認鎖住的仍是路徑上的那個檔案，否則重來
        for (int attempt = 0; attempt < 16 && !fd_; ++attempt) {
            Fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
            if (!fd) throw call_failed("open(" + path_ + ")", errno, "/run 不可寫？請用 root 執行");
            previous_pid_ = read_pid(fd.get());
            if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
                if (errno != EWOULDBLOCK) throw call_failed("flock(" + path_ + ")", errno, "");
                throw Failure(kExitRuntime, "另一個 af_xdp_socket（PID " + previous_pid_ + "）正在使用 " + ifname + "（它持有 " +
                                                path_ + " 的鎖）\n  提示：同一個介面一次只能有一個實例；先結束它（kill " +
                                                previous_pid_ + "）");
            }
            struct stat held{}, now{};
            if (::fstat(fd.get(), &held) == 0 && ::stat(path_.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
                held.st_dev == now.st_dev)
                fd_ = std::move(fd);
        }
        if (!fd_) throw call_failed("flock(" + path_ + ")", EAGAIN, "鎖檔一直被換掉：有別的程式在刪它？");
        const std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd_.get(), 0) != 0 || ::pwrite(fd_.get(), pid.data(), pid.size(), 0) < 0) { /* 只是資訊，寫不進去也無妨 */ }
    }
    OwnerLock(const OwnerLock&) = delete;
    OwnerLock& operator=(const OwnerLock&) = delete;
    // 先刪再關（fd_ 在這之後才解構）：剛好在這之前開啟同一個檔案的人拿到鎖後，會發現路徑上已經不是它（上面的 inode 比對）
    ~OwnerLock() { ::unlink(path_.c_str()); }
    const std::string& path() const { return path_; }
    const std::string& previous_pid() const { return previous_pid_; }  // 上一個持有者（kill -9 後的殘留就是它留下的）
private:
    static std::string lock_path(const std::string& ifname) {
        struct stat ns{};
        if (::stat("/proc/self/ns/net", &ns) != 0) throw call_failed("stat(/proc/self/ns/net)", errno, "/proc 沒有掛載？");
        if (::mkdir(kLockDir, 0755) != 0 && errno != EEXIST)
            throw call_failed("mkdir(" + std::string(kLockDir) + ")", errno, "/run 不可寫？請用 root 執行");
        return std::string(kLockDir) + "/" + ifname + ".net" + std::to_string(ns.st_ino) + ".lock";
    }
    static std::string read_pid(int fd) {
        std::array<char, 32> buf{};
        const ssize_t n = ::pread(fd, buf.data(), buf.size() - 1, 0);
        std::string pid = n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : "";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return pid.empty() ? "?" : pid;
    }
    std::string path_;
    std::string previous_pid_ = "?";
    Fd fd_;
};
// >8 owner_lock

class Multiprog {
public:
    explicit Multiprog(int ifindex) {
        mp_ = xdp_multiprog__get_from_ifindex(ifindex);
        if (libxdp_get_error(mp_)) mp_ = nullptr;
    }
    Multiprog(const Multiprog&) = delete;
    Multiprog& operator=(const Multiprog&) = delete;
    ~Multiprog() { if (mp_) xdp_multiprog__close(mp_); }
    xdp_multiprog* get() const { return mp_; }
    // 掛在介面上的每個「實際」程式（dispatcher 的元件，或舊式的單一程式）
    std::vector<xdp_program*> programs() const {
        std::vector<xdp_program*> v;
        if (!mp_) return v;
        if (xdp_multiprog__is_legacy(mp_)) {
            if (auto* p = xdp_multiprog__main_prog(mp_)) v.push_back(p);
        } else {
            for (auto* p = xdp_multiprog__next_prog(nullptr, mp_); p; p = xdp_multiprog__next_prog(p, mp_))
                v.push_back(p);
        }
        return v;
    }
private:
    xdp_multiprog* mp_ = nullptr;
};

// 8< stale
// 清點介面上的 XDP 程式（呼叫前已取得 OwnerLock，所以活著的實例不可能還擁有它們）：我們的（kb_xsk_redirect）就是殘留，
// 移除；別人的就拒絕（除非 --force）。unload=true 時只移除我們的。每移除一個就重新讀取介面的狀態；回傳移除了幾個。
int handle_existing_xdp(const Config& cfg, const Device& dev, const OwnerLock& lock, bool unload) {
    int removed = 0;
    for (uint32_t round = 0; round < kMaxQueues; ++round, ++removed) {
        Multiprog mp(dev.ifindex);
        const auto progs = mp.programs();
        const auto ours = std::find_if(progs.begin(), progs.end(),
                                       [](xdp_program* p) { return std::string_view(xdp_program__name(p)) == kProgName; });
        if (progs.empty() || (unload && ours == progs.end())) return removed;  // --unload 不碰別人的程式
        if (ours != progs.end()) {
            const int err = xdp_multiprog__is_legacy(mp.get())
                                ? xdp_multiprog__detach(mp.get())
                                : xdp_program__detach(*ours, dev.ifindex, xdp_multiprog__attach_mode(mp.get()), 0);
            if (err) throw call_failed("xdp_program__detach(殘留的程式)", -err, "手動移除：ip link set dev " + cfg.ifname + " xdp off");
            std::printf("[說明] %s上次（PID %s）殘留在 %s 的 XDP 程式 %s（id %u）：沒有執行中的實例持有 %s\n",
                        unload ? "已移除" : "移除", lock.previous_pid().c_str(), cfg.ifname.c_str(), kProgName,
                        xdp_program__id(*ours), lock.path().c_str());
            continue;
        }
        std::string foreign;
        for (auto* p : progs)
            foreign += std::string(foreign.empty() ? "" : "、") + xdp_program__name(p) + "（id " +
                       std::to_string(xdp_program__id(p)) + "）";
        if (!cfg.force)
            throw Failure(kExitRuntime, cfg.ifname + " 上已經有別人的 XDP 程式：" + foreign + "\n  提示：ip link show " +
                                            cfg.ifname + " 查看；確定要換掉它就加 --force，或先 ip link set dev " +
                                            cfg.ifname + " xdp off");
        if (const int err = xdp_multiprog__detach(mp.get()); err)
            throw call_failed("xdp_multiprog__detach", -err, "手動移除：ip link set dev " + cfg.ifname + " xdp off");
        std::printf("[說明] --force：已移除 %s 上原有的 XDP 程式 %s\n", cfg.ifname.c_str(), foreign.c_str());
    }
    return removed;
}
// >8 stale

// 掛上的 XDP 程式；解構時卸下（任何結束路徑）
class XdpAttachment {
public:
    // 8< attach
    XdpAttachment(const Config& cfg, const Device& dev, const XskCfg& want) : ifindex_(dev.ifindex) {
        mode_ = cfg.skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE;
        prog_ = xdp_program__open_file(cfg.bpf_obj.c_str(), "xdp", nullptr);
        if (const long err = libxdp_get_error(prog_); err) {
            prog_ = nullptr;
            throw call_failed("xdp_program__open_file", static_cast<int>(-err),
                      "找不到或讀不到 " + cfg.bpf_obj + "；先 make af_xdp，或用 --bpf-obj 指定路徑");
        }
        // 掛上之前先確認「這是我們的程式與 map」：錯的檔案在這裡就被拒絕，介面完全不受影響
        try {
            check_object(cfg.bpf_obj);
            // --jumbo：以 BPF_F_XDP_HAS_FRAGS 載入（等於 SEC("xdp.frags")）。驅動只讓「懂 frags」的程式掛在 MTU 大於
            // 一頁的介面上（veth：「Peer MTU is too large to set XDP」）；程式本身只讀第一個 buffer 裡的標頭，不必改
            if (cfg.jumbo)
                if (const int err = xdp_program__set_xdp_frags_support(prog_, true); err)
                    throw call_failed("xdp_program__set_xdp_frags_support", -err, "libxdp 太舊（需要 1.3+）：不能用 --jumbo");
        } catch (...) {
            xdp_program__close(prog_);
            prog_ = nullptr;
            throw;
        }
        if (const int err = xdp_program__attach(prog_, ifindex_, mode_, 0); err) {
            xdp_program__close(prog_);
            prog_ = nullptr;
            throw call_failed("xdp_program__attach", -err,
                      cfg.jumbo ? "--jumbo：驅動或核心不接受 frags 版的 XDP 程式（multi-buffer XDP，Linux 6.0+，驅動要支援）"
                      : cfg.skb_mode ? "SKB 模式也掛不上：核心是否支援 XDP（CONFIG_XDP_SOCKETS、CONFIG_BPF_SYSCALL）？"
                                     : "驅動可能不支援 native XDP，試試 --skb-mode；veth 的 MTU 需 ≤ 約 3500（更大就加 --jumbo）");
        }
        // 從這裡起程式已經掛在介面上。建構函式丟出例外時解構函式「不會」執行，
        // 所以之後任何失敗都要在這裡自己卸下，再把例外往外丟
        try {
            bpf_object* obj = xdp_program__bpf_obj(prog_);
            xsks_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsks_map");
            cfg_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsk_cfg");
            stats_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsk_stats");
            if (xsks_map_fd_ < 0 || cfg_map_fd_ < 0 || stats_map_fd_ < 0)
                throw Failure(kExitRuntime, cfg.bpf_obj + " 裡缺少 xsks_map / xsk_cfg / xsk_stats map（檔案版本不對？）");
            // 告訴 XDP 程式要攔截什麼、介面的 MAC 與 IP（只導向送給這個介面的封包），以及誰掛的
            const uint32_t key = 0;
            if (bpf_map_update_elem(cfg_map_fd_, &key, &want, BPF_ANY) != 0)
                throw call_failed("bpf_map_update_elem(xsk_cfg)", errno, "xsk_cfg 必須是使用者空間可寫的 ARRAY（不能有 BPF_F_RDONLY）");
        } catch (...) {
            detach_and_close();
            throw;
        }
    }
    // >8 attach
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;
    ~XdpAttachment() { detach_and_close(); }
    int xsks_map_fd() const { return xsks_map_fd_; }
    const char* mode_name() const { return mode_ == XDP_MODE_SKB ? "skb" : "native"; }
    uint32_t id() const { return xdp_program__id(prog_); }

    struct ProgStats { uint64_t redirected = 0, passed = 0, no_socket = 0, not_local = 0; };
    // 每 CPU 計數器：每顆 CPU 一份，這裡加總
    ProgStats read_stats() const {
        ProgStats s;
        const int ncpu = libbpf_num_possible_cpus();
        if (ncpu <= 0 || ncpu > 1024) return s;
        std::array<uint64_t, 1024> vals{};
        std::array<uint64_t*, kXdpStats> dst{&s.redirected, &s.passed, &s.no_socket, &s.not_local};
        for (uint32_t k = 0; k < dst.size(); ++k) {
            if (bpf_map_lookup_elem(stats_map_fd_, &k, vals.data()) != 0) continue;
            for (int c = 0; c < ncpu; ++c) *dst[k] += vals[c];
        }
        return s;
    }
private:
    // 開啟的物件：第一個 "xdp" 程式必須叫 kb_xsk_redirect，三個 map 的型別與大小必須和這個程式的預期相同
    void check_object(const std::string& path) const {
        const std::string name = xdp_program__name(prog_);
        if (name != kProgName)
            throw Failure(kExitRuntime, path + " 的第一個 XDP 程式是「" + name + "」，不是 " + kProgName +
                                          "：拒絕掛上（它可能把每個封包 XDP_TX 彈回，SSH 也不例外）"
                                          "\n  提示：--bpf-obj 要指向 make af_xdp 編出的 xdp_redirect.bpf.o");
        struct Want { const char* name; bpf_map_type type; uint32_t key, value, min_entries; };
        const std::array<Want, 3> wants{{{"xsks_map", BPF_MAP_TYPE_XSKMAP, 4, 4, kMaxQueues},
                                         {"xsk_cfg", BPF_MAP_TYPE_ARRAY, 4, sizeof(XskCfg), 1},
                                         {"xsk_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, kXdpStats}}};
        bpf_object* obj = xdp_program__bpf_obj(prog_);
        for (const auto& w : wants) {
            const bpf_map* m = bpf_object__find_map_by_name(obj, w.name);
            if (!m)
                throw Failure(kExitRuntime, path + " 裡沒有 map「" + w.name + "」（需要 xsks_map、xsk_cfg、xsk_stats）："
                                                 "拒絕掛上\n  提示：檔案版本不對？重新 make af_xdp");
            if (bpf_map__type(m) != w.type || bpf_map__key_size(m) != w.key || bpf_map__value_size(m) != w.value ||
                bpf_map__max_entries(m) < w.min_entries)
                throw Failure(kExitRuntime, path + " 的 map「" + w.name + "」型別或大小不對（型別 " +
                                              std::to_string(bpf_map__type(m)) + "、value " +
                                              std::to_string(bpf_map__value_size(m)) + " bytes、" +
                                              std::to_string(bpf_map__max_entries(m)) + " 筆；需要型別 " +
                                              std::to_string(w.type) + "、value " + std::to_string(w.value) +
                                              " bytes、至少 " + std::to_string(w.min_entries) +
                                              " 筆）：拒絕掛上\n  提示：檔案與 af_xdp_socket 不是同一版編出來的；重新 make af_xdp");
        }
    }
    void detach_and_close() noexcept {
        if (!prog_) return;
        std::array<char, IF_NAMESIZE> name{};
        const bool still_there = if_indextoname(static_cast<unsigned>(ifindex_), name.data()) != nullptr;
        if (const int err = xdp_program__detach(prog_, ifindex_, mode_, 0); err && still_there)
            std::fprintf(stderr, "警告：xdp_program__detach 失敗：%s；請手動 ip link set dev %s xdp off\n",
                         std::strerror(-err), name.data());
        xdp_program__close(prog_);
        prog_ = nullptr;
    }

    xdp_program* prog_ = nullptr;
    int ifindex_;
    xdp_attach_mode mode_;
    int xsks_map_fd_ = -1, cfg_map_fd_ = -1, stats_map_fd_ = -1;
};

// ---------------------------------------------------------------- UMEM 與 AF_XDP socket
uint32_t ring_size_for(uint32_t frames) { return std::min(kMaxRingSize, frames / 2); }

// xsk_umem 與它的 fill / completion 環；環的結構必須活得比 umem 久，所以放在一起
class XskUmem {
public:
    XskUmem(const UmemArea& area, const Config& cfg) {
        xsk_umem_config uc{};
        uc.fill_size = ring_size_for(cfg.frames);
        uc.comp_size = ring_size_for(cfg.frames);
        uc.frame_size = cfg.frame_size;
        uc.frame_headroom = 0;
        uc.flags = 0;
        if (const int err = xsk_umem__create(&umem_, area.data(), area.size(), &fill, &comp, &uc); err) {
            umem_ = nullptr;
            throw call_failed("xsk_umem__create", -err,
                      "核心是否有 CONFIG_XDP_SOCKETS？locked memory 上限（ulimit -l）是否太小？");
        }
    }
    XskUmem(const XskUmem&) = delete;
    XskUmem& operator=(const XskUmem&) = delete;
    ~XskUmem() { if (umem_) xsk_umem__delete(umem_); }
    xsk_umem* get() const { return umem_; }
    xsk_ring_prod fill{};
    xsk_ring_cons comp{};
private:
    xsk_umem* umem_ = nullptr;
};

class XskSocket {
public:
    // 回傳負的 errno 而不丟例外：呼叫端要依錯誤決定是否改用 copy 模式
    int create(const Config& cfg, uint32_t queue, XskUmem& umem, uint16_t bind_flags) {
        xsk_socket_config sc{};
        sc.rx_size = ring_size_for(cfg.frames);
        sc.tx_size = ring_size_for(cfg.frames);
        sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // 用我們自己的 XDP 程式，不要 libxdp 的預設程式
        sc.xdp_flags = 0;
        sc.bind_flags = bind_flags;
        const bool want_rx = cfg.mode != Mode::TxOnly, want_tx = cfg.mode != Mode::RxDrop;  // 只建要用的環
        const int err = xsk_socket__create(&xsk_, cfg.ifname.c_str(), queue, umem.get(), want_rx ? &rx : nullptr,
                                           want_tx ? &tx : nullptr, &sc);
        if (err) xsk_ = nullptr;
        return err;
    }
    // 共用 UMEM 的第二個 socket（--fwd-if：另一個介面）：核心規定不同（介面, 佇列）的 socket 各有自己的 fill 與
    // completion 環（下面的 fill、comp）。bind 旗標不能再給：libxdp 只設 XDP_SHARED_UMEM 與第一個 socket 的 fd，
    // copy／zero-copy 與 need_wakeup 沿用第一個 socket 的
    int create_shared(const Config& cfg, const std::string& ifname, uint32_t queue, XskUmem& umem) {
        xsk_socket_config sc{};
        sc.rx_size = ring_size_for(cfg.frames);
        sc.tx_size = ring_size_for(cfg.frames);
        sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
        const int err = xsk_socket__create_shared(&xsk_, ifname.c_str(), queue, umem.get(), &rx, &tx, &fill, &comp, &sc);
        if (err) xsk_ = nullptr;
        return err;
    }
    XskSocket() = default;
    XskSocket(const XskSocket&) = delete;
    XskSocket& operator=(const XskSocket&) = delete;
    ~XskSocket() { if (xsk_) xsk_socket__delete(xsk_); }
    xsk_socket* get() const { return xsk_; }
    int fd() const { return xsk_socket__fd(xsk_); }
    xsk_ring_cons rx{};
    xsk_ring_prod tx{};
    xsk_ring_prod fill{};  // 只有 create_shared 的 socket 用（第一個 socket 的在 XskUmem 裡）
    xsk_ring_cons comp{};
private:
    xsk_socket* xsk_ = nullptr;
};

// ---------------------------------------------------------------- frame 配置器
// 8< allocator
// UMEM 的每個 frame 在任何時刻只屬於一個地方：這裡的空閒堆疊、fill 環（核心）、rx 環、
// tx 環（核心）或 completion 環。計數器讓結束時能核對「一個都沒少」。
class FrameAllocator {
public:
    FrameAllocator(uint32_t frames, uint32_t frame_size) : total_(frames) {
        free_.reserve(frames);  // 只在這裡配置一次；熱路徑不再配置
        for (uint32_t i = frames; i-- > 0;) free_.push_back(static_cast<uint64_t>(i) * frame_size);
    }
    uint32_t available() const { return static_cast<uint32_t>(free_.size()); }
    uint64_t alloc() { const uint64_t a = free_.back(); free_.pop_back(); return a; }
    void release(uint64_t addr) { free_.push_back(addr); }
    uint32_t total() const { return total_; }
    // 核對：空閒堆疊裡沒有重複、沒有越界的位址
    bool free_list_valid(uint32_t frame_size) const {
        std::vector<bool> seen(total_, false);
        for (uint64_t a : free_) {
            const uint64_t i = a / frame_size;
            if (a % frame_size != 0 || i >= total_ || seen[i]) return false;
            seen[i] = true;
        }
        return true;
    }
private:
    std::vector<uint64_t> free_;
    uint32_t total_;
};
// >8 allocator

// ---------------------------------------------------------------- 封包處理
uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}
uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t len) {
    for (size_t i = 0; i + 1 < len; i += 2) sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
    if (len & 1) sum += static_cast<uint32_t>(p[len - 1]) << 8;
    return sum;
}

// --jumbo：跨好幾個 buffer 的 1 的補數和。buffer 的長度可能是奇數：那之後的第一個位元組是 16 位元字的低位元組
struct CsumStream {
    uint32_t sum = 0;
    bool odd = false;
    void add(const uint8_t* p, size_t n) {
        if (n == 0) return;
        if (odd) { sum += p[0]; ++p; --n; odd = false; }
        sum = csum_add(sum, p, n);  // 奇數長度時最後一個位元組算在高位元組
        odd = (n & 1) != 0;
        sum = (sum & 0xffff) + (sum >> 16);
    }
};
using Buffers = std::span<const std::span<const uint8_t>>;  // 封包第一個 buffer 之後的 buffer（--jumbo）

// 8< swap_mac
inline void swap_mac(uint8_t* eth) {
    std::array<uint8_t, 6> tmp;
    std::memcpy(tmp.data(), eth, 6);
    std::memcpy(eth, eth + 6, 6);
    std::memcpy(eth + 6, tmp.data(), 6);
}
// >8 swap_mac

// 標頭以位元組位移存取：IP 標頭在 frame 裡只有 2 位元組對齊，不能直接轉成 struct iphdr*。
inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store_be16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8); p[1] = static_cast<uint8_t>(v); }
inline void swap_bytes(uint8_t* a, uint8_t* b, size_t n) { std::swap_ranges(a, a + n, b); }

// 8< validate
// 轉送與 echo 之前先確認標頭前後一致：程式不把自己看不懂的訊框送出去（記在 malformed）。
// 定義與 tests/hostile_frames.py 的 check 相同：乙太網路 + 任意層 VLAN；IPv4 / IPv6 的標頭與長度欄位
// 不超出實際的位元組；UDP / TCP 標頭放得下、UDP 長度與 TCP data offset 合理。非 IP 的 EtherType 不算壞。
struct Parsed {
    uint16_t l3_proto = 0;   // ETH_P_IP、ETH_P_IPV6 或其他
    uint32_t l3 = 0, l4 = 0; // 標頭在訊框裡的位移
    uint32_t l4_len = 0;     // IP 長度欄位說的 L4 位元組數
    uint8_t l4_proto = 0;
    bool fragment = false;   // IPv4 分段（MF 或 offset ≠ 0）
};

// n：IP 長度欄位說的 L4 位元組數；present：其中在第一個 buffer 裡的（標頭必須整個在第一個 buffer 裡）
inline bool l4_fits(uint8_t proto, const uint8_t* l4, uint32_t n, uint32_t present, bool more_fragments) {
    if (proto == IPPROTO_UDP) {  // 有 MF 的第一個分段：UDP 長度說的是重組後的長度，不檢查
        if (n < 8 || present < 8) return false;
        const uint32_t ulen = load_be16(l4 + 4);
        return more_fragments || (ulen >= 8 && ulen <= n);
    }
    if (proto == IPPROTO_TCP) {
        if (n < 20 || present < 20) return false;
        const uint32_t doff = l4[12] >> 4;
        return doff >= 5 && doff * 4 <= n;
    }
    return true;
}

// len：第一個 buffer 的位元組數（標頭只從這裡讀）；more：--jumbo 時後面幾個 buffer 的位元組數（只用來核對長度欄位）
inline bool parse_frame(const uint8_t* p, uint32_t len, Parsed& f, uint32_t more = 0) {
    if (len < ETH_HLEN) return false;
    uint32_t off = ETH_HLEN;
    uint16_t proto = load_be16(p + 12);
    while (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {  // VLAN 堆疊（QinQ）：每層 4 bytes
        if (len < off + 4) return false;
        proto = load_be16(p + off + 2);
        off += 4;
    }
    f.l3_proto = proto;
    f.l3 = off;
    const uint8_t* l3 = p + off;
    const uint32_t n = len - off;
    if (proto == ETH_P_IP) {  // 版本 / IHL 在 0、總長度在 2、分段在 6、協定在 9
        if (n < 20 || (l3[0] >> 4) != 4) return false;
        const uint32_t ihl = (l3[0] & 0x0f) * 4u, total = load_be16(l3 + 2), frag = load_be16(l3 + 6);
        if (ihl < 20 || ihl > n || total < ihl || total > n + more) return false;
        f.l4_proto = l3[9];
        f.l4 = off + ihl;
        f.l4_len = total - ihl;
        f.fragment = (frag & 0x3fff) != 0;
        if (frag & 0x1fff) return true;  // 非第一個分段：沒有 L4 標頭可檢查
        return l4_fits(f.l4_proto, l3 + ihl, f.l4_len, std::min(f.l4_len, n - ihl), (frag & 0x2000) != 0);
    }
    if (proto == ETH_P_IPV6) {  // payload 長度在 4、下一個標頭在 6
        if (n < 40 || (l3[0] >> 4) != 6) return false;
        f.l4_proto = l3[6];
        f.l4 = off + 40;
        f.l4_len = load_be16(l3 + 4);
        if (f.l4_len > n - 40 + more) return false;
        return l4_fits(f.l4_proto, l3 + 40, f.l4_len, std::min(f.l4_len, n - 40), false);
    }
    return true;
}
// >8 validate

// 8< echo
// UDP 回音：交換 MAC、IP、埠，並重算檢查和。為什麼要重算：交換本身不改變 1 的補數和，但同一台主機
// 或 veth 送來的封包常帶 CHECKSUM_PARTIAL——UDP 檢查和欄位只有偽標頭的部分和，由「網卡」補完。
// 從 AF_XDP 送回去時沒有人會補，所以這裡一律算出完整的檢查和。
//
// 不讓 echo 變成迴圈或反射器（兩個 echo、或 echo 對上任何 UDP 服務，會把一個偽造的封包互相回應到永遠）：
//   - 來源埠等於 echo 埠（對方也是 echo）或小於 1024（DNS、NTP、chargen、echo 等服務）不回應；
//   - 目的 MAC 不是介面的（廣播、多播、別人的）、來源是多播 / 廣播 / 未指定位址的不回應；
//   - TTL / hop limit 不重設，而是減 1（≤ 1 就不回應）：就算上面的規則被繞過，一個封包最多來回 255 次。
//     重設成 64 正是讓迴圈永遠不死的原因；回應走的路徑和來時相同，減 1 不會讓正常的回音到不了。
// 回傳 send 時已改好封包；malformed（標頭不一致）與 refused（合法但不回應）時封包不動、由呼叫端歸還。
enum class Verdict : uint8_t { Send, Malformed, Refused };

struct EchoPolicy {
    uint16_t port = 0;
    std::array<uint8_t, 6> mac{};
    std::array<uint32_t, kMaxIp4> ip4{};  // 網路位元組序
    uint32_t n_ip4 = 0;                   // 0 = 介面沒有 IPv4，不比對目的 IP
};

inline bool ip4_unusable_src(const uint8_t* a) {  // 0.0.0.0/8、127/8、多播 224/4、保留與廣播 240/4
    return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

// more：--jumbo 時封包其餘的 buffer（標頭都在第一個 buffer，只有 UDP 檢查和要讀它們）
inline Verdict make_echo(uint8_t* pkt, uint32_t len, const EchoPolicy& pol, Buffers more = {}) {
    Parsed f;
    uint32_t more_bytes = 0;
    for (const auto& b : more) more_bytes += static_cast<uint32_t>(b.size());
    if (!parse_frame(pkt, len, f, more_bytes)) [[unlikely]] return Verdict::Malformed;
    if ((f.l3_proto != ETH_P_IP && f.l3_proto != ETH_P_IPV6) || f.l4_proto != IPPROTO_UDP || f.fragment)
        return Verdict::Refused;  // 不是完整的 UDP 資料報（--all 時什麼都會進來）
    uint8_t* l3 = pkt + f.l3;
    uint8_t* udp = pkt + f.l4;  // UDP：來源埠 0、目的埠 2、長度 4、檢查和 6
    const uint16_t sport = load_be16(udp), dport = load_be16(udp + 2);
    if (dport != pol.port || sport == pol.port || sport < kEchoMinSrcPort) return Verdict::Refused;
    if ((pkt[6] & 1) || std::memcmp(pkt, pol.mac.data(), 6) != 0) return Verdict::Refused;  // 來源多播、目的不是我們
    uint32_t sum = 0;  // 偽標頭的位址部分（交換前後相同）
    if (f.l3_proto == ETH_P_IP) {  // TTL 在 8、檢查和在 10、位址在 12 與 16
        const uint32_t ihl = f.l4 - f.l3;
        if (l3[8] <= 1 || ip4_unusable_src(l3 + 12) || csum_fold(csum_add(0, l3, ihl)) != 0) return Verdict::Refused;
        if (pol.n_ip4 != 0) {  // 介面有 IPv4 位址：目的必須是其中之一
            uint32_t dst = 0;
            std::memcpy(&dst, l3 + 16, 4);
            if (std::find(pol.ip4.begin(), pol.ip4.begin() + pol.n_ip4, dst) == pol.ip4.begin() + pol.n_ip4)
                return Verdict::Refused;
        }
        swap_bytes(l3 + 12, l3 + 16, 4);
        l3[8] -= 1;
        store_be16(l3 + 10, 0);
        store_be16(l3 + 10, csum_fold(csum_add(0, l3, ihl)));
        sum = csum_add(0, l3 + 12, 8);
    } else {  // IPv6：hop limit 在 7、位址在 8 與 24；多播 ff00::/8、未指定 :: 不能當回應的目的地
        static constexpr std::array<uint8_t, 16> kUnspecified{};
        if (l3[7] <= 1 || l3[8] == 0xff || std::memcmp(l3 + 8, kUnspecified.data(), 16) == 0) return Verdict::Refused;
        swap_bytes(l3 + 8, l3 + 24, 16);
        l3[7] -= 1;
        sum = csum_add(0, l3 + 8, 32);
    }
    const uint32_t ulen = load_be16(udp + 4);  // parse_frame 已確認 8 ≤ ulen ≤ L4 位元組數
    swap_bytes(udp, udp + 2, 2);
    store_be16(udp + 6, 0);
    sum += IPPROTO_UDP + ulen;
    uint16_t c = 0;
    if (more.empty()) {
        c = csum_fold(csum_add(sum, udp, ulen));
    } else {  // --jumbo：UDP 資料延續到後面的 buffer
        CsumStream cs{sum};
        uint32_t left = ulen;
        const uint32_t first = std::min(left, len - f.l4);
        cs.add(udp, first);
        left -= first;
        for (const auto& b : more) {
            const uint32_t k = std::min<uint32_t>(left, static_cast<uint32_t>(b.size()));
            cs.add(b.data(), k);
            left -= k;
        }
        c = csum_fold(cs.sum);
    }
    store_be16(udp + 6, c == 0 ? 0xffff : c);  // 算出 0 時寫 0xffff（0 代表「沒有檢查和」）
    swap_mac(pkt);
    return Verdict::Send;
}
// >8 echo

// l2fwd：標頭一致就交換 MAC 送回
inline Verdict make_l2fwd(uint8_t* pkt, uint32_t len, uint32_t more_bytes = 0) {
    Parsed f;
    if (!parse_frame(pkt, len, f, more_bytes)) [[unlikely]] return Verdict::Malformed;
    swap_mac(pkt);
    return Verdict::Send;
}

// txonly 的訊框樣板：Ethernet + IPv4 + UDP，檢查和都算好（內容固定，只算一次）
std::vector<uint8_t> build_udp_frame(const Config& cfg, const std::array<uint8_t, 6>& src_mac) {
    std::vector<uint8_t> f(cfg.tx_size, 0);
    std::memcpy(f.data(), cfg.dst_mac.data(), 6);
    std::memcpy(f.data() + 6, src_mac.data(), 6);
    store_be16(f.data() + 12, ETH_P_IP);
    uint8_t* ip = f.data() + ETH_HLEN;
    const uint16_t tot = static_cast<uint16_t>(cfg.tx_size - ETH_HLEN), ulen = static_cast<uint16_t>(tot - 20);
    ip[0] = 0x45;  // IPv4，標頭 20 bytes
    store_be16(ip + 2, tot);
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    std::memcpy(ip + 12, &cfg.src_ip.s_addr, 4);
    std::memcpy(ip + 16, &cfg.dst_ip.s_addr, 4);
    store_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t* udp = ip + 20;
    store_be16(udp, cfg.udp_port);
    store_be16(udp + 2, cfg.udp_port);
    store_be16(udp + 4, ulen);
    for (size_t i = 8; i < ulen; ++i) udp[i] = static_cast<uint8_t>('a' + (i - 8) % 26);
    // UDP 檢查和：偽標頭（來源、目的、協定、長度）+ UDP 標頭 + 資料
    const uint16_t c = csum_fold(csum_add(csum_add(0, ip + 12, 8) + IPPROTO_UDP + ulen, udp, ulen));
    store_be16(udp + 6, c == 0 ? 0xffff : c);
    return f;
}

// ---------------------------------------------------------------- 環的迴圈
// 只有 worker 執行緒寫，主執行緒每秒讀；與其他資料分開（alignas(64)），避免 false sharing。
// 轉送模式的帳：rx_packets = tx_packets + malformed + refused（每個收到的封包只落在一處）
struct alignas(64) WorkerCounters {
    std::atomic<uint64_t> rx_packets{0}, rx_bytes{0}, tx_packets{0}, tx_bytes{0};
    std::atomic<uint64_t> tx_completed{0}, fill_submitted{0}, syscalls{0};
    std::atomic<uint64_t> malformed{0};  // 標頭不一致：不轉送、不回音
    std::atomic<uint64_t> refused{0};    // echo：合法但不回應（迴圈防護、不是送給我們、不是 UDP）
    // --jumbo：一個封包第一個以外的 buffer（描述子）數。frame 的帳以描述子計：收到的描述子 = rx_packets + rx_extra_bufs
    std::atomic<uint64_t> rx_extra_bufs{0}, tx_extra_bufs{0};
    // --fill-depth：忙著收的時候交給核心的 frame 最多到過幾個（= N 表示上限守住了），與睡覺前把 fill 環補滿的次數
    std::atomic<uint64_t> fill_posted_max{0}, fill_topups{0};
};
static_assert(sizeof(WorkerCounters) % 64 == 0);

inline void bump(std::atomic<uint64_t>& c, uint64_t n) {  // 單一寫者：不需要 lock 前綴的 fetch_add
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// --fill-depth 的帳（Worker::refill_fill 與 TwoPort::refill 共用）：posted = 已交給核心、還沒收回的 frame。
// fill_room：這次最多再交幾個（deep：睡覺前補滿，不管 N）；fill_noted：交出 n 個之後記帳
inline uint32_t fill_room(uint32_t depth, uint64_t posted, uint32_t want, bool deep) {
    if (!depth || deep) return want;
    return posted >= depth ? 0 : static_cast<uint32_t>(std::min<uint64_t>(want, depth - posted));
}
inline void fill_noted(WorkerCounters& c, uint64_t posted, uint32_t n, bool deep) {
    bump(c.fill_submitted, n);
    if (deep) bump(c.fill_topups, 1);
    else if (posted + n > c.fill_posted_max.load(std::memory_order_relaxed)) c.fill_posted_max.store(posted + n, std::memory_order_relaxed);
}

// 一個迴圈執行緒用掉的 CPU 與經過的時間（結束時記下一次；摘要的 worker_cpu_pct）
struct RunTiming {
    double cpu_s = 0, wall_s = 0;
    void finish(std::chrono::steady_clock::time_point t0) {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        cpu_s = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
        wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    double cpu_percent() const { return wall_s > 0 ? cpu_s / wall_s * 100 : 0; }
};

class Worker {
public:
    // 一個佇列一個 Worker。count、rate：這個佇列的份（多佇列時由 run() 分配；0 = 不限）
    Worker(const Config& cfg, UmemArea& area, XskUmem& umem, XskSocket& xsk, std::span<const uint8_t> tx_template,
           const EchoPolicy& echo, uint64_t count, uint64_t rate)
        : cfg_(cfg), area_(area), umem_(umem), xsk_(xsk), echo_(echo), count_(count), rate_(rate), alloc_(cfg.frames, cfg.frame_size),
          frame_mask_(~static_cast<uint64_t>(cfg.frame_size - 1)), tx_len_(static_cast<uint32_t>(tx_template.size())) {
        if (cfg.mode == Mode::TxOnly)  // 每個 frame 先寫好樣板，送出時只需填描述子
            for (uint32_t i = 0; i < cfg.frames; ++i)
                std::memcpy(area.data() + static_cast<uint64_t>(i) * cfg.frame_size, tx_template.data(), tx_len_);
    }

    // 綁定後、放進 XSKMAP 之前先填滿 fill 環：第一個封包到達時核心就有 frame 可用
    void prime() { if (cfg_.mode != Mode::TxOnly) refill_fill(); }
    // --busy-poll 有沒有作用：第一批封包之後才知道（見 check_busy_poll）；checked 之後 napi_id 才有意義
    bool busy_poll_checked() const { return busy_poll_checked_.load(std::memory_order_acquire); }
    unsigned napi_id() const { return napi_id_; }
    void set_tx_per_kick(uint32_t n) { tx_per_kick_ = n; }
    void run();
    void request_stop() { stop_.store(true, std::memory_order_relaxed); }
    void mark_failed() {  // run() 丟出例外時由執行緒設定
        failed_.store(true, std::memory_order_release);
        finished_.store(true, std::memory_order_release);
    }
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    // 工作執行緒真正在 CPU 上的時間 / 經過時間（%）：遠低於 100 表示它常在睡或被別的程序搶走 CPU
    double cpu_percent() const { return timing_.cpu_percent(); }
    const WorkerCounters& counters() const { return c_; }

    struct Accounting { uint32_t total, free, in_fill, in_tx; bool free_list_ok; bool balanced() const {
        return free_list_ok && free + in_fill + in_tx == total; } };
    Accounting accounting() const {
        const uint64_t in_fill = c_.fill_submitted.load() - c_.rx_packets.load() - c_.rx_extra_bufs.load();
        const uint64_t in_tx = c_.tx_packets.load() + c_.tx_extra_bufs.load() - c_.tx_completed.load();
        return {alloc_.total(), alloc_.available(), static_cast<uint32_t>(in_fill), static_cast<uint32_t>(in_tx),
                alloc_.free_list_valid(cfg_.frame_size)};
    }

private:
    bool tx_in_flight() const {  // tx 環裡還有核心沒送完的描述子
        return c_.tx_packets.load(std::memory_order_relaxed) + c_.tx_extra_bufs.load(std::memory_order_relaxed) !=
               c_.tx_completed.load(std::memory_order_relaxed);
    }
    bool stopping() const {
        return g_stop.load(std::memory_order_relaxed) || stop_.load(std::memory_order_relaxed);
    }
    void complete_tx();
    void refill_fill(bool deep = false);
    uint32_t rx_batch();
    uint32_t rx_batch_sg();
    uint32_t tx_generate(uint64_t budget);
    void kick_tx();
    void wait_idle();
    void check_busy_poll();

    const Config& cfg_;
    UmemArea& area_;
    XskUmem& umem_;
    XskSocket& xsk_;
    const EchoPolicy echo_;
    const uint64_t count_, rate_;  // 這個佇列的 --count、--rate 份
    FrameAllocator alloc_;
    const uint64_t frame_mask_;
    const uint32_t tx_len_;
    WorkerCounters c_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> finished_{false};
    std::atomic<bool> failed_{false};
    uint32_t idle_ = 0;
    uint32_t tx_per_kick_ = kCopyTxPerKick;
    bool busy_poll_ = cfg_.busy_poll;             // 實際上是否 busy-poll（socket 沒有 NAPI id 時關掉）
    bool busy_poll_pending_ = cfg_.busy_poll;     // 還沒檢查過 NAPI id
    unsigned napi_id_ = 0;                        // busy_poll_checked_ 之後才讀（release / acquire）
    std::atomic<bool> busy_poll_checked_{false};
    RunTiming timing_;  // run() 結束時寫入，join 之後才讀
};

// 8< complete_tx
// completion 環：核心送完的 frame 回到空閒堆疊
void Worker::complete_tx() {
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&umem_.comp, kMaxRingSize, &idx);
    if (n == 0) return;
    for (uint32_t i = 0; i < n; ++i) alloc_.release(*xsk_ring_cons__comp_addr(&umem_.comp, idx + i) & frame_mask_);
    xsk_ring_cons__release(&umem_.comp, n);
    bump(c_.tx_completed, n);
}
// >8 complete_tx

// 8< refill
// fill 環：把空閒 frame 交給核心，讓它有地方放收到的封包；一次 submit 整批
// --fill-depth：交給核心、還沒收回來的 frame（在 fill 環裡，或已經裝了封包、還在 rx 環裡）不超過 N 個。
// 空閒堆疊是 LIFO，所以輪流使用的就是這 N 個左右的 frame，核心複製時它們（與 pool 裡對應的 xdp_buff_xsk）還在快取裡。
// deep = true（wait_idle 要睡覺之前）：不管 N，能給的都給——睡著時沒有快取可言，要的是叫醒之前核心有地方放封包。
void Worker::refill_fill(bool deep) {
    const uint64_t posted = c_.fill_submitted.load(std::memory_order_relaxed) - c_.rx_packets.load(std::memory_order_relaxed) -
                            c_.rx_extra_bufs.load(std::memory_order_relaxed);
    const uint32_t want = fill_room(cfg_.fill_depth, posted, std::min(alloc_.available(), kMaxRingSize), deep);
    const uint32_t n = std::min(want, xsk_prod_nb_free(&umem_.fill, want));
    if (n == 0) return;
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&umem_.fill, n, &idx) != n) [[unlikely]] return;
    for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&umem_.fill, idx + i) = alloc_.alloc();
    xsk_ring_prod__submit(&umem_.fill, n);
    fill_noted(c_, posted, n, deep);
}
// >8 refill

// 8< kick
// copy 模式的 TX 由 sendto() 驅動；有 need_wakeup 時只在核心要求時才呼叫（busy-poll 時每次都呼叫：系統呼叫驅動 NAPI）
void Worker::kick_tx() {
    if (cfg_.need_wakeup && !xsk_ring_prod__needs_wakeup(&xsk_.tx) && !busy_poll_) return;
    bump(c_.syscalls, 1);
    if (::sendto(xsk_.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) [[unlikely]] {
        // EAGAIN/EBUSY/ENOBUFS：核心忙，下一輪再試；ENETDOWN：介面關了，下一輪再試
        // （介面被刪掉時，每秒一次的介面檢查會結束迴圈）
    }
}
// >8 kick

// 8< rx_batch
// 收一批：peek → 依模式處理 → 一次 release rx、一次 submit tx
uint32_t Worker::rx_batch() {
    uint32_t limit = cfg_.batch;
    const bool forward = cfg_.mode != Mode::RxDrop;
    if (forward) {  // 先確定 tx 環有位子，沒位子就先不收：背壓留給核心的 rx 環（記在 rx_ring_full）
        limit = std::min(limit, xsk_prod_nb_free(&xsk_.tx, limit));
        if (limit == 0) [[unlikely]] return 0;
    }
    uint32_t idx_rx = 0;
    const uint32_t n = xsk_ring_cons__peek(&xsk_.rx, limit, &idx_rx);
    if (n == 0) return 0;
    std::array<xdp_desc, kMaxBatch> out;  // 要送回的描述子，放在堆疊上
    uint32_t sent = 0, malformed = 0, refused = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + i);
        const uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
        rx_bytes += d->len;
        if (!forward) { alloc_.release(addr & frame_mask_); continue; }
        uint8_t* pkt = static_cast<uint8_t*>(xsk_umem__get_data(area_.data(), addr));
        const Verdict v = cfg_.mode == Mode::L2Fwd ? make_l2fwd(pkt, d->len) : make_echo(pkt, d->len, echo_);
        if (v != Verdict::Send) [[unlikely]] {  // 看不懂或不回應：frame 直接歸還
            ++(v == Verdict::Malformed ? malformed : refused);
            alloc_.release(addr & frame_mask_);
            continue;
        }
        out[sent++] = xdp_desc{addr, d->len, 0};
        tx_bytes += d->len;
    }
    xsk_ring_cons__release(&xsk_.rx, n);
    bump(c_.rx_packets, n);
    bump(c_.rx_bytes, rx_bytes);
    if (malformed | refused) [[unlikely]] {
        bump(c_.malformed, malformed);
        bump(c_.refused, refused);
    }
    if (sent) {
        uint32_t idx_tx = 0;  // 一定成功：上面確認過 tx 環至少有 limit ≥ sent 個空位
        xsk_ring_prod__reserve(&xsk_.tx, sent, &idx_tx);
        for (uint32_t i = 0; i < sent; ++i) *xsk_ring_prod__tx_desc(&xsk_.tx, idx_tx + i) = out[i];
        xsk_ring_prod__submit(&xsk_.tx, sent);
        bump(c_.tx_packets, sent);
        bump(c_.tx_bytes, tx_bytes);
        for (uint32_t k = 0; k < sent; k += tx_per_kick_) kick_tx();  // copy 模式：每次 sendto 有上限
    }
    return n;
}
// >8 rx_batch

// 8< rx_batch_sg
// --jumbo（XDP_USE_SG）：一個封包可以跨好幾個 frame。核心依序放進 rx 環，除了最後一個，每個描述子的 options 都有
// XDP_PKT_CONTD；標頭都在第一個 buffer。一批只處理完整的封包：批次尾巴不完整的封包用 cancel 退回 rx 環，下一輪再收
// （所以一批至少要放得下一個最長的封包：kMaxSgBuffers 個描述子）。轉送時描述子照原樣放進 tx 環，
// 前面的都帶 XDP_PKT_CONTD——核心把它們組回一個封包送出；MAC / IP / 埠的修改只動第一個 buffer，payload 不複製。
uint32_t Worker::rx_batch_sg() {
    uint32_t limit = std::max(cfg_.batch, kMaxSgBuffers);
    const bool forward = cfg_.mode != Mode::RxDrop;
    if (forward) {
        limit = std::min(limit, xsk_prod_nb_free(&xsk_.tx, limit));
        if (limit < kMaxSgBuffers) [[unlikely]] return 0;  // tx 環的空位不夠一個最長的封包：先讓核心送
    }
    uint32_t idx_rx = 0;
    uint32_t n = xsk_ring_cons__peek(&xsk_.rx, limit, &idx_rx);
    uint32_t complete = n;  // 最後一個完整封包之後的位置
    while (complete > 0 && (xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + complete - 1)->options & kXdpPktContd)) --complete;
    if (complete < n) xsk_ring_cons__cancel(&xsk_.rx, n - complete);
    n = complete;
    if (n == 0) return 0;
    std::array<xdp_desc, kMaxBatch> out;
    std::array<std::span<const uint8_t>, kMaxSgBuffers> more;
    uint32_t sent = 0, packets = 0, sent_packets = 0, malformed = 0, refused = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t end = i;  // 這個封包最後一個描述子
        while (xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + end)->options & kXdpPktContd) ++end;
        ++packets;
        uint32_t pkt_bytes = 0, nmore = 0;
        for (uint32_t k = i; k <= end; ++k) {
            const xdp_desc* d = xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + k);
            pkt_bytes += d->len;
            if (k > i && nmore < more.size())
                more[nmore++] = {static_cast<const uint8_t*>(xsk_umem__get_data(area_.data(), d->addr)), d->len};
        }
        rx_bytes += pkt_bytes;
        const xdp_desc* first = xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + i);
        uint8_t* pkt = static_cast<uint8_t*>(xsk_umem__get_data(area_.data(), first->addr));
        Verdict v = Verdict::Refused;
        if (forward)
            v = end - i + 1 > kMaxSgBuffers ? Verdict::Malformed
                : cfg_.mode == Mode::L2Fwd ? make_l2fwd(pkt, first->len, pkt_bytes - first->len)
                                           : make_echo(pkt, first->len, echo_, Buffers(more.data(), nmore));
        for (uint32_t k = i; k <= end; ++k) {
            const xdp_desc* d = xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + k);
            if (v == Verdict::Send) out[sent++] = xdp_desc{d->addr, d->len, k < end ? kXdpPktContd : 0};
            else alloc_.release(d->addr & frame_mask_);
        }
        if (v == Verdict::Send) { ++sent_packets; tx_bytes += pkt_bytes; }
        else if (forward) ++(v == Verdict::Malformed ? malformed : refused);
        i = end + 1;
    }
    xsk_ring_cons__release(&xsk_.rx, n);
    bump(c_.rx_packets, packets);
    bump(c_.rx_extra_bufs, n - packets);
    bump(c_.rx_bytes, rx_bytes);
    bump(c_.malformed, malformed);
    bump(c_.refused, refused);
    if (sent) {
        uint32_t idx_tx = 0;  // 一定成功：tx 環至少有 limit ≥ n ≥ sent 個空位
        xsk_ring_prod__reserve(&xsk_.tx, sent, &idx_tx);
        for (uint32_t k = 0; k < sent; ++k) *xsk_ring_prod__tx_desc(&xsk_.tx, idx_tx + k) = out[k];
        xsk_ring_prod__submit(&xsk_.tx, sent);
        bump(c_.tx_packets, sent_packets);
        bump(c_.tx_extra_bufs, sent - sent_packets);
        bump(c_.tx_bytes, tx_bytes);
        for (uint32_t k = 0; k < sent; k += tx_per_kick_) kick_tx();
    }
    return n;
}
// >8 rx_batch_sg

// 8< tx_generate
// txonly：從空閒堆疊取 frame（內容是預先寫好的樣板），填描述子，一次 submit
uint32_t Worker::tx_generate(uint64_t budget) {
    uint32_t n = std::min<uint64_t>({cfg_.batch, alloc_.available(), budget});
    n = std::min(n, xsk_prod_nb_free(&xsk_.tx, n));
    if (n == 0) return 0;
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&xsk_.tx, n, &idx) != n) [[unlikely]] return 0;
    for (uint32_t i = 0; i < n; ++i) {
        xdp_desc* t = xsk_ring_prod__tx_desc(&xsk_.tx, idx + i);
        t->addr = alloc_.alloc();
        t->len = tx_len_;
        t->options = 0;
    }
    xsk_ring_prod__submit(&xsk_.tx, n);
    bump(c_.tx_packets, n);
    bump(c_.tx_bytes, static_cast<uint64_t>(n) * tx_len_);
    return n;
}
// >8 tx_generate

// 沒有封包時：先空轉一會兒（延遲最低），再用 poll() 睡覺（不白燒 CPU）
void Worker::wait_idle() {
    // 轉送模式：tx 環裡可能還有沒送出的（copy 模式每次 sendto 只送 32 個），睡覺前先催一次
    if (cfg_.mode != Mode::RxDrop && tx_in_flight()) {
        kick_tx();
        complete_tx();
    }
    // busy-poll：由系統呼叫驅動驅動程式的 NAPI；need_wakeup：核心在 fill 環設旗標時才喚醒驅動。
    // 兩者都是「不阻塞」的 recvfrom，之後照樣空轉——喚醒驅動不等於要睡覺。
    // （沒有 need_wakeup 時驅動自己一直在跑，不需要任何系統呼叫。）
    if (busy_poll_ || (cfg_.need_wakeup && xsk_ring_prod__needs_wakeup(&umem_.fill))) {
        bump(c_.syscalls, 1);
        ::recvfrom(xsk_.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        if (busy_poll_) return;
    }
    if (++idle_ < kIdleSpins) return;
    idle_ = 0;
    if (cfg_.fill_depth) refill_fill(true);  // 要睡了：fill 環補滿（見 refill_fill）
    pollfd p{xsk_.fd(), POLLIN, 0};
    bump(c_.syscalls, 1);
    ::poll(&p, 1, kIdlePollMs);
}

// 8< busy_poll_check
// busy-poll 的系統呼叫執行的是「socket 記下的 NAPI」（SO_INCOMING_NAPI_ID，核心在第一個封包進來時記下）。
// 驅動沒有替 XDP 的接收佇列登記 NAPI id 時它是 0：veth 的 copy 模式就是這樣，busy-poll 的 recvfrom() 什麼也不做，
// 只是白燒 CPU（而介面的 napi_defer_hard_irqs 讓接收等計時器，見 IrqDeferralOff）。所以第一批封包之後檢查一次，
// 是 0 就改回一般的等待方式（空轉再 poll()），並讓主執行緒知道。
void Worker::check_busy_poll() {
    busy_poll_pending_ = false;
    unsigned id = 0;
    socklen_t len = sizeof(id);
    if (::getsockopt(xsk_.fd(), SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &len) != 0) id = 0;
    napi_id_ = id;
    busy_poll_ = id != 0;
    busy_poll_checked_.store(true, std::memory_order_release);
}
// >8 busy_poll_check

// 8< run
void Worker::run() {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const bool txonly = cfg_.mode == Mode::TxOnly;
    while (!stopping()) {
        complete_tx();
        if (txonly) {
            uint64_t budget = UINT64_MAX;
            const uint64_t sent = c_.tx_packets.load(std::memory_order_relaxed);
            if (count_ && sent >= count_) break;
            if (count_) budget = count_ - sent;
            double wait_s = 0;
            if (rate_) {  // 依經過時間算出目前「可以送」的數量
                const double el = std::chrono::duration<double>(Clock::now() - t0).count();
                const auto allowed = static_cast<uint64_t>(el * static_cast<double>(rate_)) + 1;
                budget = std::min(budget, allowed > sent ? allowed - sent : 0);
                wait_s = static_cast<double>(sent + 1) / static_cast<double>(rate_) - el;
            }
            if (budget == 0) {  // 限速：睡到下一個配額（最多 1 ms，才能及時看到停止旗標）
                std::this_thread::sleep_for(std::chrono::duration<double>(std::clamp(wait_s, 5e-6, 1e-3)));
                complete_tx();
                continue;
            }
            const uint32_t n = tx_generate(budget);
            for (uint32_t k = 0; k < n; k += tx_per_kick_) kick_tx();  // copy 模式：每次 sendto 有上限
            if (n == 0 && alloc_.available() == 0) kick_tx();             // frame 都在核心手上：催它送
        } else {
            refill_fill();
            if ((cfg_.jumbo ? rx_batch_sg() : rx_batch()) == 0) {
                wait_idle();
            } else {
                idle_ = 0;
                if (busy_poll_pending_) [[unlikely]] check_busy_poll();
            }
            if (count_ && c_.rx_packets.load(std::memory_order_relaxed) >= count_) break;
        }
    }
    // 收尾：等核心送完 tx 環裡的 frame，讓每個 frame 都回到帳上
    const auto deadline = Clock::now() + kTxDrainTimeout;
    while (cfg_.mode != Mode::RxDrop && tx_in_flight() && Clock::now() < deadline) {
        kick_tx();
        complete_tx();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    timing_.finish(t0);
    finished_.store(true, std::memory_order_release);
}
// >8 run

// ---------------------------------------------------------------- 建立 socket：zero-copy → copy 的後備
struct Bound {
    bool zerocopy = false;
};

// 8< bind
// 預設先試 zero-copy（驅動直接 DMA 進 UMEM）；驅動不支援就重建 UMEM 與 socket，改用 copy 模式。
// 失敗的 bind 已經在 UMEM 的 fd 上設定了環，不能重用，所以 umem 要整個重建。
Bound create_socket(const Config& cfg, uint32_t queue, const Device& dev, UmemArea& area, std::optional<XskUmem>& umem,
                    XskSocket& xsk) {
    const uint16_t wake = (cfg.need_wakeup ? XDP_USE_NEED_WAKEUP : 0) | (cfg.jumbo ? kXdpUseSg : 0);
    const bool try_zc = cfg.bind != BindPref::Copy && !cfg.skb_mode;
    if (try_zc) {
        umem.emplace(area, cfg);
        const int err = xsk.create(cfg, queue, *umem, XDP_ZEROCOPY | wake);
        if (err == 0) return {true};
        if (cfg.bind == BindPref::ZeroCopy)
            throw call_failed("xsk_socket__create(XDP_ZEROCOPY)", -err,
                      err == -EBUSY ? "這個佇列已經綁了另一個 AF_XDP socket"
                                    : "驅動 " + dev.driver + " 不支援 AF_XDP zero-copy（例如 veth）；拿掉 --zero-copy 改用 copy 模式");
        if (err == -EBUSY)
            std::printf("[說明] zero-copy 綁定失敗（xsk_socket__create: %s），改試 copy 模式\n", std::strerror(-err));
        else
            std::printf("[說明] 驅動 %s 不支援 zero-copy（xsk_socket__create: %s），改用 copy 模式："
                        "封包在核心裡複製一次進 UMEM\n", dev.driver.c_str(), std::strerror(-err));
        umem.reset();
    }
    umem.emplace(area, cfg);
    if (const int err = xsk.create(cfg, queue, *umem, XDP_COPY | wake); err)
        throw call_failed("xsk_socket__create(XDP_COPY)", -err,
                  err == -EBUSY ? "這個佇列已經綁了另一個 AF_XDP socket"
                  : cfg.jumbo && (err == -EINVAL || err == -EOPNOTSUPP)
                      ? "--jumbo：這個核心不支援 AF_XDP multi-buffer（XDP_USE_SG，Linux 6.6+）；拿掉 --jumbo 並把 MTU 調到一個 frame 放得下"
                      : "核心是否有 CONFIG_XDP_SOCKETS？佇列編號是否正確？");
    return {false};
}
// >8 bind

void set_busy_poll(int fd, uint32_t batch) {
    const int on = 1, usec = kBusyPollUsec, budget = static_cast<int>(batch);
    if (::setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &on, sizeof(on)) != 0)
        throw call_failed("setsockopt(SO_PREFER_BUSY_POLL)", errno, "需要 Linux 5.11+");
    if (::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec)) != 0)
        throw call_failed("setsockopt(SO_BUSY_POLL)", errno, "需要 CAP_NET_ADMIN");
    if (::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)) != 0)
        throw call_failed("setsockopt(SO_BUSY_POLL_BUDGET)", errno, "需要 Linux 5.11+");
}

// copy 模式的 TX 在 sendto() 裡逐個建 sk_buff 送出，預設每次最多 32 個。Linux 6.17+ 可用
// XDP_MAX_TX_SKB_BUDGET 調高，一批只要一次系統呼叫；舊核心不認得這個選項就維持 32。
uint32_t raise_tx_budget(int fd, uint32_t want) {
    const unsigned budget = std::max(want, kCopyTxPerKick);
    if (::setsockopt(fd, SOL_XDP, kSockoptMaxTxBudget, &budget, sizeof(budget)) == 0) return budget;
    return kCopyTxPerKick;
}

// ---------------------------------------------------------------- 統計
// XDP_STATISTICS 的核心計數器（struct xdp_statistics 的欄位是 __u64，這裡換成 uint64_t 以 PRIu64 印出）
struct KernelStats {
    uint64_t rx_dropped = 0, rx_invalid_descs = 0, rx_ring_full = 0, rx_fill_ring_empty_descs = 0;
    uint64_t tx_invalid_descs = 0, tx_ring_empty_descs = 0;
    KernelStats& operator+=(const KernelStats& o) {  // 多佇列：每個 socket 各一份，加總
        rx_dropped += o.rx_dropped; rx_invalid_descs += o.rx_invalid_descs; rx_ring_full += o.rx_ring_full;
        rx_fill_ring_empty_descs += o.rx_fill_ring_empty_descs; tx_invalid_descs += o.tx_invalid_descs;
        tx_ring_empty_descs += o.tx_ring_empty_descs;
        return *this;
    }
};

KernelStats read_xdp_statistics(int fd) {
    xdp_statistics s{};
    socklen_t len = sizeof(s);
    ::getsockopt(fd, SOL_XDP, XDP_STATISTICS, &s, &len);
    return {s.rx_dropped, s.rx_invalid_descs, s.rx_ring_full, s.rx_fill_ring_empty_descs, s.tx_invalid_descs,
            s.tx_ring_empty_descs};
}

struct Snapshot {
    uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, malformed = 0, refused = 0;
    static Snapshot of(const WorkerCounters& c) {
        return {c.rx_packets.load(), c.rx_bytes.load(), c.tx_packets.load(), c.tx_bytes.load(), c.malformed.load(),
                c.refused.load()};
    }
    Snapshot& operator+=(const Snapshot& o) {
        rx_packets += o.rx_packets; rx_bytes += o.rx_bytes; tx_packets += o.tx_packets; tx_bytes += o.tx_bytes;
        malformed += o.malformed; refused += o.refused;
        return *this;
    }
};

// 8< stats
// 多佇列時 per_queue 是「｜每佇列 rx pps q0=… q1=…」，單一佇列時是空的
void print_stats_line(int second, double dt, const Snapshot& now, const Snapshot& prev, const KernelStats& ks,
                      const XdpAttachment::ProgStats& ps, const std::string& per_queue) {
    const double rx_pps = static_cast<double>(now.rx_packets - prev.rx_packets) / dt;
    const double tx_pps = static_cast<double>(now.tx_packets - prev.tx_packets) / dt;
    const double rx_mbps = static_cast<double>(now.rx_bytes - prev.rx_bytes) * 8 / dt / 1e6;
    const double tx_mbps = static_cast<double>(now.tx_bytes - prev.tx_bytes) * 8 / dt / 1e6;
    std::printf("[統計] 第 %d 秒 rx %.0f pps %.1f Mbit/s｜tx %.0f pps %.1f Mbit/s｜XDP_STATISTICS rx_dropped=%" PRIu64
                " rx_invalid_descs=%" PRIu64 " rx_ring_full=%" PRIu64 " rx_fill_ring_empty_descs=%" PRIu64
                " tx_invalid_descs=%" PRIu64 " tx_ring_empty_descs=%" PRIu64 "｜malformed=%" PRIu64 " refused=%" PRIu64
                "｜XDP 程式 redirected=%" PRIu64 " passed=%" PRIu64 " not_local=%" PRIu64 " no_socket=%" PRIu64 "%s\n",
                second, rx_pps, rx_mbps, tx_pps, tx_mbps, ks.rx_dropped, ks.rx_invalid_descs, ks.rx_ring_full,
                ks.rx_fill_ring_empty_descs, ks.tx_invalid_descs, ks.tx_ring_empty_descs, now.malformed, now.refused,
                ps.redirected, ps.passed, ps.not_local, ps.no_socket, per_queue.c_str());
}
// >8 stats

void pin_thread(std::thread& t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (const int err = pthread_setaffinity_np(t.native_handle(), sizeof(set), &set); err)
        throw call_failed("pthread_setaffinity_np", err, "CPU " + std::to_string(cpu) + " 不存在或不在允許的 cpuset 中（nproc 查看）");
}

std::string format_mac(const std::array<uint8_t, 6>& m) {
    std::array<char, 18> b{};
    std::snprintf(b.data(), b.size(), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b.data();
}

std::string default_bpf_obj(const char* argv0) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) exe = argv0;
    return (exe.parent_path() / kBpfObjName).string();
}

// 8< irq_deferral
// 介面的中斷延後（napi_defer_hard_irqs 與 gro_flush_timeout，核心文件建議與 busy-poll 一起設定）：NAPI 做完一輪之後
// 不重新開中斷，等應用程式的系統呼叫來輪詢；沒人來，就等 gro_flush_timeout 的計時器到了才處理下一批。socket 沒有
// NAPI id 時（見錨點 busy_poll_check）沒有人能來輪詢，每個封包都要等計時器（設成 200 µs 就是每個封包多 200 µs，
// 快一點的流量還會讓 RX 環滿出來）。所以這時在程式執行期間把 napi_defer_hard_irqs 設成 0，結束時還原成原來的值。
class IrqDeferralOff {
public:
    explicit IrqDeferralOff(const std::string& ifname) : path_("/sys/class/net/" + ifname + "/napi_defer_hard_irqs") {
        old_ = read_text(path_);
        if (old_.empty() || old_ == "0") return;  // 沒有這個檔案（舊核心）或本來就沒有延後
        changed_ = write("0");
    }
    IrqDeferralOff(const IrqDeferralOff&) = delete;
    IrqDeferralOff& operator=(const IrqDeferralOff&) = delete;
    ~IrqDeferralOff() { if (changed_) write(old_); }
    bool changed() const { return changed_; }
    const std::string& old_value() const { return old_; }
private:
    bool write(const std::string& v) const {
        std::ofstream f(path_);
        f << v << '\n';
        f.flush();
        return static_cast<bool>(f);
    }
    std::string path_, old_;
    bool changed_ = false;
};
// >8 irq_deferral

// busy-poll 沒有作用時（第一批封包之後 worker 才知道）：說明原因，關掉介面的中斷延後
void busy_poll_fallback(const Config& cfg, std::optional<IrqDeferralOff>& deferral) {
    deferral.emplace(cfg.ifname);
    std::printf("[說明] --busy-poll 在這個介面上沒有作用：socket 沒有 NAPI id（SO_INCOMING_NAPI_ID=0，veth 的 copy 模式就是這樣），"
                "系統呼叫驅動不了接收；改用一般的等待方式（空轉，再 poll()）%s\n",
                deferral->changed() ? ("，並在執行期間把 " + cfg.ifname + " 的 napi_defer_hard_irqs 從 " + deferral->old_value() +
                                       " 設成 0（否則每個封包都要等 gro_flush_timeout 的計時器），結束時還原").c_str()
                                    : "");
}

// ---------------------------------------------------------------- run() 的步驟
// XDP 程式的設定（xsk_cfg map 的一筆）與 echo 的規則：同一份介面資訊（MAC、最多 kMaxIp4 個 IPv4），兩邊一致
XskCfg xsk_cfg_for(const Config& cfg, const Device& dev) {
    XskCfg c{static_cast<uint32_t>(::getpid()), cfg.udp_port, static_cast<uint8_t>(cfg.all ? 1 : 0),
             static_cast<uint8_t>(cfg.broadcast ? 1 : 0), dev.mac, static_cast<uint8_t>(dev.ip4.size()),
             static_cast<uint8_t>(cfg.fwd_if.empty() ? 0 : 1), {}};
    for (size_t i = 0; i < dev.ip4.size(); ++i) c.ip4[i] = dev.ip4[i].s_addr;
    return c;
}

EchoPolicy echo_policy_for(const Config& cfg, const XskCfg& x) { return {cfg.udp_port, x.mac, x.ip4, x.n_ip4}; }

// 8< two_port
// 兩埠轉送（--fwd-if）：兩個介面上的兩個 socket 共用一個 UMEM（XDP_SHARED_UMEM）。從 A 的 rx 環拿到的描述子原樣放進 B 的
// tx 環——同一塊 UMEM，位址在兩個 socket 都有效，frame 在兩埠之間不複製（bpf-examples 的 AF_XDP-forwarding 也是這樣）。
// 每個 socket 有自己的 fill 與 completion 環；frame 配置器只有一個，所以兩埠在同一個執行緒裡輪流處理，不需要鎖。
// 轉送不改內容（像一條線），標頭不一致的不送（malformed）。frame 的帳：空閒 + 兩個 fill 環 + 兩個 tx 環 = frames。
class TwoPort {
public:
    struct Port {
        XskSocket& xsk;
        xsk_ring_prod& fill;
        xsk_ring_cons& comp;
        WorkerCounters c;  // rx_* = 這個埠收到的，tx_* = 從這個埠送出的
    };
    TwoPort(const Config& cfg, const UmemArea& area, XskUmem& umem, XskSocket& a, XskSocket& b, uint32_t tx_per_kick)
        : cfg_(cfg), area_(area.data()), alloc_(cfg.frames, cfg.frame_size), frame_mask_(~static_cast<uint64_t>(cfg.frame_size - 1)),
          tx_per_kick_(tx_per_kick), a_{a, umem.fill, umem.comp, {}}, b_{b, b.fill, b.comp, {}} {}
    void prime() { refill(a_); refill(b_); }
    void run();
    void request_stop() { stop_.store(true, std::memory_order_relaxed); }
    void mark_failed() { failed_.store(true); finished_.store(true, std::memory_order_release); }
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    double cpu_percent() const { return timing_.cpu_percent(); }
    const Port& port(int i) const { return i == 0 ? a_ : b_; }
    Worker::Accounting accounting() const {
        uint64_t in_fill = 0, in_tx = 0;
        for (const Port* p : {&a_, &b_}) {
            in_fill += p->c.fill_submitted.load() - p->c.rx_packets.load();
            in_tx += p->c.tx_packets.load() - p->c.tx_completed.load();
        }
        return {alloc_.total(), alloc_.available(), static_cast<uint32_t>(in_fill), static_cast<uint32_t>(in_tx),
                alloc_.free_list_valid(cfg_.frame_size)};
    }
private:
    static bool in_flight(const Port& p) { return p.c.tx_packets.load() != p.c.tx_completed.load(); }
    bool stopping() const { return g_stop.load(std::memory_order_relaxed) || stop_.load(std::memory_order_relaxed); }
    void complete(Port& p) {  // 這個埠送完的 frame 回到（共用的）空閒堆疊
        uint32_t idx = 0;
        const uint32_t n = xsk_ring_cons__peek(&p.comp, kMaxRingSize, &idx);
        for (uint32_t i = 0; i < n; ++i) alloc_.release(*xsk_ring_cons__comp_addr(&p.comp, idx + i) & frame_mask_);
        if (n) { xsk_ring_cons__release(&p.comp, n); bump(p.c.tx_completed, n); }
    }
    // 空閒 frame 交給這個埠的 fill 環（--fill-depth：每個埠交給核心的不超過 N 個；deep：睡覺前補滿。同 Worker::refill_fill）
    void refill(Port& p, bool deep = false) {
        const uint64_t posted = p.c.fill_submitted.load(std::memory_order_relaxed) - p.c.rx_packets.load(std::memory_order_relaxed);
        const uint32_t want = fill_room(cfg_.fill_depth, posted, std::min(alloc_.available(), kMaxRingSize), deep);
        const uint32_t n = std::min(want, xsk_prod_nb_free(&p.fill, want));
        uint32_t idx = 0;
        if (n == 0 || xsk_ring_prod__reserve(&p.fill, n, &idx) != n) return;
        for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&p.fill, idx + i) = alloc_.alloc();
        xsk_ring_prod__submit(&p.fill, n);
        fill_noted(p.c, posted, n, deep);
    }
    void kick(Port& p) {
        if (cfg_.need_wakeup && !xsk_ring_prod__needs_wakeup(&p.xsk.tx)) return;
        bump(a_.c.syscalls, 1);
        ::sendto(p.xsk.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0);  // 失敗（EAGAIN、ENOBUFS）就下一輪再踢
    }
    // in 收到的一批原樣放進 out 的 tx 環：描述子（UMEM 位址、長度）直接搬，資料不動
    uint32_t forward(Port& in, Port& out) {
        const uint32_t limit = std::min(cfg_.batch, xsk_prod_nb_free(&out.xsk.tx, cfg_.batch));
        uint32_t idx_rx = 0;
        const uint32_t n = limit ? xsk_ring_cons__peek(&in.xsk.rx, limit, &idx_rx) : 0;
        if (n == 0) return 0;
        std::array<xdp_desc, kMaxBatch> outd;
        uint32_t sent = 0, malformed = 0;
        uint64_t bytes = 0, sent_bytes = 0;
        for (uint32_t i = 0; i < n; ++i) {
            const xdp_desc* d = xsk_ring_cons__rx_desc(&in.xsk.rx, idx_rx + i);
            Parsed f;
            bytes += d->len;
            if (!parse_frame(static_cast<const uint8_t*>(xsk_umem__get_data(area_, d->addr)), d->len, f)) [[unlikely]] {
                ++malformed;
                alloc_.release(d->addr & frame_mask_);
                continue;
            }
            outd[sent++] = xdp_desc{d->addr, d->len, 0};
            sent_bytes += d->len;
        }
        xsk_ring_cons__release(&in.xsk.rx, n);
        bump(in.c.rx_packets, n);
        bump(in.c.rx_bytes, bytes);
        bump(in.c.malformed, malformed);
        if (sent) {
            uint32_t idx_tx = 0;  // 一定成功：上面確認過 out 的 tx 環至少有 limit ≥ sent 個空位
            xsk_ring_prod__reserve(&out.xsk.tx, sent, &idx_tx);
            for (uint32_t i = 0; i < sent; ++i) *xsk_ring_prod__tx_desc(&out.xsk.tx, idx_tx + i) = outd[i];
            xsk_ring_prod__submit(&out.xsk.tx, sent);
            bump(out.c.tx_packets, sent);
            bump(out.c.tx_bytes, sent_bytes);
            for (uint32_t k = 0; k < sent; k += tx_per_kick_) kick(out);
        }
        return n;
    }
    void wait_idle() {
        for (Port* p : {&a_, &b_}) {
            if (in_flight(*p)) { kick(*p); complete(*p); }
            if (cfg_.need_wakeup && xsk_ring_prod__needs_wakeup(&p->fill)) {
                bump(a_.c.syscalls, 1);
                ::recvfrom(p->xsk.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
            }
        }
        if (++idle_ < kIdleSpins) return;
        idle_ = 0;
        if (cfg_.fill_depth) { refill(a_, true); refill(b_, true); }  // 要睡了：兩個 fill 環補滿
        std::array<pollfd, 2> pf{{{a_.xsk.fd(), POLLIN, 0}, {b_.xsk.fd(), POLLIN, 0}}};
        bump(a_.c.syscalls, 1);
        ::poll(pf.data(), pf.size(), kIdlePollMs);
    }

    const Config& cfg_;
    uint8_t* const area_;  // 共用 UMEM 的起點：兩個 socket 的描述子位址都相對於它
    FrameAllocator alloc_;
    const uint64_t frame_mask_;
    const uint32_t tx_per_kick_;
    Port a_, b_;
    std::atomic<bool> stop_{false}, finished_{false}, failed_{false};
    uint32_t idle_ = 0;
    RunTiming timing_;  // run() 結束時寫入，join 之後才讀
};

void TwoPort::run() {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    while (!stopping()) {
        complete(a_);
        complete(b_);
        refill(a_);
        refill(b_);
        if (forward(a_, b_) + forward(b_, a_) == 0) wait_idle();
        else idle_ = 0;
        if (cfg_.count && a_.c.rx_packets.load(std::memory_order_relaxed) + b_.c.rx_packets.load(std::memory_order_relaxed) >= cfg_.count)
            break;
    }
    const auto deadline = Clock::now() + kTxDrainTimeout;  // 收尾：等兩個埠送完
    while ((in_flight(a_) || in_flight(b_)) && Clock::now() < deadline) {
        for (Port* p : {&a_, &b_}) { kick(*p); complete(*p); }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    timing_.finish(t0);
    finished_.store(true, std::memory_order_release);
}
// >8 two_port

// 8< lane
// 多佇列（--queues N）：一個佇列一條「車道」——自己的 UMEM 記憶體、UMEM（fill / completion 環）、socket 與 Worker，
// 車道之間什麼都不共用（沒有鎖、沒有共用的環），所以每條車道的執行緒可以各自固定在一顆 CPU 上。
// XDP 程式用 ctx->rx_queue_index 當 XSKMAP 的 key（錨點 xdp_prog），每個佇列的封包只會進那個佇列的 socket。
// 放在 unique_ptr 裡：Worker 拿著其他成員的參考，車道不能搬動。成員依宣告的相反順序釋放：Worker → socket → UMEM → 記憶體
struct Lane {
    Lane(const Config& cfg, uint32_t q, const Device& dev, int pinned)
        : queue(q), cpu(pinned), area(static_cast<size_t>(cfg.frames) * cfg.frame_size) {
        bound = create_socket(cfg, q, dev, area, umem, xsk);
    }
    uint32_t queue;
    int cpu;  // 執行緒固定在哪顆 CPU（-1 = 不固定）
    UmemArea area;
    std::optional<XskUmem> umem;
    XskSocket xsk;
    Bound bound;
    std::optional<Worker> worker;
};
using Lanes = std::vector<std::unique_ptr<Lane>>;

// 每條車道的執行緒固定在哪顆 CPU：--pin-cpu N 時第 i 條在 N+i；沒給而且不只一個佇列時，依序放在允許的 CPU 上
// （sched_getaffinity，taskset 限制過的也算），佇列比 CPU 多就輪流放；只有一個佇列又沒給 --pin-cpu 時不固定
std::vector<int> lane_cpus(const Config& cfg) {
    std::vector<int> cpus(cfg.queues, -1);
    if (cfg.pin_cpu >= 0) {
        for (uint32_t i = 0; i < cfg.queues; ++i) cpus[i] = cfg.pin_cpu + static_cast<int>(i);
        return cpus;
    }
    if (cfg.queues == 1) return cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) != 0) throw call_failed("sched_getaffinity", errno, "");
    std::vector<int> allowed;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) allowed.push_back(c);
    for (uint32_t i = 0; i < cfg.queues && !allowed.empty(); ++i) cpus[i] = allowed[i % allowed.size()];
    return cpus;
}

// 總數分給 n 個佇列（--count、txonly 的 --rate）：前 total % n 個多 1；0 = 不限
uint64_t share(uint64_t total, uint32_t n, uint32_t i) { return total == 0 ? 0 : total / n + (i < total % n ? 1 : 0); }
// >8 lane

void print_ready(const Config& cfg, const Device& dev, const Lanes& lanes, const XdpAttachment& xdp, uint32_t tx_budget) {
    std::string local = "送給 " + format_mac(dev.mac) + (cfg.broadcast ? " 與廣播 / 多播" : "");
    for (const auto& a : dev.ip4) {
        std::array<char, INET_ADDRSTRLEN> ip{};
        local += std::string(&a == dev.ip4.data() ? "、IPv4 " : " ") + ::inet_ntop(AF_INET, &a, ip.data(), ip.size());
    }
    const std::string what = cfg.all ? std::string("攔截全部封包") : "攔截 UDP 埠 " + std::to_string(cfg.udp_port) + "（" + local + "）";
    std::string queues = std::to_string(cfg.queue);
    if (cfg.queues > 1) {
        queues += ".." + std::to_string(cfg.queue + cfg.queues - 1) + "（" + std::to_string(cfg.queues) + " 個佇列，執行緒在 CPU";
        for (const auto& l : lanes) queues += " " + std::to_string(l->cpu);
        queues += "）";
    }
    std::printf("[就緒] %s 佇列 %s：mode=%s bind=%s xdp=%s（程式 id %u）need_wakeup=%d busy_poll=%d "
                "frames=%u frame_size=%u fill_depth=%u batch=%u tx_budget=%u queues=%u jumbo=%d %s\n",
                cfg.ifname.c_str(), queues.c_str(), std::string(mode_name(cfg.mode)).c_str(),
                lanes.front()->bound.zerocopy ? "zerocopy" : "copy", xdp.mode_name(), xdp.id(), cfg.need_wakeup,
                cfg.busy_poll, cfg.frames, cfg.frame_size, cfg.fill_depth, cfg.batch, tx_budget, cfg.queues, cfg.jumbo, what.c_str());
}

// 主執行緒：每秒印 [統計]（總計；多佇列時加上每個佇列的 rx pps），確認介面還在，處理 busy-poll 的後備；
// 直到停止旗標、--duration、--count（多佇列時是所有佇列的總數）、所有 worker 結束或任何一個出錯。回傳 false = 介面不見了
bool supervise(const Config& cfg, const Device& dev, const Lanes& lanes, const XdpAttachment& xdp,
               std::optional<IrqDeferralOff>& deferral) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    std::vector<Snapshot> prev(lanes.size());
    Snapshot prev_total;
    auto last = t0;
    int second = 0;
    bool fallback_checked = !cfg.busy_poll;
    while (!g_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = Clock::now();
        if (cfg.duration_s > 0 && std::chrono::duration<double>(now - t0).count() >= cfg.duration_s) break;
        bool all_finished = true, any_failed = false;
        uint64_t rx = 0;
        for (const auto& l : lanes) {
            all_finished = all_finished && l->worker->finished();
            any_failed = any_failed || l->worker->failed();
            rx += l->worker->counters().rx_packets.load(std::memory_order_relaxed);
        }
        if (all_finished || any_failed) break;
        if (lanes.size() > 1 && cfg.count && cfg.mode != Mode::TxOnly && rx >= cfg.count) break;
        for (const auto& l : lanes)
            if (!fallback_checked && l->worker->busy_poll_checked()) {
                fallback_checked = true;
                if (l->worker->napi_id() == 0) busy_poll_fallback(cfg, deferral);
            }
        if (now - last < std::chrono::seconds(1)) continue;
        // 介面被刪除（或移到別的 namespace）時 socket 不會報錯，只會再也收不到東西：每秒確認一次
        if (if_nametoindex(cfg.ifname.c_str()) != static_cast<unsigned>(dev.ifindex)) {
            std::fprintf(stderr, "錯誤：介面 %s 不見了（被刪除或移到別的 network namespace），結束\n", cfg.ifname.c_str());
            return false;
        }
        const double dt = std::chrono::duration<double>(now - last).count();
        Snapshot total;
        KernelStats ks;
        std::string per_queue = lanes.size() > 1 ? "｜每佇列 rx pps" : "";
        for (size_t i = 0; i < lanes.size(); ++i) {
            const Snapshot s = Snapshot::of(lanes[i]->worker->counters());
            if (lanes.size() > 1)
                per_queue += " q" + std::to_string(lanes[i]->queue) + "=" +
                             std::to_string(static_cast<uint64_t>(static_cast<double>(s.rx_packets - prev[i].rx_packets) / dt));
            total += s;
            ks += read_xdp_statistics(lanes[i]->xsk.fd());
            prev[i] = s;
        }
        print_stats_line(++second, dt, total, prev_total, ks, xdp.read_stats(), per_queue);
        prev_total = total;
        last = now;
    }
    return true;
}

// 環的迴圈在自己的執行緒裡跑。執行緒裡的例外不能逃出執行緒（那是 std::terminate，XDP 程式就留在介面上）：
// 接住、交給主執行緒；主執行緒在任何地方丟出例外，也都先停下並 join 工作執行緒（JoinOnExit）
template <typename W>  // Worker，或兩埠轉送的 TwoPort
class WorkerThread {
public:
    WorkerThread(W& w, int pin_cpu) : w_(w) {
        try {
            t_ = std::thread([this] {
                try {
                    w_.run();
                } catch (const Failure& e) {
                    error_ = e;
                    w_.mark_failed();
                } catch (const std::exception& e) {
                    error_ = Failure(kExitRuntime, std::string("環的迴圈發生例外：") + e.what());
                    w_.mark_failed();
                }
            });
        } catch (const std::system_error& e) {
            throw call_failed("std::thread（建立環的迴圈執行緒）", e.code().value(), "執行緒數到了上限？看 ulimit -u 與 cgroup 的 pids.max");
        }
        try {
            if (pin_cpu >= 0) pin_thread(t_, pin_cpu);
        } catch (...) {
            join();
            throw;
        }
    }
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;
    ~WorkerThread() { join(); }
    // 停下並等它結束；worker 的錯誤在這裡交給主執行緒
    void join_and_rethrow() {
        join();
        if (error_) throw *error_;
    }
private:
    void join() {
        if (!t_.joinable()) return;
        w_.request_stop();
        t_.join();
    }
    W& w_;
    std::thread t_;
    std::optional<Failure> error_;  // join 之後才讀
};

// 8< summary
// 總計的 key 與單一佇列時相同；多佇列時每個佇列另有 q<佇列>_rx_packets、q<佇列>_tx_packets、q<佇列>_cpu（固定在哪顆，-1 = 不固定）
void print_summary(const Config& cfg, const XdpAttachment& xdp, const Lanes& lanes, double secs) {
    Snapshot c;
    KernelStats ks;
    uint64_t syscalls = 0, rx_extra = 0, tx_extra = 0, posted_max = 0, topups = 0;
    double cpu_pct = 0;
    uint32_t frames = 0, free = 0, in_fill = 0, in_tx = 0;
    bool balanced = true;
    for (const auto& l : lanes) {
        const Worker& w = *l->worker;
        c += Snapshot::of(w.counters());
        ks += read_xdp_statistics(l->xsk.fd());
        syscalls += w.counters().syscalls.load();
        posted_max = std::max<uint64_t>(posted_max, w.counters().fill_posted_max.load());
        topups += w.counters().fill_topups.load();
        rx_extra += w.counters().rx_extra_bufs.load();
        tx_extra += w.counters().tx_extra_bufs.load();
        cpu_pct += w.cpu_percent();
        const auto acc = w.accounting();
        if (!acc.balanced())
            std::fprintf(stderr, "錯誤：佇列 %u 的 UMEM frame 對不上帳：總數 %u ≠ 空閒 %u + fill %u + tx %u（或空閒清單有重複）\n",
                         l->queue, acc.total, acc.free, acc.in_fill, acc.in_tx);
        balanced = balanced && acc.balanced();
        frames += acc.total, free += acc.free, in_fill += acc.in_fill, in_tx += acc.in_tx;
    }
    const auto ps = xdp.read_stats();
    Summary s;
    s.add("mode", mode_name(cfg.mode)).add("bind", lanes.front()->bound.zerocopy ? "zerocopy" : "copy").add("xdp_mode", xdp.mode_name());
    s.add("need_wakeup", int{cfg.need_wakeup}).add("busy_poll", int{cfg.busy_poll}).add("seconds", secs, 3);
    s.add("rx_packets", c.rx_packets).add("rx_bytes", c.rx_bytes);
    s.add("tx_packets", c.tx_packets).add("tx_bytes", c.tx_bytes);
    s.add("rx_pps", static_cast<double>(c.rx_packets) / secs, 0);
    s.add("tx_pps", static_cast<double>(c.tx_packets) / secs, 0);
    s.add("rx_dropped", ks.rx_dropped).add("rx_invalid_descs", ks.rx_invalid_descs).add("rx_ring_full", ks.rx_ring_full);
    s.add("rx_fill_ring_empty_descs", ks.rx_fill_ring_empty_descs).add("tx_ring_empty_descs", ks.tx_ring_empty_descs);
    s.add("malformed", c.malformed).add("refused", c.refused);
    s.add("jumbo", cfg.jumbo).add("rx_extra_bufs", rx_extra).add("tx_extra_bufs", tx_extra);  // --jumbo：第一個以外的 buffer
    s.add("xdp_redirected", ps.redirected).add("xdp_passed", ps.passed);
    s.add("xdp_not_local", ps.not_local).add("xdp_no_socket", ps.no_socket);
    s.add("syscalls", syscalls).add("worker_cpu_pct", cpu_pct, 0);
    s.add("umem_frames", frames).add("umem_free", free).add("umem_in_fill", in_fill).add("umem_in_tx", in_tx);
    s.add("fill_depth", cfg.fill_depth).add("fill_posted_max", posted_max).add("fill_topups", topups);
    s.add("umem_balance", balanced ? "ok" : "mismatch");
    s.add("queues", cfg.queues);
    for (const auto& l : lanes) {
        const std::string q = "q" + std::to_string(l->queue) + "_";
        s.add(q + "rx_packets", l->worker->counters().rx_packets.load());
        s.add(q + "tx_packets", l->worker->counters().tx_packets.load());
        s.add(q + "cpu", l->cpu);
    }
    s.print();
}
// >8 summary

bool all_balanced(const Lanes& lanes) {
    return std::all_of(lanes.begin(), lanes.end(), [](const auto& l) { return l->worker->accounting().balanced(); });
}

// --unload：拿到鎖就證明介面上我們的程式都是殘留；只移除它們
int unload(const Config& cfg, const Device& dev, const OwnerLock& lock) {
    const int n = handle_existing_xdp(cfg, dev, lock, true);
    if (n == 0) std::printf("[說明] %s 上沒有 %s，不需要移除\n", cfg.ifname.c_str(), kProgName);
    Summary().add("unloaded", n).add("iface", cfg.ifname).print();
    return kExitOk;
}

// 兩埠轉送的 [摘要]：總計的 key 與單埠相同；p0 = 介面、p1 = --fwd-if。回傳 UMEM 的帳是否平衡
bool print_two_port_summary(const Config& cfg, TwoPort& fwd, const XskSocket& xa, const XskSocket& xb, const XdpAttachment& xdp_a,
                            const XdpAttachment& xdp_b, const Bound& bound, double secs) {
    Snapshot c = Snapshot::of(fwd.port(0).c);
    c += Snapshot::of(fwd.port(1).c);
    KernelStats ks = read_xdp_statistics(xa.fd());
    ks += read_xdp_statistics(xb.fd());
    const auto pa = xdp_a.read_stats(), pb = xdp_b.read_stats();
    const auto acc = fwd.accounting();
    if (!acc.balanced())
        std::fprintf(stderr, "錯誤：UMEM frame 對不上帳：總數 %u ≠ 空閒 %u + fill %u + tx %u（或空閒清單有重複）\n",
                     acc.total, acc.free, acc.in_fill, acc.in_tx);
    Summary s;
    s.add("mode", "l2fwd").add("bind", bound.zerocopy ? "zerocopy" : "copy").add("xdp_mode", xdp_a.mode_name());
    s.add("need_wakeup", int{cfg.need_wakeup}).add("busy_poll", 0).add("seconds", secs, 3);
    s.add("rx_packets", c.rx_packets).add("rx_bytes", c.rx_bytes).add("tx_packets", c.tx_packets).add("tx_bytes", c.tx_bytes);
    s.add("rx_pps", static_cast<double>(c.rx_packets) / secs, 0).add("tx_pps", static_cast<double>(c.tx_packets) / secs, 0);
    s.add("rx_dropped", ks.rx_dropped).add("rx_invalid_descs", ks.rx_invalid_descs).add("rx_ring_full", ks.rx_ring_full);
    s.add("rx_fill_ring_empty_descs", ks.rx_fill_ring_empty_descs).add("tx_ring_empty_descs", ks.tx_ring_empty_descs);
    s.add("malformed", c.malformed).add("refused", 0);
    s.add("xdp_redirected", pa.redirected + pb.redirected).add("xdp_passed", pa.passed + pb.passed);
    s.add("xdp_not_local", pa.not_local + pb.not_local).add("xdp_no_socket", pa.no_socket + pb.no_socket);
    s.add("syscalls", fwd.port(0).c.syscalls.load()).add("worker_cpu_pct", fwd.cpu_percent(), 0);
    s.add("umem_frames", acc.total).add("umem_free", acc.free).add("umem_in_fill", acc.in_fill).add("umem_in_tx", acc.in_tx);
    {
        const auto& p0 = fwd.port(0).c;
        const auto& p1 = fwd.port(1).c;
        s.add("fill_depth", cfg.fill_depth).add("fill_posted_max", std::max(p0.fill_posted_max.load(), p1.fill_posted_max.load()));
        s.add("fill_topups", p0.fill_topups.load() + p1.fill_topups.load());
    }
    s.add("umem_balance", acc.balanced() ? "ok" : "mismatch").add("ports", 2).add("shared_umem", true);
    for (int i = 0; i < 2; ++i) {
        const std::string p = "p" + std::to_string(i) + "_";
        s.add(p + "if", i == 0 ? cfg.ifname : cfg.fwd_if);
        s.add(p + "rx_packets", fwd.port(i).c.rx_packets.load()).add(p + "tx_packets", fwd.port(i).c.tx_packets.load());
    }
    s.print();
    return acc.balanced();
}

// 8< run_two_port
// 兩埠轉送的步驟：與 run() 相同，每個介面各一份裝置檢查、鎖與 XDP 程式（wire=1：不比對目的 MAC／IP），一個 UMEM、兩個 socket
int run_two_port(const Config& cfg) {
    check_privileges();
    Config cfg_b = cfg;  // 第二個介面：同樣的選項，不同的名字
    cfg_b.ifname = cfg.fwd_if;
    const Device dev_a = inspect_device(cfg, true), dev_b = inspect_device(cfg_b, true);
    const OwnerLock lock_a(cfg.ifname), lock_b(cfg_b.ifname);
    ensure_bpffs();
    handle_existing_xdp(cfg, dev_a, lock_a, false);
    handle_existing_xdp(cfg_b, dev_b, lock_b, false);
    XdpAttachment xdp_a(cfg, dev_a, xsk_cfg_for(cfg, dev_a)), xdp_b(cfg_b, dev_b, xsk_cfg_for(cfg_b, dev_b));

    UmemArea area(static_cast<size_t>(cfg.frames) * cfg.frame_size);
    std::optional<XskUmem> umem;
    XskSocket xa, xb;
    const Bound bound = create_socket(cfg, cfg.queue, dev_a, area, umem, xa);
    if (const int err = xb.create_shared(cfg, cfg.fwd_if, cfg.queue, *umem); err)
        throw call_failed("xsk_socket__create_shared(" + cfg.fwd_if + "，XDP_SHARED_UMEM)", -err,
                          err == -EBUSY ? "這個佇列已經綁了另一個 AF_XDP socket"
                                        : "共用 UMEM 到另一個介面需要 Linux 5.10+；zero-copy 時兩個介面的驅動都要支援");
    const uint32_t budget = bound.zerocopy ? kCopyTxPerKick : std::min(raise_tx_budget(xa.fd(), cfg.batch), raise_tx_budget(xb.fd(), cfg.batch));
    TwoPort fwd(cfg, area, *umem, xa, xb, budget);
    fwd.prime();
    for (auto [xsk, xdp] : {std::pair{&xa, &xdp_a}, std::pair{&xb, &xdp_b}})
        if (const int err = xsk_socket__update_xskmap(xsk->get(), xdp->xsks_map_fd()); err)
            throw call_failed("xsk_socket__update_xskmap", -err, "");
    std::printf("[就緒] %s ⇄ %s 佇列 %u：mode=l2fwd ports=2 shared_umem=yes bind=%s xdp=%s（程式 id %u、%u）need_wakeup=%d "
                "frames=%u frame_size=%u fill_depth=%u batch=%u tx_budget=%u 轉送 %s\n",
                cfg.ifname.c_str(), cfg.fwd_if.c_str(), cfg.queue, bound.zerocopy ? "zerocopy" : "copy", xdp_a.mode_name(),
                xdp_a.id(), xdp_b.id(), cfg.need_wakeup, cfg.frames, cfg.frame_size, cfg.fill_depth, cfg.batch, budget,
                cfg.all ? "全部封包" : ("UDP 埠 " + std::to_string(cfg.udp_port)).c_str());

    const auto t0 = std::chrono::steady_clock::now();
    bool device_ok = true;
    {
        WorkerThread<TwoPort> thread(fwd, cfg.pin_cpu);
        auto last = t0;
        int second = 0;
        Snapshot prev;
        while (!g_stop.load() && !fwd.finished()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            const auto now = std::chrono::steady_clock::now();
            if (cfg.duration_s > 0 && std::chrono::duration<double>(now - t0).count() >= cfg.duration_s) break;
            if (now - last < std::chrono::seconds(1)) continue;
            if (if_nametoindex(cfg.ifname.c_str()) != static_cast<unsigned>(dev_a.ifindex) ||
                if_nametoindex(cfg.fwd_if.c_str()) != static_cast<unsigned>(dev_b.ifindex)) {
                std::fprintf(stderr, "錯誤：介面 %s 或 %s 不見了（被刪除或移到別的 network namespace），結束\n", cfg.ifname.c_str(), cfg.fwd_if.c_str());
                device_ok = false;
                break;
            }
            Snapshot s = Snapshot::of(fwd.port(0).c);
            s += Snapshot::of(fwd.port(1).c);
            KernelStats ks = read_xdp_statistics(xa.fd());
            ks += read_xdp_statistics(xb.fd());
            auto ps = xdp_a.read_stats();
            const auto pb = xdp_b.read_stats();
            ps.redirected += pb.redirected, ps.passed += pb.passed, ps.no_socket += pb.no_socket, ps.not_local += pb.not_local;
            print_stats_line(++second, std::chrono::duration<double>(now - last).count(), s, prev, ks, ps,
                             "｜" + cfg.ifname + "→" + cfg.fwd_if + " " + std::to_string(fwd.port(1).c.tx_packets.load()) + "、" +
                             cfg.fwd_if + "→" + cfg.ifname + " " + std::to_string(fwd.port(0).c.tx_packets.load()));
            prev = s;
            last = now;
        }
        thread.join_and_rethrow();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const bool balanced = print_two_port_summary(cfg, fwd, xa, xb, xdp_a, xdp_b, bound, secs);
    return balanced && device_ok ? kExitOk : kExitRuntime;
}
// >8 run_two_port

// 8< run_steps
// 步驟與指南〈3.3 程式走讀〉最後一段的編號相同。資源依宣告的相反順序釋放：執行緒 → 車道（socket → UMEM → 記憶體）
// → XDP 程式 → 鎖
int run(const Config& cfg) {
    if (!cfg.fwd_if.empty()) return run_two_port(cfg);  // --fwd-if：兩埠轉送，步驟相同、每個介面各一份（錨點 two_port）
    // 1. 權限與裝置
    check_privileges();
    const Device dev = inspect_device(cfg, !cfg.unload);

    // 2. 擁有權：取得這個介面的鎖（另一個實例持有就拒絕）；拿到鎖，介面上我們的程式就一定是殘留
    const OwnerLock lock(cfg.ifname);
    if (cfg.unload) return unload(cfg, dev, lock);

    // 3. bpffs，殘留或別人的 XDP 程式
    ensure_bpffs();
    handle_existing_xdp(cfg, dev, lock, false);

    // 4. 掛上 XDP 程式（解構時卸下；建構到一半失敗也卸下），告訴它介面的 MAC、IPv4 與要攔截的埠
    const XskCfg want = xsk_cfg_for(cfg, dev);
    XdpAttachment xdp(cfg, dev, want);

    // 5. 每個佇列一條車道（錨點 lane）：UMEM 與 socket（先試 zero-copy），填滿 fill 環，再把 socket 放進 XSKMAP 的「佇列」位置
    const std::vector<uint8_t> tmpl =
        cfg.mode == Mode::TxOnly ? build_udp_frame(cfg, cfg.src_mac.value_or(dev.mac)) : std::vector<uint8_t>{};
    const EchoPolicy echo = echo_policy_for(cfg, want);
    const std::vector<int> cpus = lane_cpus(cfg);
    Lanes lanes;
    uint32_t tx_budget = kCopyTxPerKick;
    for (uint32_t i = 0; i < cfg.queues; ++i) {
        Lane& l = *lanes.emplace_back(std::make_unique<Lane>(cfg, cfg.queue + i, dev, cpus[i]));
        if (cfg.busy_poll) set_busy_poll(l.xsk.fd(), cfg.batch);
        // --count：txonly 每個佇列送自己的份；收的模式單一佇列時由 worker 自己停，多佇列時由主執行緒看總數（supervise）
        const uint64_t count = cfg.mode == Mode::TxOnly ? share(cfg.count, cfg.queues, i) : cfg.queues == 1 ? cfg.count : 0;
        l.worker.emplace(cfg, l.area, *l.umem, l.xsk, tmpl, echo, count, share(cfg.rate, cfg.queues, i));
        if (cfg.mode != Mode::RxDrop && !l.bound.zerocopy) l.worker->set_tx_per_kick(tx_budget = raise_tx_budget(l.xsk.fd(), cfg.batch));
        l.worker->prime();
        if (cfg.mode != Mode::TxOnly)
            if (const int err = xsk_socket__update_xskmap(l.xsk.get(), xdp.xsks_map_fd()); err)
                throw call_failed("xsk_socket__update_xskmap（佇列 " + std::to_string(l.queue) + "）", -err, "");
    }
    print_ready(cfg, dev, lanes, xdp, tx_budget);

    // 6. 環的迴圈：每條車道一個 worker 執行緒（固定在 lane_cpus 選的 CPU）；主執行緒每秒印統計
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<IrqDeferralOff> deferral;  // busy-poll 沒有作用時才建立（見錨點 irq_deferral）
    std::vector<std::unique_ptr<WorkerThread<Worker>>> threads;
    for (const auto& l : lanes) threads.push_back(std::make_unique<WorkerThread<Worker>>(*l->worker, l->cpu));
    const bool device_ok = supervise(cfg, dev, lanes, xdp, deferral);
    for (auto& t : threads) t->join_and_rethrow();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // 7. 摘要，核對每條車道的 UMEM 帳目
    print_summary(cfg, xdp, lanes, secs);
    return all_balanced(lanes) && device_ok ? kExitOk : kExitRuntime;
}
// >8 run_steps

}  // namespace

// ---------------------------------------------------------------- main：信號、解析、執行、回報
int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    install_stop_handler();
    Config cfg;
    try {
        cfg = parse_args(argc, argv);
        if (cfg.bpf_obj.empty()) cfg.bpf_obj = default_bpf_obj(argv[0]);
    } catch (const Failure& e) {
        std::fprintf(stderr, "參數錯誤：%s\n\n", e.what());
        print_usage(stderr);
        return kExitUsage;
    } catch (const std::exception& e) {  // 例如記憶體不足：還沒有碰任何資源
        std::fprintf(stderr, "錯誤：解析參數時發生例外：%s\n", e.what());
        return kExitRuntime;
    }
    if (cfg.help) { print_usage(stdout); return kExitOk; }
    libxdp_set_print(cfg.verbose ? libxdp_verbose : libxdp_silent);  // 預設：錯誤由我們自己用中文說明
    libbpf_set_print(cfg.verbose ? libbpf_verbose : libbpf_silent);

    int code = kExitRuntime;
    try {
        return run(cfg);
    } catch (const Failure& e) {
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        code = e.code;
    } catch (const std::exception& e) {  // 任何其他例外：run() 的區域物件已依相反順序釋放（XDP 程式卸下、UMEM 歸還）
        std::fprintf(stderr, "錯誤：未預期的例外：%s（資源已釋放）\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "錯誤：未預期的例外（不是 std::exception；資源已釋放）\n");
    }
    Summary().add("mode", mode_name(cfg.mode)).add("error", 1).add("exit", code).print();
    return code;
}
