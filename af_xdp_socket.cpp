// af_xdp_socket.cpp — AF_XDP：在使用者空間直接收送網卡佇列上的封包
//
// 這個程式示範什麼
//   一個 XDP 程式（xdp_redirect.bpf.c）掛在網卡上，把使用者要的 UDP 流量（或 --all 全部）
//   導向一個 AF_XDP socket；其餘流量 XDP_PASS 給核心，所以 SSH、ARP、ping 不受影響。
//   使用者空間與核心共用一塊 UMEM 記憶體和四個環（fill、rx、tx、completion），
//   封包不經過 sk_buff 與協定堆疊。四種模式：
//     rxdrop  收下就丟（量測接收上限）        txonly  產生 UDP 封包（可限速 --rate）
//     l2fwd   交換 MAC 後從同一佇列送回       echo    交換 MAC/IP/埠，nc -u 收得到自己的字
//
// 需求
//   Linux 5.11+（need_wakeup、busy-poll、XDP_STATISTICS 的新欄位），libxdp 1.3+、libbpf 1.0+，
//   root（或 CAP_NET_ADMIN + CAP_NET_RAW + CAP_BPF），bpffs 掛在 /sys/fs/bpf（libxdp 的 dispatcher 用）。
//
// 編譯與執行
//   make af_xdp                                  # af_xdp_socket + xdp_redirect.bpf.o
//   sudo ./af_xdp_socket eth0 0                  # eth0 的佇列 0，rxdrop，攔截 UDP 4242
//   sudo ./af_xdp_socket veth0 0 --mode echo     # 另一台主機：echo hi | nc -u -w1 <IP> 4242
//   sudo ./af_xdp_socket veth0 --unload          # 移除 kill -9 後殘留的 XDP 程式
//
// 指南章節：「AF_XDP」——UMEM 與四個環、XDP 程式分流、環的迴圈、copy 與 zero-copy、收尾。
//
// 結構：常數 → Config 與解析 → 錯誤與 RAII 包裝 → 裝置檢查 → XDP 程式 → UMEM 與 socket →
//       封包處理 → 環的迴圈（Worker）→ 統計 → main。

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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
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
constexpr uint16_t kDefaultUdpPort = 4242;
constexpr uint32_t kDefaultTxSize = 64;        // bytes，txonly 的訊框長度（不含 FCS）
constexpr uint32_t kMinTxSize = 60;            // Ethernet 最短訊框（不含 FCS）
constexpr int kBusyPollUsec = 20;              // SO_BUSY_POLL：每次系統呼叫最多忙等 20 µs
constexpr uint32_t kIdleSpins = 20000;         // 連續空轉約 0.5–1 ms 收不到封包，才改用 poll() 睡覺（睡著再被喚醒要排程，滿載時會掉封包）
constexpr int kIdlePollMs = 100;               // poll() 逾時；也決定多快注意到停止旗標
constexpr auto kTxDrainTimeout = std::chrono::milliseconds(500);  // 結束時等待 TX 完成的上限
constexpr uint32_t kCopyTxPerKick = 32;        // copy 模式每次 sendto() 預設最多送 32 個（net/xdp/xsk.c 的 TX_BATCH_SIZE）
constexpr int kSockoptMaxTxBudget = 9;         // XDP_MAX_TX_SKB_BUDGET（Linux 6.17+；Debian 12 的標頭還沒有）
constexpr uint32_t kMaxQueues = 64;            // 與 xdp_redirect.bpf.c 的 XSKMAP 大小一致
constexpr const char* kProgName = "kb_xsk_redirect";  // BPF 程式名（≤ 15 字元），用來認出「我們的」程式
constexpr const char* kBpfObjName = "xdp_redirect.bpf.o";
constexpr const char* kBpffsDir = "/sys/fs/bpf";
static_assert((kMaxRingSize & (kMaxRingSize - 1)) == 0, "環的大小必須是 2 的冪");
static_assert(kDefaultBatch <= kMaxRingSize && kMaxBatch <= kMaxRingSize, "批次不能大於環");
static_assert(kDefaultFrameSize >= kMinFrameSize && (kDefaultFrameSize & (kDefaultFrameSize - 1)) == 0);
// >8 tunables

constexpr int kExitOk = 0, kExitRuntime = 1, kExitUsage = 2, kExitNoDevice = 77;

// 唯一的全域變數：信號處理函式只設定它
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

// ---------------------------------------------------------------- Config 與解析
enum class Mode { rxdrop, txonly, l2fwd, echo };
enum class BindPref { automatic, zerocopy, copy };

constexpr std::string_view mode_name(Mode m) {
    switch (m) {
    case Mode::rxdrop: return "rxdrop";
    case Mode::txonly: return "txonly";
    case Mode::l2fwd: return "l2fwd";
    case Mode::echo: return "echo";
    }
    return "?";
}

struct Config {
    std::string ifname;
    uint32_t queue = 0;
    Mode mode = Mode::rxdrop;
    uint16_t udp_port = kDefaultUdpPort;
    bool all = false;
    uint32_t tx_size = kDefaultTxSize;
    std::array<uint8_t, 6> dst_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::optional<std::array<uint8_t, 6>> src_mac;  // 預設：介面自己的 MAC
    in_addr dst_ip{htonl(0xC6120002)};               // 198.18.0.2
    in_addr src_ip{htonl(0xC6120001)};               // 198.18.0.1
    uint64_t rate = 0;                               // pps，0 = 全速
    BindPref bind = BindPref::automatic;
    bool skb_mode = false;
    bool need_wakeup = true;
    bool busy_poll = false;
    uint32_t batch = kDefaultBatch;
    uint32_t frame_size = kDefaultFrameSize;
    uint32_t frames = kDefaultFrames;
    double duration_s = 0;                           // 0 = 直到 Ctrl-C
    uint64_t count = 0;                              // 0 = 不限
    int pin_cpu = -1;
    bool force = false;
    bool unload = false;
    bool verbose = false;                            // 印出 libxdp / libbpf 自己的訊息（英文）
    std::string bpf_obj;                             // 預設：執行檔旁的 xdp_redirect.bpf.o
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
        "  --force            介面上已有別人的 XDP 程式時，移除它並換上我們的\n"
        "  --unload           移除這個介面上我們的 XDP 程式（例如 kill -9 之後）然後結束\n"
        "  --bpf-obj 路徑     XDP 程式檔（預設 執行檔旁的 %s）\n"
        "  -v, --verbose      顯示 libxdp 與 libbpf 自己的訊息（預設 不顯示，錯誤由本程式用中文說明）\n"
        "UMEM 與迴圈：\n"
        "  --batch N          每輪最多處理幾個封包（預設 %u，範圍 1..%u）\n"
        "  --frame-size N     UMEM frame 大小 bytes：2048 或 4096（預設 %u）\n"
        "  --frames N         UMEM frame 數，2 的冪（預設 %u，範圍 256..262144）\n"
        "  --duration S       執行 S 秒後結束（預設 0 = 直到 Ctrl-C）\n"
        "  --count N          收到（txonly：送出）N 個封包後結束（預設 0 = 不限）\n"
        "  --pin-cpu N        把環的迴圈固定在 CPU N（預設 不固定）\n"
        "  -h, --help         顯示這段說明\n"
        "\n"
        "結束碼：0 成功，1 執行錯誤，2 參數錯誤，77 沒有權限或裝置\n",
        kDefaultUdpPort, kDefaultTxSize, kMinTxSize, kBusyPollUsec, kBpfObjName, kDefaultBatch, kMaxBatch,
        kDefaultFrameSize, kDefaultFrames);
}

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename T>
T parse_num(std::string_view opt, std::string_view s, T lo, T hi) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
        throw UsageError(std::string(opt) + " 的值「" + std::string(s) + "」不是 " + std::to_string(lo) + ".." +
                         std::to_string(hi) + " 之間的整數");
    return v;
}

double parse_seconds(std::string_view opt, std::string_view s) {
    double v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < 0 || v > 86400.0 * 365)
        throw UsageError(std::string(opt) + " 的值「" + std::string(s) + "」不是合理的秒數");
    return v;
}

std::array<uint8_t, 6> parse_mac(std::string_view opt, std::string_view s) {
    std::array<uint8_t, 6> mac{};
    size_t pos = 0;
    for (size_t i = 0; i < 6; ++i) {
        if (pos + 2 > s.size() || (i < 5 && (pos + 3 > s.size() || s[pos + 2] != ':')))
            throw UsageError(std::string(opt) + " 的值「" + std::string(s) + "」不是 MAC 位址（例 02:00:00:00:00:01）");
        auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + 2, mac[i], 16);
        if (ec != std::errc{} || p != s.data() + pos + 2)
            throw UsageError(std::string(opt) + " 的值「" + std::string(s) + "」不是 MAC 位址");
        pos += 3;
    }
    if (pos - 1 != s.size()) throw UsageError(std::string(opt) + " 的值「" + std::string(s) + "」不是 MAC 位址");
    return mac;
}

in_addr parse_ip(std::string_view opt, const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        throw UsageError(std::string(opt) + " 的值「" + s + "」不是 IPv4 位址");
    return a;
}

// 8< parse_args
// 一個解析器填一個 Config；錯誤丟 UsageError（main 印中文說明，結束碼 2）
Config parse_args(int argc, char** argv, bool& help) {
    Config c;
    std::vector<std::string_view> pos;
    auto need_value = [&](int& i, std::string_view opt) -> std::string {
        if (i + 1 >= argc) throw UsageError(std::string(opt) + " 需要一個值");
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        std::string inline_val;
        bool has_inline = false;
        if (a.starts_with("--") && a.find('=') != std::string_view::npos) {
            inline_val = std::string(a.substr(a.find('=') + 1));
            a = a.substr(0, a.find('='));
            has_inline = true;
        }
        auto val = [&]() -> std::string { return has_inline ? inline_val : need_value(i, a); };
        if (a == "-h" || a == "--help") { help = true; return c; }
        else if (a == "--mode") {
            const std::string v = val();
            if (v == "rxdrop") c.mode = Mode::rxdrop;
            else if (v == "txonly") c.mode = Mode::txonly;
            else if (v == "l2fwd") c.mode = Mode::l2fwd;
            else if (v == "echo") c.mode = Mode::echo;
            else throw UsageError("--mode 的值「" + v + "」不是 rxdrop、txonly、l2fwd、echo 之一");
        }
        else if (a == "--udp-port") c.udp_port = parse_num<uint16_t>(a, val(), 1, 65535);
        else if (a == "--all") c.all = true;
        else if (a == "--size") c.tx_size = parse_num<uint32_t>(a, val(), kMinTxSize, 4096);
        else if (a == "--dst-mac") c.dst_mac = parse_mac(a, val());
        else if (a == "--src-mac") c.src_mac = parse_mac(a, val());
        else if (a == "--dst-ip") c.dst_ip = parse_ip(a, val());
        else if (a == "--src-ip") c.src_ip = parse_ip(a, val());
        else if (a == "--rate") c.rate = parse_num<uint64_t>(a, val(), 0, 1'000'000'000);
        else if (a == "--zero-copy") c.bind = BindPref::zerocopy;
        else if (a == "--copy") c.bind = BindPref::copy;
        else if (a == "--skb-mode") c.skb_mode = true;
        else if (a == "--no-need-wakeup") c.need_wakeup = false;
        else if (a == "--busy-poll") c.busy_poll = true;
        else if (a == "--batch") c.batch = parse_num<uint32_t>(a, val(), 1, kMaxBatch);
        else if (a == "--frame-size") {
            c.frame_size = parse_num<uint32_t>(a, val(), kMinFrameSize, 4096);
            if (c.frame_size != 2048 && c.frame_size != 4096) throw UsageError("--frame-size 只能是 2048 或 4096");
        }
        else if (a == "--frames") {
            c.frames = parse_num<uint32_t>(a, val(), 256, 262144);
            if (c.frames & (c.frames - 1)) throw UsageError("--frames 必須是 2 的冪（例 4096）");
        }
        else if (a == "--duration") c.duration_s = parse_seconds(a, val());
        else if (a == "--count") c.count = parse_num<uint64_t>(a, val(), 0, UINT64_MAX);
        else if (a == "--pin-cpu") c.pin_cpu = parse_num<int>(a, val(), 0, CPU_SETSIZE - 1);
        else if (a == "--force") c.force = true;
        else if (a == "--unload") c.unload = true;
        else if (a == "--bpf-obj") c.bpf_obj = val();
        else if (a == "-v" || a == "--verbose") c.verbose = true;
        else if (a.starts_with("-") && a.size() > 1) throw UsageError("未知的選項：" + std::string(a));
        else pos.push_back(a);
    }
    if (c.bind == BindPref::zerocopy && c.skb_mode)
        throw UsageError("--zero-copy 不能和 --skb-mode 一起用（SKB 模式一定是 copy）");
    if (pos.empty()) throw UsageError("缺少參數：介面");
    if (pos.size() > 2) throw UsageError("多餘的參數：" + std::string(pos[2]));
    if (pos[0].size() >= IFNAMSIZ) throw UsageError("介面名稱太長：" + std::string(pos[0]));
    c.ifname = pos[0];
    if (pos.size() == 2) c.queue = parse_num<uint32_t>("佇列", pos[1], 0, kMaxQueues - 1);
    else if (!c.unload) throw UsageError("缺少參數：佇列（例：af_xdp_socket eth0 0）");
    if (c.tx_size > c.frame_size - XDP_PACKET_HEADROOM)
        throw UsageError("--size " + std::to_string(c.tx_size) + " 放不進 " + std::to_string(c.frame_size) +
                         " bytes 的 frame（上限 frame 大小 - " + std::to_string(XDP_PACKET_HEADROOM) + "）");
    return c;
}
// >8 parse_args

// ---------------------------------------------------------------- 錯誤：呼叫名 + 解碼 + 中文提示
struct Fatal : std::runtime_error {
    int code;
    Fatal(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};

// call 失敗了：err 是正的 errno
[[noreturn]] void fail_call(const char* call, int err, const std::string& hint, int code = kExitRuntime) {
    std::string m = std::string(call) + " 失敗：" + std::strerror(err) + "（errno " + std::to_string(err) + "）";
    if (!hint.empty()) m += "\n  提示：" + hint;
    throw Fatal(code, m);
}

// ---------------------------------------------------------------- RAII：每個 C 資源一個擁有者
class FdHandle {
public:
    explicit FdHandle(int fd = -1) : fd_(fd) {}
    FdHandle(const FdHandle&) = delete;
    FdHandle& operator=(const FdHandle&) = delete;
    ~FdHandle() { if (fd_ >= 0) ::close(fd_); }
    int get() const { return fd_; }
private:
    int fd_;
};

// UMEM 的記憶體本身（mmap），最後才釋放
class UmemArea {
public:
    explicit UmemArea(size_t bytes) : size_(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) fail_call("mmap(UMEM)", errno, "記憶體不足？試試較小的 --frames");
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
        throw Fatal(kExitNoDevice, "權限不足：缺少" + missing +
                                       "\n  提示：請用 root 執行（sudo ./af_xdp_socket ...），或給執行檔權限："
                                       "setcap cap_net_admin,cap_net_raw,cap_bpf+ep ./af_xdp_socket");
}

struct Device {
    int ifindex = 0;
    uint32_t rx_queues = 1;
    uint32_t mtu = 1500;
    std::array<uint8_t, 6> mac{};
    std::string driver = "?";
};

// 8< device
Device inspect_device(const Config& cfg, bool need_queue) {
    Device d;
    d.ifindex = static_cast<int>(if_nametoindex(cfg.ifname.c_str()));
    if (d.ifindex == 0)
        throw Fatal(kExitRuntime, "找不到網路介面「" + cfg.ifname + "」（if_nametoindex: " + std::strerror(errno) +
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

    FdHandle s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", cfg.ifname.c_str());
    if (s.get() >= 0 && ::ioctl(s.get(), SIOCGIFHWADDR, &ifr) == 0)
        std::memcpy(d.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (s.get() >= 0 && ::ioctl(s.get(), SIOCETHTOOL, &ifr) == 0) d.driver = info.driver;

    if (need_queue && cfg.queue >= d.rx_queues)
        throw Fatal(kExitRuntime, "佇列 " + std::to_string(cfg.queue) + " 不存在：" + cfg.ifname + " 只有 " +
                                      std::to_string(d.rx_queues) + " 個接收佇列（0.." +
                                      std::to_string(d.rx_queues - 1) + "）\n  提示：ethtool -l " + cfg.ifname +
                                      " 查看佇列數；veth 可用 ip link add ... numrxqueues N 建立多佇列");
    // 一個封包（含一層 VLAN）要放得進 frame 扣掉 XDP 保留的 headroom
    const uint32_t room = cfg.frame_size - XDP_PACKET_HEADROOM;
    if (need_queue && d.mtu + ETH_HLEN + 4 > room)
        throw Fatal(kExitRuntime, "MTU 太大：" + cfg.ifname + " 的 MTU 是 " + std::to_string(d.mtu) + "，加上標頭 " +
                                      std::to_string(d.mtu + ETH_HLEN + 4) + " bytes 放不進 " +
                                      std::to_string(cfg.frame_size) + " bytes 的 frame（可用 " +
                                      std::to_string(room) + "）\n  提示：加大 --frame-size，或 ip link set " +
                                      cfg.ifname + " mtu " + std::to_string(room - ETH_HLEN - 4));
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
    fail_call("mount(bpffs)", errno, std::string("bpffs 沒有掛載，自動掛載也失敗；請執行：mount -t bpf bpf ") +
                                         kBpffsDir + "（或 make setup-hugepages）");
}

// ---------------------------------------------------------------- XDP 程式：載入、辨認、移除
// 與 xdp_redirect.bpf.c 的 struct xsk_cfg 相同排列
struct XskCfg {
    uint32_t owner_pid;
    uint16_t udp_port;
    uint8_t all;
    uint8_t pad;
};
static_assert(sizeof(XskCfg) == 8);

int libxdp_silent(enum libxdp_print_level, const char*, va_list) { return 0; }
int libbpf_silent(enum libbpf_print_level, const char*, va_list) { return 0; }
int libxdp_verbose(enum libxdp_print_level, const char* fmt, va_list ap) { return std::vfprintf(stderr, fmt, ap); }
int libbpf_verbose(enum libbpf_print_level lvl, const char* fmt, va_list ap) {
    return lvl == LIBBPF_DEBUG ? 0 : std::vfprintf(stderr, fmt, ap);
}

// 從已載入的程式找出它的 xsk_cfg map，讀出擁有者 PID（讀不到回傳 0）
uint32_t read_owner_pid(int prog_fd) {
    std::array<uint32_t, 16> ids{};
    bpf_prog_info info{};
    info.nr_map_ids = ids.size();
    info.map_ids = reinterpret_cast<uint64_t>(ids.data());
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return 0;
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, ids.size()); ++i) {
        FdHandle m(bpf_map_get_fd_by_id(ids[i]));
        if (m.get() < 0) continue;
        bpf_map_info mi{};
        uint32_t mlen = sizeof(mi);
        if (bpf_obj_get_info_by_fd(m.get(), &mi, &mlen) != 0 || std::string_view(mi.name) != "xsk_cfg") continue;
        uint32_t key = 0;
        XskCfg v{};
        if (bpf_map_lookup_elem(m.get(), &key, &v) == 0) return v.owner_pid;
    }
    return 0;
}

bool pid_is_af_xdp_socket(uint32_t pid) {
    if (pid == 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
    return read_text("/proc/" + std::to_string(pid) + "/comm").starts_with("af_xdp_socket");
}

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
// 清點介面上的 XDP 程式：我們的殘留（擁有者已死）就移除；別人的就拒絕（除非 --force）。
// unload=true 時只移除我們的程式。回傳移除了幾個。
int handle_existing_xdp(const Config& cfg, const Device& dev, bool unload) {
    int removed = 0;
    for (uint32_t round = 0; round < kMaxQueues; ++round) {  // 每移除一個就重新讀取狀態
        Multiprog mp(dev.ifindex);
        const auto progs = mp.programs();
        if (progs.empty()) return removed;
        const bool legacy = xdp_multiprog__is_legacy(mp.get());
        const auto mode = xdp_multiprog__attach_mode(mp.get());
        xdp_program* ours = nullptr;
        std::string foreign;
        uint32_t owner = 0;
        for (auto* p : progs) {
            if (std::string_view(xdp_program__name(p)) == kProgName) {
                const uint32_t pid = read_owner_pid(xdp_program__fd(p));
                if (!unload && pid_is_af_xdp_socket(pid) && pid != static_cast<uint32_t>(::getpid()))
                    throw Fatal(kExitRuntime, "另一個 af_xdp_socket（PID " + std::to_string(pid) + "）正在使用 " +
                                                  cfg.ifname + " 的 XDP 程式\n  提示：先結束它（kill " +
                                                  std::to_string(pid) + "）");
                ours = p;
                owner = pid;
                break;
            }
            foreign += std::string(foreign.empty() ? "" : "、") + xdp_program__name(p) + "（id " +
                       std::to_string(xdp_program__id(p)) + "）";
        }
        if (ours) {
            const int err = legacy ? xdp_multiprog__detach(mp.get())
                                   : xdp_program__detach(ours, dev.ifindex, mode, 0);
            if (err) fail_call("xdp_program__detach(殘留的程式)", -err, "手動移除：ip link set dev " + cfg.ifname + " xdp off");
            if (unload)
                std::printf("[說明] 已從 %s 移除 XDP 程式 %s（id %u，擁有者 PID %u%s）\n", cfg.ifname.c_str(), kProgName,
                            xdp_program__id(ours), owner, pid_is_af_xdp_socket(owner) ? "，仍在執行" : "，已不存在");
            else
                std::printf("[說明] 移除上次（PID %u，已不存在）殘留在 %s 的 XDP 程式 %s（id %u）\n", owner,
                            cfg.ifname.c_str(), kProgName, xdp_program__id(ours));
            ++removed;
            continue;
        }
        if (unload) return removed;  // 只剩別人的程式：--unload 不碰
        if (!cfg.force)
            throw Fatal(kExitRuntime, cfg.ifname + " 上已經有別人的 XDP 程式：" + foreign +
                                          "\n  提示：ip link show " + cfg.ifname +
                                          " 查看；確定要換掉它就加 --force，或先 ip link set dev " + cfg.ifname +
                                          " xdp off");
        const int err = xdp_multiprog__detach(mp.get());
        if (err) fail_call("xdp_multiprog__detach", -err, "手動移除：ip link set dev " + cfg.ifname + " xdp off");
        std::printf("[說明] --force：已移除 %s 上原有的 XDP 程式 %s\n", cfg.ifname.c_str(), foreign.c_str());
        ++removed;
    }
    return removed;
}
// >8 stale

// 掛上的 XDP 程式；解構時卸下（任何結束路徑）
class XdpAttachment {
public:
    // 8< attach
    XdpAttachment(const Config& cfg, const Device& dev) : ifindex_(dev.ifindex) {
        mode_ = cfg.skb_mode ? XDP_MODE_SKB : XDP_MODE_NATIVE;
        prog_ = xdp_program__open_file(cfg.bpf_obj.c_str(), "xdp", nullptr);
        if (const long err = libxdp_get_error(prog_); err) {
            prog_ = nullptr;
            fail_call("xdp_program__open_file", static_cast<int>(-err),
                      "找不到或讀不到 " + cfg.bpf_obj + "；先 make af_xdp，或用 --bpf-obj 指定路徑");
        }
        if (const int err = xdp_program__attach(prog_, ifindex_, mode_, 0); err) {
            xdp_program__close(prog_);
            prog_ = nullptr;
            fail_call("xdp_program__attach", -err,
                      cfg.skb_mode ? "SKB 模式也掛不上：核心是否支援 XDP（CONFIG_XDP_SOCKETS、CONFIG_BPF_SYSCALL）？"
                                   : "驅動可能不支援 native XDP，試試 --skb-mode；veth 的 MTU 需 ≤ 約 3500");
        }
        bpf_object* obj = xdp_program__bpf_obj(prog_);
        xsks_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsks_map");
        cfg_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsk_cfg");
        stats_map_fd_ = bpf_object__find_map_fd_by_name(obj, "xsk_stats");
        if (xsks_map_fd_ < 0 || cfg_map_fd_ < 0 || stats_map_fd_ < 0)
            throw Fatal(kExitRuntime, cfg.bpf_obj + " 裡缺少 xsks_map / xsk_cfg / xsk_stats map（檔案版本不對？）");
        // 告訴 XDP 程式要攔截什麼，以及誰擁有它（下次啟動靠這個認出 kill -9 的殘留）
        const uint32_t key = 0;
        const XskCfg v{static_cast<uint32_t>(::getpid()), cfg.udp_port, static_cast<uint8_t>(cfg.all ? 1 : 0), 0};
        if (bpf_map_update_elem(cfg_map_fd_, &key, &v, BPF_ANY) != 0)
            fail_call("bpf_map_update_elem(xsk_cfg)", errno, "");
    }
    // >8 attach
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;
    ~XdpAttachment() {
        if (!prog_) return;
        std::array<char, IF_NAMESIZE> name{};
        const bool still_there = if_indextoname(static_cast<unsigned>(ifindex_), name.data()) != nullptr;
        if (const int err = xdp_program__detach(prog_, ifindex_, mode_, 0); err && still_there)
            std::fprintf(stderr, "警告：xdp_program__detach 失敗：%s；請手動 ip link set dev <介面> xdp off\n",
                         std::strerror(-err));
        xdp_program__close(prog_);
    }
    int xsks_map_fd() const { return xsks_map_fd_; }
    const char* mode_name() const { return mode_ == XDP_MODE_SKB ? "skb" : "native"; }
    uint32_t id() const { return xdp_program__id(prog_); }

    struct ProgStats { uint64_t redirected = 0, passed = 0, no_socket = 0; };
    // 每 CPU 計數器：每顆 CPU 一份，這裡加總
    ProgStats read_stats() const {
        ProgStats s;
        const int ncpu = libbpf_num_possible_cpus();
        if (ncpu <= 0 || ncpu > 1024) return s;
        std::array<uint64_t, 1024> vals{};
        std::array<uint64_t*, 3> dst{&s.redirected, &s.passed, &s.no_socket};
        for (uint32_t k = 0; k < dst.size(); ++k) {
            if (bpf_map_lookup_elem(stats_map_fd_, &k, vals.data()) != 0) continue;
            for (int c = 0; c < ncpu; ++c) *dst[k] += vals[c];
        }
        return s;
    }
private:
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
            fail_call("xsk_umem__create", -err,
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
    int create(const Config& cfg, XskUmem& umem, uint16_t bind_flags) {
        xsk_socket_config sc{};
        sc.rx_size = ring_size_for(cfg.frames);
        sc.tx_size = ring_size_for(cfg.frames);
        sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // 用我們自己的 XDP 程式，不要 libxdp 的預設程式
        sc.xdp_flags = 0;
        sc.bind_flags = bind_flags;
        const bool want_rx = cfg.mode != Mode::txonly, want_tx = cfg.mode != Mode::rxdrop;  // 只建要用的環
        const int err = xsk_socket__create(&xsk_, cfg.ifname.c_str(), cfg.queue, umem.get(), want_rx ? &rx : nullptr,
                                           want_tx ? &tx : nullptr, &sc);
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

// 8< swap_mac
inline void swap_mac(uint8_t* eth) {
    std::array<uint8_t, 6> tmp;
    std::memcpy(tmp.data(), eth, 6);
    std::memcpy(eth, eth + 6, 6);
    std::memcpy(eth + 6, tmp.data(), 6);
}
// >8 swap_mac

// 8< echo
// UDP 回音：交換 MAC、IP、埠，並重算檢查和。為什麼要重算：交換本身不改變 1 的補數和，但同一台主機
// 或 veth 送來的封包常帶 CHECKSUM_PARTIAL——UDP 檢查和欄位只有偽標頭的部分和，由「網卡」補完。
// 從 AF_XDP 送回去時沒有人會補，所以這裡一律算出完整的檢查和。IPv4 的 TTL 重設為 64。
// 不是 UDP（或 IPv6 帶延伸標頭、長度不合）就回傳 false（丟棄）。
// 標頭以位元組位移存取：IP 標頭在 frame 裡只有 2 位元組對齊，不能直接轉成 struct iphdr*。
inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store_be16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v >> 8); p[1] = static_cast<uint8_t>(v); }
inline void swap_bytes(uint8_t* a, uint8_t* b, size_t n) { std::swap_ranges(a, a + n, b); }

inline bool make_echo(uint8_t* pkt, uint32_t len) {
    if (len < ETH_HLEN) [[unlikely]] return false;
    uint32_t off = ETH_HLEN;
    uint16_t proto = load_be16(pkt + 12);
    if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
        if (len < off + 4) return false;
        proto = load_be16(pkt + off + 2);
        off += 4;
    }
    uint8_t* l3 = pkt + off;
    uint8_t* udp = nullptr;
    uint32_t sum = 0;  // 偽標頭的位址部分（交換前後相同）
    if (proto == ETH_P_IP) {
        const uint32_t ihl = (l3[0] & 0x0f) * 4u;  // 版本 / 標頭長度、TTL 在 8、協定在 9、檢查和在 10、位址在 12 與 16
        if (len < off + 20 || ihl < 20 || l3[9] != IPPROTO_UDP || len < off + ihl + 8) return false;
        swap_bytes(l3 + 12, l3 + 16, 4);
        l3[8] = 64;
        store_be16(l3 + 10, 0);
        store_be16(l3 + 10, csum_fold(csum_add(0, l3, ihl)));
        udp = l3 + ihl;
        sum = csum_add(0, l3 + 12, 8);
    } else if (proto == ETH_P_IPV6) {  // 下一個標頭在 6、hop limit 在 7、位址在 8 與 24
        if (len < off + 40 + 8 || l3[6] != IPPROTO_UDP) return false;
        swap_bytes(l3 + 8, l3 + 24, 16);
        l3[7] = 64;
        udp = l3 + 40;
        sum = csum_add(0, l3 + 8, 32);
    } else {
        return false;
    }
    const uint32_t ulen = load_be16(udp + 4);  // UDP：來源埠 0、目的埠 2、長度 4、檢查和 6
    if (ulen < 8 || udp + ulen > pkt + len) return false;
    swap_bytes(udp, udp + 2, 2);
    store_be16(udp + 6, 0);
    sum += IPPROTO_UDP + ulen;
    const uint16_t c = csum_fold(csum_add(sum, udp, ulen));
    store_be16(udp + 6, c == 0 ? 0xffff : c);  // 算出 0 時寫 0xffff（0 代表「沒有檢查和」）
    swap_mac(pkt);
    return true;
}
// >8 echo

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
// 只有 worker 執行緒寫，主執行緒每秒讀；各自一條 cache line，避免 false sharing
struct alignas(64) WorkerCounters {
    std::atomic<uint64_t> rx_packets{0}, rx_bytes{0}, tx_packets{0}, tx_bytes{0};
    std::atomic<uint64_t> tx_completed{0}, fill_submitted{0}, dropped_no_tx_room{0}, syscalls{0};
};
static_assert(sizeof(WorkerCounters) == 64);

inline void bump(std::atomic<uint64_t>& c, uint64_t n) {  // 單一寫者：不需要 lock 前綴的 fetch_add
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class Worker {
public:
    Worker(const Config& cfg, UmemArea& area, XskUmem& umem, XskSocket& xsk, std::span<const uint8_t> tx_template)
        : cfg_(cfg), area_(area), umem_(umem), xsk_(xsk), alloc_(cfg.frames, cfg.frame_size),
          frame_mask_(~static_cast<uint64_t>(cfg.frame_size - 1)), tx_len_(static_cast<uint32_t>(tx_template.size())) {
        if (cfg.mode == Mode::txonly)  // 每個 frame 先寫好樣板，送出時只需填描述子
            for (uint32_t i = 0; i < cfg.frames; ++i)
                std::memcpy(area.data() + static_cast<uint64_t>(i) * cfg.frame_size, tx_template.data(), tx_len_);
    }

    // 綁定後、放進 XSKMAP 之前先填滿 fill 環：第一個封包到達時核心就有 frame 可用
    void prime() { if (cfg_.mode != Mode::txonly) refill_fill(); }
    void set_tx_per_kick(uint32_t n) { tx_per_kick_ = n; }
    void run();
    void request_stop() { stop_.store(true, std::memory_order_relaxed); }
    bool finished() const { return finished_.load(std::memory_order_acquire); }
    // 工作執行緒真正在 CPU 上的時間 / 經過時間（%）：遠低於 100 表示它常在睡或被別的程序搶走 CPU
    double cpu_percent() const { return wall_s_ > 0 ? cpu_s_ / wall_s_ * 100 : 0; }
    const WorkerCounters& counters() const { return c_; }

    struct Accounting { uint32_t total, free, in_fill, in_tx; bool free_list_ok; bool balanced() const {
        return free_list_ok && free + in_fill + in_tx == total; } };
    Accounting accounting() const {
        const uint64_t in_fill = c_.fill_submitted.load() - c_.rx_packets.load();
        const uint64_t in_tx = c_.tx_packets.load() - c_.tx_completed.load();
        return {alloc_.total(), alloc_.available(), static_cast<uint32_t>(in_fill), static_cast<uint32_t>(in_tx),
                alloc_.free_list_valid(cfg_.frame_size)};
    }

private:
    bool stopping() const {
        return g_stop.load(std::memory_order_relaxed) || stop_.load(std::memory_order_relaxed);
    }
    void complete_tx();
    void refill_fill();
    uint32_t rx_batch();
    uint32_t tx_generate(uint64_t budget);
    void kick_tx();
    void wait_idle();

    const Config& cfg_;
    UmemArea& area_;
    XskUmem& umem_;
    XskSocket& xsk_;
    FrameAllocator alloc_;
    const uint64_t frame_mask_;
    const uint32_t tx_len_;
    WorkerCounters c_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> finished_{false};
    uint32_t idle_ = 0;
    uint32_t tx_per_kick_ = kCopyTxPerKick;
    double cpu_s_ = 0, wall_s_ = 0;  // run() 結束時寫入，join 之後才讀
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
void Worker::refill_fill() {
    const uint32_t want = std::min(alloc_.available(), kMaxRingSize);
    const uint32_t n = std::min(want, xsk_prod_nb_free(&umem_.fill, want));
    if (n == 0) return;
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&umem_.fill, n, &idx) != n) [[unlikely]] return;
    for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&umem_.fill, idx + i) = alloc_.alloc();
    xsk_ring_prod__submit(&umem_.fill, n);
    bump(c_.fill_submitted, n);
}
// >8 refill

// 8< kick
// copy 模式的 TX 由 sendto() 驅動；有 need_wakeup 時只在核心要求時才呼叫
void Worker::kick_tx() {
    if (cfg_.need_wakeup && !xsk_ring_prod__needs_wakeup(&xsk_.tx) && !cfg_.busy_poll) return;
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
    const bool forward = cfg_.mode != Mode::rxdrop;
    if (forward) {  // 先確定 tx 環有位子，沒位子就先不收：背壓留給核心的 rx 環（記在 rx_ring_full）
        limit = std::min(limit, xsk_prod_nb_free(&xsk_.tx, limit));
        if (limit == 0) [[unlikely]] return 0;
    }
    uint32_t idx_rx = 0;
    const uint32_t n = xsk_ring_cons__peek(&xsk_.rx, limit, &idx_rx);
    if (n == 0) return 0;
    std::array<xdp_desc, kMaxBatch> out;  // 要送回的描述子，放在堆疊上
    uint32_t sent = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(&xsk_.rx, idx_rx + i);
        const uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
        rx_bytes += d->len;
        if (!forward) { alloc_.release(addr & frame_mask_); continue; }
        uint8_t* pkt = static_cast<uint8_t*>(xsk_umem__get_data(area_.data(), addr));
        if (cfg_.mode == Mode::l2fwd) swap_mac(pkt);
        else if (!make_echo(pkt, d->len)) [[unlikely]] { alloc_.release(addr & frame_mask_); continue; }
        out[sent++] = xdp_desc{addr, d->len, 0};
        tx_bytes += d->len;
    }
    xsk_ring_cons__release(&xsk_.rx, n);
    bump(c_.rx_packets, n);
    bump(c_.rx_bytes, rx_bytes);
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
    if (cfg_.mode != Mode::rxdrop && c_.tx_packets.load(std::memory_order_relaxed) !=
                                         c_.tx_completed.load(std::memory_order_relaxed)) {
        kick_tx();
        complete_tx();
    }
    // busy-poll：由系統呼叫驅動驅動程式的 NAPI；need_wakeup：核心在 fill 環設旗標時才喚醒驅動。
    // 兩者都是「不阻塞」的 recvfrom，之後照樣空轉——喚醒驅動不等於要睡覺。
    // （沒有 need_wakeup 時驅動自己一直在跑，不需要任何系統呼叫。）
    if (cfg_.busy_poll || (cfg_.need_wakeup && xsk_ring_prod__needs_wakeup(&umem_.fill))) {
        bump(c_.syscalls, 1);
        ::recvfrom(xsk_.fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        if (cfg_.busy_poll) return;
    }
    if (++idle_ < kIdleSpins) return;
    idle_ = 0;
    pollfd p{xsk_.fd(), POLLIN, 0};
    bump(c_.syscalls, 1);
    ::poll(&p, 1, kIdlePollMs);
}

// 8< run
void Worker::run() {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const bool txonly = cfg_.mode == Mode::txonly;
    while (!stopping()) {
        complete_tx();
        if (txonly) {
            uint64_t budget = UINT64_MAX;
            const uint64_t sent = c_.tx_packets.load(std::memory_order_relaxed);
            if (cfg_.count && sent >= cfg_.count) break;
            if (cfg_.count) budget = cfg_.count - sent;
            double wait_s = 0;
            if (cfg_.rate) {  // 依經過時間算出目前「可以送」的數量
                const double el = std::chrono::duration<double>(Clock::now() - t0).count();
                const auto allowed = static_cast<uint64_t>(el * static_cast<double>(cfg_.rate)) + 1;
                budget = std::min(budget, allowed > sent ? allowed - sent : 0);
                wait_s = static_cast<double>(sent + 1) / static_cast<double>(cfg_.rate) - el;
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
            if (rx_batch() == 0) wait_idle();
            else idle_ = 0;
            if (cfg_.count && c_.rx_packets.load(std::memory_order_relaxed) >= cfg_.count) break;
        }
    }
    // 收尾：等核心送完 tx 環裡的 frame，讓每個 frame 都回到帳上
    const auto deadline = Clock::now() + kTxDrainTimeout;
    while (cfg_.mode != Mode::rxdrop && c_.tx_packets.load() != c_.tx_completed.load() && Clock::now() < deadline) {
        kick_tx();
        complete_tx();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    cpu_s_ = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    wall_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
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
Bound create_socket(const Config& cfg, const Device& dev, UmemArea& area, std::optional<XskUmem>& umem,
                    XskSocket& xsk) {
    const uint16_t wake = cfg.need_wakeup ? XDP_USE_NEED_WAKEUP : 0;
    const bool try_zc = cfg.bind != BindPref::copy && !cfg.skb_mode;
    if (try_zc) {
        umem.emplace(area, cfg);
        const int err = xsk.create(cfg, *umem, XDP_ZEROCOPY | wake);
        if (err == 0) return {true};
        if (cfg.bind == BindPref::zerocopy)
            fail_call("xsk_socket__create(XDP_ZEROCOPY)", -err,
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
    if (const int err = xsk.create(cfg, *umem, XDP_COPY | wake); err)
        fail_call("xsk_socket__create(XDP_COPY)", -err,
                  err == -EBUSY ? "這個佇列已經綁了另一個 AF_XDP socket"
                                : "核心是否有 CONFIG_XDP_SOCKETS？佇列編號是否正確？");
    return {false};
}
// >8 bind

void set_busy_poll(int fd, uint32_t batch) {
    const int on = 1, usec = kBusyPollUsec, budget = static_cast<int>(batch);
    if (::setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &on, sizeof(on)) != 0)
        fail_call("setsockopt(SO_PREFER_BUSY_POLL)", errno, "需要 Linux 5.11+");
    if (::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec)) != 0)
        fail_call("setsockopt(SO_BUSY_POLL)", errno, "需要 CAP_NET_ADMIN");
    if (::setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)) != 0)
        fail_call("setsockopt(SO_BUSY_POLL_BUDGET)", errno, "需要 Linux 5.11+");
}

// copy 模式的 TX 在 sendto() 裡逐個建 sk_buff 送出，預設每次最多 32 個。Linux 6.17+ 可用
// XDP_MAX_TX_SKB_BUDGET 調高，一批只要一次系統呼叫；舊核心不認得這個選項就維持 32。
uint32_t raise_tx_budget(int fd, uint32_t want) {
    const unsigned budget = std::max(want, kCopyTxPerKick);
    if (::setsockopt(fd, SOL_XDP, kSockoptMaxTxBudget, &budget, sizeof(budget)) == 0) return budget;
    return kCopyTxPerKick;
}

// ---------------------------------------------------------------- 統計
xdp_statistics read_xdp_statistics(int fd) {
    xdp_statistics s{};
    socklen_t len = sizeof(s);
    ::getsockopt(fd, SOL_XDP, XDP_STATISTICS, &s, &len);
    return s;
}

struct Snapshot {
    uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
    static Snapshot of(const WorkerCounters& c) {
        return {c.rx_packets.load(), c.rx_bytes.load(), c.tx_packets.load(), c.tx_bytes.load()};
    }
};

// 8< stats
void print_stats_line(int second, double dt, const Snapshot& now, const Snapshot& prev, const xdp_statistics& ks,
                      const XdpAttachment::ProgStats& ps) {
    const double rx_pps = static_cast<double>(now.rx_packets - prev.rx_packets) / dt;
    const double tx_pps = static_cast<double>(now.tx_packets - prev.tx_packets) / dt;
    const double rx_mbps = static_cast<double>(now.rx_bytes - prev.rx_bytes) * 8 / dt / 1e6;
    const double tx_mbps = static_cast<double>(now.tx_bytes - prev.tx_bytes) * 8 / dt / 1e6;
    std::printf("[統計] 第 %d 秒 rx %.0f pps %.1f Mbit/s｜tx %.0f pps %.1f Mbit/s｜XDP_STATISTICS rx_dropped=%llu "
                "rx_invalid_descs=%llu rx_ring_full=%llu rx_fill_ring_empty_descs=%llu tx_invalid_descs=%llu "
                "tx_ring_empty_descs=%llu｜XDP 程式 redirected=%" PRIu64 " passed=%" PRIu64 " no_socket=%" PRIu64 "\n",
                second, rx_pps, rx_mbps, tx_pps, tx_mbps, static_cast<unsigned long long>(ks.rx_dropped),
                static_cast<unsigned long long>(ks.rx_invalid_descs), static_cast<unsigned long long>(ks.rx_ring_full),
                static_cast<unsigned long long>(ks.rx_fill_ring_empty_descs),
                static_cast<unsigned long long>(ks.tx_invalid_descs),
                static_cast<unsigned long long>(ks.tx_ring_empty_descs), ps.redirected, ps.passed, ps.no_socket);
}
// >8 stats

void pin_thread(std::thread& t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (const int err = pthread_setaffinity_np(t.native_handle(), sizeof(set), &set); err)
        fail_call("pthread_setaffinity_np", err, "CPU " + std::to_string(cpu) + " 不存在或不在允許的 cpuset 中（nproc 查看）");
}

std::string default_bpf_obj(const char* argv0) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) exe = argv0;
    return (exe.parent_path() / kBpfObjName).string();
}

// ---------------------------------------------------------------- 執行一次（setup → 迴圈 → 收尾）
int run(const Config& cfg) {
    // 1. 權限與裝置
    check_privileges();
    const Device dev = inspect_device(cfg, !cfg.unload);

    // 2. --unload：只移除我們的程式
    if (cfg.unload) {
        const int n = handle_existing_xdp(cfg, dev, true);
        if (n == 0) std::printf("[說明] %s 上沒有 %s，不需要移除\n", cfg.ifname.c_str(), kProgName);
        std::printf("[摘要] unloaded=%d iface=%s\n", n, cfg.ifname.c_str());
        return kExitOk;
    }

    // 3. bpffs，殘留或別人的 XDP 程式
    ensure_bpffs();
    handle_existing_xdp(cfg, dev, false);

    // 4. 掛上 XDP 程式（解構時卸下）
    XdpAttachment xdp(cfg, dev);

    // 5. UMEM 與 socket；把 socket 放進 XSKMAP 的「佇列」位置，XDP 程式才會導向它
    UmemArea area(static_cast<size_t>(cfg.frames) * cfg.frame_size);
    std::optional<XskUmem> umem;
    XskSocket xsk;
    const Bound bound = create_socket(cfg, dev, area, umem, xsk);
    if (cfg.busy_poll) set_busy_poll(xsk.fd(), cfg.batch);
    const auto src_mac = cfg.src_mac.value_or(dev.mac);
    const std::vector<uint8_t> tmpl = cfg.mode == Mode::txonly ? build_udp_frame(cfg, src_mac) : std::vector<uint8_t>{};
    Worker worker(cfg, area, *umem, xsk, tmpl);
    uint32_t tx_budget = kCopyTxPerKick;
    if (cfg.mode != Mode::rxdrop && !bound.zerocopy) worker.set_tx_per_kick(tx_budget = raise_tx_budget(xsk.fd(), cfg.batch));
    worker.prime();
    if (cfg.mode != Mode::txonly)
        if (const int err = xsk_socket__update_xskmap(xsk.get(), xdp.xsks_map_fd()); err)
            fail_call("xsk_socket__update_xskmap", -err, "");

    std::printf("[就緒] %s 佇列 %u：mode=%s bind=%s xdp=%s（程式 id %u）need_wakeup=%d busy_poll=%d "
                "frames=%u frame_size=%u batch=%u tx_budget=%u %s\n",
                cfg.ifname.c_str(), cfg.queue, std::string(mode_name(cfg.mode)).c_str(),
                bound.zerocopy ? "zerocopy" : "copy", xdp.mode_name(), xdp.id(), cfg.need_wakeup, cfg.busy_poll,
                cfg.frames, cfg.frame_size, cfg.batch, tx_budget,
                cfg.all ? "攔截全部封包" : ("攔截 UDP 埠 " + std::to_string(cfg.udp_port)).c_str());

    // 6. 環的迴圈在 worker 執行緒；主執行緒每秒印統計
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    std::thread th([&] { worker.run(); });
    if (cfg.pin_cpu >= 0) {
        try { pin_thread(th, cfg.pin_cpu); } catch (...) { worker.request_stop(); th.join(); throw; }
    }
    Snapshot prev;
    auto last = t0;
    int second = 0;
    bool device_gone = false;
    while (!g_stop.load() && !worker.finished()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = Clock::now();
        if (cfg.duration_s > 0 && std::chrono::duration<double>(now - t0).count() >= cfg.duration_s) break;
        if (now - last >= std::chrono::seconds(1)) {
            // 介面被刪除（或移到別的 namespace）時 socket 不會報錯，只會再也收不到東西：每秒確認一次
            if (if_nametoindex(cfg.ifname.c_str()) != static_cast<unsigned>(dev.ifindex)) {
                std::fprintf(stderr, "錯誤：介面 %s 不見了（被刪除或移到別的 network namespace），結束\n", cfg.ifname.c_str());
                device_gone = true;
                break;
            }
            const Snapshot s = Snapshot::of(worker.counters());
            print_stats_line(++second, std::chrono::duration<double>(now - last).count(), s, prev,
                             read_xdp_statistics(xsk.fd()), xdp.read_stats());
            prev = s;
            last = now;
        }
    }
    worker.request_stop();
    th.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();

    // 7. 摘要（XDP 程式與 UMEM 在 return 後依宣告的相反順序釋放：socket → umem → 記憶體 → XDP 程式）
    const auto& c = worker.counters();
    const auto ks = read_xdp_statistics(xsk.fd());
    const auto ps = xdp.read_stats();
    const auto acc = worker.accounting();
    if (!acc.balanced())
        std::fprintf(stderr, "錯誤：UMEM frame 對不上帳：總數 %u ≠ 空閒 %u + fill %u + tx %u（或空閒清單有重複）\n",
                     acc.total, acc.free, acc.in_fill, acc.in_tx);
    std::printf("[摘要] mode=%s bind=%s xdp_mode=%s need_wakeup=%d busy_poll=%d seconds=%.3f rx_packets=%" PRIu64
                " rx_bytes=%" PRIu64 " tx_packets=%" PRIu64 " tx_bytes=%" PRIu64 " rx_pps=%.0f tx_pps=%.0f"
                " rx_dropped=%llu rx_invalid_descs=%llu rx_ring_full=%llu rx_fill_ring_empty_descs=%llu"
                " tx_ring_empty_descs=%llu xdp_redirected=%" PRIu64 " xdp_passed=%" PRIu64 " xdp_no_socket=%" PRIu64
                " syscalls=%" PRIu64 " worker_cpu_pct=%.0f umem_frames=%u umem_free=%u umem_in_fill=%u umem_in_tx=%u umem_balance=%s\n",
                std::string(mode_name(cfg.mode)).c_str(), bound.zerocopy ? "zerocopy" : "copy", xdp.mode_name(),
                cfg.need_wakeup, cfg.busy_poll, secs, c.rx_packets.load(), c.rx_bytes.load(), c.tx_packets.load(),
                c.tx_bytes.load(), static_cast<double>(c.rx_packets.load()) / secs,
                static_cast<double>(c.tx_packets.load()) / secs, static_cast<unsigned long long>(ks.rx_dropped),
                static_cast<unsigned long long>(ks.rx_invalid_descs), static_cast<unsigned long long>(ks.rx_ring_full),
                static_cast<unsigned long long>(ks.rx_fill_ring_empty_descs),
                static_cast<unsigned long long>(ks.tx_ring_empty_descs), ps.redirected, ps.passed, ps.no_socket,
                c.syscalls.load(), worker.cpu_percent(), acc.total, acc.free, acc.in_fill, acc.in_tx, acc.balanced() ? "ok" : "mismatch");
    return acc.balanced() && !device_gone ? kExitOk : kExitRuntime;
}

}  // namespace

// ---------------------------------------------------------------- main：解析、設定信號、執行、回報
int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    bool help = false;
    Config cfg;
    try {
        cfg = parse_args(argc, argv, help);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "參數錯誤：%s\n\n", e.what());
        print_usage(stderr);
        return kExitUsage;
    }
    if (help) { print_usage(stdout); return kExitOk; }
    if (cfg.bpf_obj.empty()) cfg.bpf_obj = default_bpf_obj(argv[0]);

    struct sigaction sa{};
    sa.sa_handler = on_signal;  // 不設 SA_RESTART：poll() 會被打斷，迴圈馬上看到停止旗標
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    libxdp_set_print(cfg.verbose ? libxdp_verbose : libxdp_silent);  // 預設：錯誤由我們自己用中文說明
    libbpf_set_print(cfg.verbose ? libbpf_verbose : libbpf_silent);

    try {
        return run(cfg);
    } catch (const Fatal& e) {
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        std::printf("[摘要] mode=%s error=1 exit=%d\n", std::string(mode_name(cfg.mode)).c_str(), e.code);
        return e.code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        return kExitRuntime;
    }
}
