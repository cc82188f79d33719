// io_uring_async.cpp — io_uring TCP／UDP echo 伺服器；檔案後半是它自己的負載客戶端（bench）
//
// 這個程式示範（對應指南的〈io_uring〉一章）：
//   * multishot accept：一個 SQE 接受所有新連線；
//   * multishot recv 搭配 provided buffer ring：核心自己從共享緩衝池挑緩衝區，
//     一個 SQE 持續收資料，不必每次重新提交；
//   * 直接從收到的緩衝區回送（不複製），短寫入（short send）接著送剩下的；
//     同一連線排隊的多個緩衝區合併成一次 sendmsg；
//   * 每輪迴圈一次 io_uring_submit_and_wait，完成事件成批收割、CQ 只前進一次；
//   * IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN（核心 6.1+），不支援時退回 COOP_TASKRUN，再退回預設；
//   * 背壓：連線佔用的緩衝區到上限就暫停它的 recv，送完再恢復，所以不讀資料的客戶端
//     只能佔住有限的記憶體；緩衝池用完（ENOBUFS）或 multishot 結束時重新掛上，連線不會卡住；
//   * 保留區：緩衝池的四分之一留給沒有資料卡著的連線；卡住（回送送不出去）的連線吃進保留區、又有在讀的
//     連線等不到緩衝區時，把卡住的資料搬出緩衝池（複製到連線自己的記憶體），所以有在讀的客戶端一定拿得到緩衝區；
//   * 閒置逾時（--idle-timeout）：每 100 ms 一次的檢查加上每條連線一個粗略的時間戳，不必每條連線一個計時器；
//   * EMFILE：說一次、繼續服務，有連線關閉（或 100 ms 後）再恢復 accept；
//   * 進階選項（每個都是一小段分支，核心或裝置不支援時說一次、退回預設的做法）：
//     --zc 零複製送出（SEND_ZC／SENDMSG_ZC，等第二個「通知」CQE 才重用緩衝區，REPORT_USAGE 回報核心其實複製了幾次）、
//     --fixed 直接描述符（multishot accept 直接放進固定檔案表、IOSQE_FIXED_FILE）與註冊過的送出緩衝區、
//     --bundle 一個 recv 完成事件帶好幾個緩衝區（IORING_RECVSEND_BUNDLE，6.10+）、
//     --napi USEC 等待完成事件時 busy poll 網卡的 NAPI（IORING_REGISTER_NAPI，6.9+；loopback 沒有 NAPI）；
//   * --udp：一個 multishot recvmsg 把資料包收進 buffer ring，直接從緩衝區 sendmsg 回來源位址（每個資料包一個 SQE、
//     一輪一次 io_uring_enter），送完才放回緩衝區；不回答來源埠等於自己的埠的資料包（防 echo 迴圈）。
// 檔案的前半是伺服器（要學的 io_uring），後半（「第二部分」）是量測用的負載客戶端，只想看伺服器的讀者可以略過。
//
// 需求：Linux 6.1 以上（multishot recv 需要 6.0，DEFER_TASKRUN 需要 6.1）、liburing 2.3 以上。
// 編譯：make io_uring_async
// 執行：./io_uring_async [PORT]             （預設 12345）
//       ./io_uring_async [PORT] --udp       （UDP echo）
//       ./io_uring_async [PORT] --fixed --bundle --zc --napi 50   （進階選項，見 --help）
//       echo "測試訊息" | nc -N localhost 12345
//       ./io_uring_async bench 127.0.0.1 12345 --conns 50 --size 64 --depth 1 --duration 5
// 指南：docs/kernel-bypass-guide.md〈io_uring〉

#include <liburing.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <charconv>
#include <cmath>
#include <chrono>
#include <concepts>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// ============================================================================
// 可調參數（單位寫在名字或註解裡）
// ============================================================================
constexpr uint16_t kDefaultPort = 12345;
constexpr unsigned kSqEntries = 1024;          // SQ 大小；CQ 取 4 倍，multishot 一個 SQE 會產生很多 CQE
constexpr unsigned kCqEntries = kSqEntries * 4;
constexpr unsigned kMaxBufCount = 32768;       // 核心對 buffer ring 的上限（緩衝池大小見 BufRing 前的 kServer*）
constexpr unsigned kMinBufDepth = 8;           // --buf-depth 的下限：--bundle 一次最多拿 16 個，再少就幾乎每次都 ENOBUFS
constexpr unsigned kHeldPerConn = 16;          // 一條連線最多佔住幾段資料，超過就暫停它的 recv（背壓）
constexpr unsigned kHeldMin = 2;               // 連線很多時，公平分配後每條至少還能佔這麼多個緩衝區
constexpr unsigned kHeldChunks = 64;           // 一條連線最多排隊幾段資料（遞增模式下很多小段可能在同一個緩衝區）
constexpr size_t kHeldBytesPerConn = 256 << 10;  // 一條連線最多佔住的位元組數（同樣會按緩衝池公平分配）
constexpr size_t kHeldBytesMin = 16 << 10;
constexpr unsigned kMaxIov = 16;               // 一次 sendmsg 最多合併幾個緩衝區
constexpr int kListenBacklog = 4096;
constexpr int kUdpSockBuf = 4 << 20;           // --udp 的 SO_RCVBUF／SO_SNDBUF（位元組）
constexpr size_t kHugePage = 2u << 20;         // 緩衝池按 2 MiB 對齊，讓 THP 用大頁
constexpr uint16_t kBufGroup = 0;              // buffer ring 的群組編號（每個 ring 各自一組）
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // EMFILE 後多久再試 accept
constexpr auto kStarvedRetry = std::chrono::milliseconds(50);  // 等緩衝區的連線最久多久重試一次
constexpr long kWaitTimeoutNs = 100'000'000;   // 迴圈最長等待 100 ms，好檢查停止旗標
constexpr auto kShutdownGrace = std::chrono::seconds(2);
constexpr auto kTick = std::chrono::milliseconds(100);         // 閒置與保留區的檢查週期
constexpr auto kStarveLimit = std::chrono::milliseconds(200);  // 沒佔任何緩衝區的連線等緩衝區最多這麼久，就收回保留區
constexpr auto kHeldPause = std::chrono::milliseconds(100);    // 共用區用完時，回送多久沒有進展就暫停 recv
constexpr auto kHeldSpillAfter = std::chrono::milliseconds(300);  // 回送多久沒有進展才算「卡住」（資料才可能被搬出緩衝池）
constexpr unsigned kReserveDiv = 4;            // 緩衝池的 1/4 是保留區：卡住的連線不能拿走
constexpr unsigned kDefaultIdleTimeout = 60;   // 秒；0 = 不關閉閒置連線
constexpr unsigned kZcTickets = 4;             // --zc：一條連線最多幾次零複製送出在等通知（之後的送出等通知回來）
constexpr unsigned kBundleMax = 256;           // --bundle：核心一次最多拿的緩衝區數（PEEK_MAX_IMPORT）
constexpr unsigned kFixedSpare = 64;           // --fixed：固定檔案表比 --max-conns 多留的位置（新連線在 max-conns 檢查前先佔一格）

// 比 Debian 12 的 liburing 2.3 新的核心介面：標頭還沒有，照核心的 include/uapi/linux/io_uring.h 自己定義（liburing 的範例也這樣做）
constexpr unsigned kSendZcReportUsage = 1U << 3;   // IORING_SEND_ZC_REPORT_USAGE（6.2+）：通知的 res 說這次送出有沒有被複製
constexpr uint32_t kNotifUsageZcCopied = 1U << 31; // IORING_NOTIF_USAGE_ZC_COPIED
constexpr unsigned kRecvSendBundle = 1U << 4;      // IORING_RECVSEND_BUNDLE（6.10+）
constexpr unsigned kFeatRecvSendBundle = 1U << 14; // IORING_FEAT_RECVSEND_BUNDLE
constexpr unsigned kRegisterNapi = 27;             // IORING_REGISTER_NAPI（6.9+）
struct NapiReg {                                   // struct io_uring_napi
    uint32_t busy_poll_to;                         // 微秒
    uint8_t prefer_busy_poll, opcode, pad[2];
    uint32_t op_param, resv;
};
static_assert(sizeof(NapiReg) == 16);

static_assert(kMaxIov <= kHeldPerConn, "合併的 iovec 數不能超過一條連線可佔的緩衝區數");

// 負載客戶端
constexpr uint32_t kPatternPeriod = 65521;     // 驗證用資料的週期（質數，錯位或串線都對不上）
constexpr uint32_t kMaxSendChunk = 65536;      // 客戶端一次送出的最大位元組數
constexpr unsigned kMaxConnecting = 256;       // 同時進行中的 connect 數
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kDrainTimeout = std::chrono::seconds(10);

using Clock = std::chrono::steady_clock;

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

std::string errstr(int err) { return std::string(strerror(err)) + " (errno " + std::to_string(err) + ")"; }

// ============================================================================
// 選項
// ============================================================================
struct ServerConfig {
    uint16_t port = kDefaultPort;
    unsigned threads = 1;
    unsigned buf_size = 0;     // 0 = 依緩衝區模式取預設值
    unsigned buf_count = 0;
    unsigned buf_depth = 0;    // --buf-depth：buffer ring 上最多幾個緩衝區，0 = 整個池子
    unsigned max_conns = 16384;
    unsigned idle_timeout = kDefaultIdleTimeout;  // 秒，0 = 關閉
    bool sqpoll = false;
    bool inc = true;           // 先試 provided buffer 的遞增消耗
    bool udp = false;          // --udp：UDP echo（multishot recvmsg）而不是 TCP
    bool zc = false;           // --zc：零複製送出
    bool fixed = false;        // --fixed：直接描述符 + 註冊過的緩衝區
    bool bundle = false;       // --bundle：recv 的 bundle
    unsigned napi_usec = 0;    // --napi USEC：NAPI busy poll，0 = 關閉
};
struct BenchConfig {
    std::string host;
    uint16_t port = kDefaultPort;
    unsigned conns = 50;
    unsigned size = 64;
    unsigned depth = 1;
    double duration = 5.0;
    bool quiet = false;
};
// 命令列：伺服器或 bench 其中之一
struct Config {
    bool help = false;
    bool bench = false;
    ServerConfig server;
    BenchConfig client;
};

constexpr const char* kUsage = R"(用法：
  io_uring_async [PORT] [選項]                  啟動 TCP echo 伺服器
  io_uring_async [PORT] --udp [選項]            啟動 UDP echo 伺服器（multishot recvmsg）
  io_uring_async bench HOST PORT [選項]         負載客戶端：驗證每個回送的位元組並量測延遲

伺服器選項：
  PORT                 監聽的 TCP（--udp 時 UDP）埠（1–65535，預設 12345）
  --udp                UDP echo：每個資料包原樣送回來源位址；來源埠等於自己的埠的資料包不回（防 echo 迴圈）
  --threads N          執行緒數，每個執行緒一個 ring，以 SO_REUSEPORT 分攤連線（預設 1）
  --sqpoll             使用 SQPOLL 核心執行緒提交 SQE（預設關閉）
  --buf-size BYTES     每個 provided buffer 的大小（512–65536；預設遞增模式 32768、傳統模式 4096、--udp 2048）
  --buf-count N        每個執行緒的緩衝區數，2 的冪次（64–32768；預設遞增模式 1024、傳統模式 8192、--udp 4096）
  --buf-depth N        buffer ring 上最多放 N 個緩衝區（8–32768，預設 0 = 整個池子）：放回來的先用（LIFO），
                       核心接著填的是剛用過、還在快取裡的那幾個；環用完時 recv 收到 ENOBUFS，等下一輪補環再掛上
  --no-inc             不用 provided buffer 的遞增消耗（IOU_PBUF_RING_INC），改用傳統模式（比較用）
  --max-conns N        每個執行緒的最大連線數，超過的新連線直接關閉（預設 16384）
  --idle-timeout S     雙向都沒有資料流動 S 秒的連線會被關閉（0–86400，預設 60；0 表示不關閉）

進階選項（TCP；核心不支援時說一次並退回預設做法，見 README〈進階選項〉）：
  --zc                 零複製送出（IORING_OP_SEND_ZC／SENDMSG_ZC）：緩衝區等到核心的通知 CQE 才重用；
                       [摘要] 的 zc_copied 是核心其實還是複製了的次數（loopback 與 veth 一定複製）
  --fixed              直接描述符：multishot accept 把連線直接放進固定檔案表，recv／send 用 IOSQE_FIXED_FILE；
                       緩衝池註冊成固定緩衝區，--zc 的單段送出用它（不必每次釘住頁面）
  --bundle             recv bundle（IORING_RECVSEND_BUNDLE，6.10+）：一個 recv 完成事件帶好幾個緩衝區（兩種緩衝池模式都可以）
  --napi USEC          等完成事件時 busy poll 收到資料的網卡 NAPI 最多 USEC 微秒（1–10000，IORING_REGISTER_NAPI，6.9+；
                       loopback 沒有 NAPI，只在真的網卡或開了 GRO 的 veth 上有作用，[摘要] 的 napi_conns 說有幾條連線適用）

負載客戶端選項：
  --conns N            連線數（1–20000，預設 50）
  --size BYTES         每則訊息的大小（1–1048576，預設 64）
  --depth D            每條連線同時在途的訊息數（1–1024，預設 1）
  --duration S         量測秒數（0.1–3600，預設 5）
  --quiet              不印每秒統計

共同：
  -h, --help           顯示這段說明

範例：
  ./io_uring_async                          # 監聽 12345
  echo "測試訊息" | nc -N localhost 12345
  ./io_uring_async bench 127.0.0.1 12345 --conns 50 --size 64 --depth 1 --duration 5
  ./io_uring_async 19000 --udp              # UDP echo，埠 19000
  ./io_uring_async --fixed --bundle         # 直接描述符 + recv bundle
結束碼：0 成功、1 執行錯誤、2 參數錯誤、77 io_uring 無法使用或權限不足
)";

void print_usage(FILE* f) { fputs(kUsage, f); }

// 取下一個參數當作選項的值；沒有就是參數錯誤
std::string_view option_value(std::span<char*> args, size_t& i) {
    if (i + 1 >= args.size()) throw Failure(kExitUsage, "選項 " + std::string(args[i]) + " 需要一個值");
    return args[++i];
}
bool is_help(std::string_view a) { return a == "-h" || a == "--help"; }
uint16_t parse_port(std::string_view s) { return uint16_t(parse_number<unsigned>("埠號 PORT", s, 1, 65535)); }

// 伺服器的選項；-h／--help 設定 cfg.help 並停止解析
void parse_server(std::span<char*> args, Config& cfg) {
    ServerConfig& c = cfg.server;
    bool have_port = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto num = [&](unsigned lo, unsigned hi) { return parse_number<unsigned>(a, option_value(args, i), lo, hi); };
        if (is_help(a)) { cfg.help = true; return; }
        else if (a == "--threads") c.threads = num(1, 64);
        else if (a == "--sqpoll") c.sqpoll = true;
        else if (a == "--no-inc") c.inc = false;
        else if (a == "--udp") c.udp = true;
        else if (a == "--buf-size") c.buf_size = num(512, 65536);
        else if (a == "--buf-count") c.buf_count = num(64, kMaxBufCount);
        else if (a == "--buf-depth") c.buf_depth = num(kMinBufDepth, kMaxBufCount);
        else if (a == "--max-conns") c.max_conns = num(1, 1'000'000);
        else if (a == "--idle-timeout") c.idle_timeout = num(0, 86400);
        else if (a == "--zc") c.zc = true;
        else if (a == "--fixed") c.fixed = true;
        else if (a == "--bundle") c.bundle = true;
        else if (a == "--napi") c.napi_usec = num(1, 10000);
        else if (!a.starts_with("-") && !have_port) { c.port = parse_port(a); have_port = true; }
        else throw Failure(kExitUsage, "無法辨識的參數：" + std::string(a));
    }
    if (c.buf_count & (c.buf_count - 1)) throw Failure(kExitUsage, "--buf-count 必須是 2 的冪次（例如 1024、8192）");
    if (c.buf_count && c.buf_depth > c.buf_count)
        throw Failure(kExitUsage, "--buf-depth " + std::to_string(c.buf_depth) + " 大於緩衝區數 --buf-count " + std::to_string(c.buf_count));
    if (c.udp && (c.zc || c.fixed || c.bundle))
        throw Failure(kExitUsage, "--zc、--fixed、--bundle 只用於 TCP 伺服器，不能和 --udp 一起用");
}

// bench HOST PORT 的選項
void parse_bench(std::span<char*> args, Config& cfg) {
    BenchConfig& c = cfg.client;
    cfg.bench = true;
    for (char* a : args) if (is_help(a)) { cfg.help = true; return; }
    if (args.size() < 2) throw Failure(kExitUsage, "bench 需要 HOST 與 PORT，例如：bench 127.0.0.1 12345");
    c.host = args[0];
    c.port = parse_port(args[1]);
    for (size_t i = 2; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto num = [&](unsigned lo, unsigned hi) { return parse_number<unsigned>(a, option_value(args, i), lo, hi); };
        if (a == "--conns") c.conns = num(1, 20000);
        else if (a == "--size") c.size = num(1, 1 << 20);
        else if (a == "--depth") c.depth = num(1, 1024);
        else if (a == "--duration") c.duration = parse_number<double>(a, option_value(args, i), 0.1, 3600.0);
        else if (a == "--quiet") c.quiet = true;
        else throw Failure(kExitUsage, "無法辨識的參數：" + std::string(a));
    }
}

Config parse_args(std::span<char*> args) {
    Config cfg;
    if (!args.empty() && std::string_view(args[0]) == "bench") parse_bench(args.subspan(1), cfg);
    else parse_server(args, cfg);
    return cfg;
}

// ============================================================================
// user_data 的位元配置：[63..56] 操作種類 | [55..52] 附加（--zc 的票號）| [51..32] 世代 | [31..0] 連線槽位
// 槽位會重複使用，世代（generation）讓遲到的 CQE 不會誤用到新連線上。
// ============================================================================
enum class Op : uint8_t { Accept = 1, Recv, Send, SendZc, Cancel, Connect, Close };
constexpr uint32_t kGenMask = 0xFFFFF;

constexpr uint64_t pack(Op op, uint32_t slot, uint32_t gen, uint32_t aux = 0) {
    return (uint64_t(op) << 56) | (uint64_t(aux & 0xF) << 52) | (uint64_t(gen & kGenMask) << 32) | slot;
}
constexpr Op op_of(uint64_t ud) { return Op(ud >> 56); }
constexpr uint32_t aux_of(uint64_t ud) { return uint32_t(ud >> 52) & 0xF; }
constexpr uint32_t gen_of(uint64_t ud) { return uint32_t(ud >> 32) & kGenMask; }
constexpr uint32_t slot_of(uint64_t ud) { return uint32_t(ud); }
static_assert(op_of(pack(Op::Send, 7, 0x1234567, 3)) == Op::Send);
static_assert(aux_of(pack(Op::Send, 7, 0x1234567, 3)) == 3);
static_assert(gen_of(pack(Op::Send, 7, 0x1234567, 3)) == 0x34567);
static_assert(slot_of(pack(Op::Send, 7, 0x1234567, 3)) == 7);
static_assert(kZcTickets <= 16, "票號要放得進 user_data 的 4 個位元");

// ============================================================================
// RAII：ring、provided buffer ring（fd 的擁有者 Fd 在共同詞彙裡）
// ============================================================================
// 8< ring-setup
// 依序嘗試較新的設定旗標，退回時說明原因。
class Ring {
public:
    explicit Ring(bool sqpoll) {
        struct Try { unsigned flags; const char* name; };
        // DEFER_TASKRUN：完成工作延到我們呼叫 io_uring_enter 時才做，避免被 IPI 打斷；
        // 它要求 SINGLE_ISSUER（只有建立 ring 的執行緒提交）。SQPOLL 不能與 DEFER_TASKRUN 並用。
        const Try tries_normal[] = {
            {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer_taskrun"},
            {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop_taskrun"},
            {0, "default"},
        };
        const Try tries_sqpoll[] = {
            {IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER, "sqpoll"},
            {IORING_SETUP_SQPOLL, "sqpoll"},
        };
        std::span<const Try> tries = sqpoll ? std::span<const Try>(tries_sqpoll) : std::span<const Try>(tries_normal);
        int ret = -EINVAL;
        for (const Try& t : tries) {
            io_uring_params p{};
            p.flags = t.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
            p.cq_entries = kCqEntries;
            if (t.flags & IORING_SETUP_SQPOLL) p.sq_thread_idle = 1000;  // ms
            ret = io_uring_queue_init_params(kSqEntries, &ring_, &p);
            if (ret == 0) { mode_ = t.name; features_ = p.features; return; }
            if (ret != -EINVAL) break;  // EINVAL = 這個核心不認得旗標，試下一組
            fallback_note_ = std::string("核心不支援 ") + t.name + "，改用較舊的設定";
        }
        throw_unavailable(-ret);
    }
    ~Ring() { io_uring_queue_exit(&ring_); }
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    io_uring* get() { return &ring_; }
    const char* mode() const { return mode_; }
    const std::string& fallback_note() const { return fallback_note_; }
    bool has_feature(unsigned f) const { return features_ & f; }
    bool supports(int opcode) {
        io_uring_probe* p = io_uring_get_probe_ring(&ring_);
        const bool ok = p && io_uring_opcode_supported(p, opcode);
        if (p) io_uring_free_probe(p);
        return ok;
    }

    // 8< napi
    // NAPI busy poll（--napi）：io_uring_enter 等完成事件時，先在收到資料的那些 NAPI 上輪詢最多 usec 微秒，
    // 封包一到就處理，不必等中斷與 softirq 排程。io_uring 從 socket 記下它的 NAPI ID（只有真的網卡或開了 GRO
    // 的 veth 才有；loopback 沒有，這時什麼都不做）。liburing 2.3 沒有 io_uring_register_napi，直接用系統呼叫。
    // usec = 0 表示沒有要求；回傳是否生效，不生效時把原因放進 notes（TCP 與 UDP 伺服器共用）。
    bool register_napi(unsigned usec, std::vector<std::string>& notes) {
        if (usec == 0) return false;
        NapiReg reg{};
        reg.busy_poll_to = usec;
        reg.prefer_busy_poll = 1;   // 提示核心：這些 NAPI 由 busy poll 處理，延後中斷
        if (syscall(__NR_io_uring_register, ring_.ring_fd, kRegisterNapi, &reg, 1) == 0) return true;
        notes.push_back("核心不接受 IORING_REGISTER_NAPI（" + errstr(errno) + "，需要 6.9+），--napi 不起作用");
        return false;
    }
    // >8 napi

    // SQ 滿了就先提交再拿，所以永遠拿得到 SQE
    io_uring_sqe* sqe() {
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        while (!s) [[unlikely]] {
            io_uring_submit(&ring_);
            s = io_uring_get_sqe(&ring_);
        }
        return s;
    }

private:
    [[noreturn]] static void throw_unavailable(int err) {
        std::string why = "io_uring_queue_init 失敗：" + errstr(err);
        if (err == ENOSYS) throw Failure(kExitNoDevice, why + "。這個核心沒有編入 io_uring（CONFIG_IO_URING）");
        if (err == EPERM || err == EACCES) {
            std::string hint = "。io_uring 被系統停用或限制：";
            if (FILE* f = fopen("/proc/sys/kernel/io_uring_disabled", "r")) {
                int v = -1;
                if (fscanf(f, "%d", &v) == 1) hint += "kernel.io_uring_disabled=" + std::to_string(v);
                fclose(f);
            }
            throw Failure(kExitNoDevice, why + hint + "（0 表示開放；可用 sysctl kernel.io_uring_disabled=0 開啟）");
        }
        if (err == ENOMEM) throw Failure(kExitNoDevice, why + "。可鎖定的記憶體不足（ulimit -l）");
        throw Failure(kExitRuntime, why);
    }
    io_uring ring_{};
    const char* mode_ = "default";
    unsigned features_ = 0;
    std::string fallback_note_;
};
// >8 ring-setup

// 8< buf-ring
// Provided buffer ring：一塊共享給核心的環，存放可用緩衝區的位址。multishot recv 每收到一段
// 資料就從這裡取一個緩衝區，CQE 的 flags 帶回它的編號（bid）。用完的緩衝區放回環、成批前進。
// liburing 2.4 的 io_uring_setup_buf_ring() 做的就是下面這幾步；Debian 12 的 2.3 還沒有，所以自己做。
//
// 遞增消耗（IOU_PBUF_RING_INC，核心 6.12+）：核心不再一次用掉整個緩衝區，而是從上次用到的地方
// 接著放資料，CQE 帶 IORING_CQE_F_BUF_MORE 表示這個緩衝區核心還沒用完。於是可以用大緩衝區
// （一次 recv 就拿到一大段，內部的 recv 次數少很多），小訊息也不浪費空間。一個緩衝區可能同時裝著
// 好幾條連線的資料，所以每個緩衝區有參考計數：核心用完、而且裡面的資料都送出去了，才放回環。
// 核心不支援時（EINVAL）退回傳統模式：每段資料獨佔一個小緩衝區。
constexpr uint16_t kIouPbufRingInc = 2;            // IOU_PBUF_RING_INC（liburing 2.3 的標頭還沒有）
constexpr uint32_t kCqeFBufMore = 1U << 4;         // IORING_CQE_F_BUF_MORE

struct BufSizing { unsigned size, count; };
constexpr BufSizing kServerInc{32768, 1024};       // 遞增模式：32 KiB × 1024 = 32 MiB
constexpr BufSizing kServerClassic{4096, 8192};    // 傳統模式：4 KiB × 8192 = 32 MiB

class BufRing {
public:
    // 收到的一段資料：在哪個緩衝區、從哪裡開始、多長
    struct Slice { uint16_t bid; uint32_t off, len; };

    // want_inc：先試遞增模式；user 的大小／數量為 0 表示依模式取預設值；depth：環上最多幾個（0 = 整個池子）
    BufRing(io_uring* ring, BufSizing inc, BufSizing classic, bool want_inc, unsigned depth = 0) : ring_(ring) {
        int ret = -EINVAL;
        for (int attempt = want_inc ? 0 : 1; attempt < 2; ++attempt) {
            inc_ = attempt == 0;
            const BufSizing sz = inc_ ? inc : classic;
            count_ = sz.count;
            size_ = sz.size;
            allocate();
            io_uring_buf_reg reg{};
            reg.ring_addr = reinterpret_cast<uint64_t>(br_);
            reg.ring_entries = count_;
            reg.bgid = kBufGroup;
            reg.pad = inc_ ? kIouPbufRingInc : 0;  // 新核心把這個欄位叫做 flags
            ret = io_uring_register_buf_ring(ring_, &reg, 0);
            if (ret == 0) break;
            release_memory();
            if (!(inc_ && ret == -EINVAL)) break;
            note_ = "核心不支援 provided buffer 的遞增消耗（IOU_PBUF_RING_INC，6.12+），改用每段資料一個緩衝區的傳統模式";
        }
        if (ret < 0)
            throw Failure(kExitNoDevice, "io_uring_register_buf_ring 失敗：" + errstr(-ret) + "（provided buffer ring 需要核心 5.19 以上）");
        refs_.assign(count_, 0);
        used_.assign(count_, 0);
        kernel_.assign(count_, 0);
        at_.assign(count_, 0);
        pos_of_.assign(count_, 0);
        out_ = count_;
        depth_ = count_;
        if (depth > count_) note_ += std::string(note_.empty() ? "" : "；") + "--buf-depth " + std::to_string(depth) +
                                     " 大於緩衝區數 " + std::to_string(count_) + "，等於不設上限";
        else if (depth > 0) depth_ = depth;
        free_.reserve(count_);
        for (unsigned bid = count_; bid-- > 0;) put(uint16_t(bid));  // 堆疊頂端是 0：第一次補環照 0, 1, 2… 的順序
        publish();
    }
    ~BufRing() {
        if (fixed_) io_uring_unregister_buffers(ring_);
        io_uring_unregister_buf_ring(ring_, kBufGroup);
        release_memory();
    }
    BufRing(const BufRing&) = delete;
    BufRing& operator=(const BufRing&) = delete;

    uint8_t* ptr(uint16_t bid) { return data_ + size_t(bid) * size_; }

    // 從一個 res > 0 的 CQE 取出資料的位置，並替它加一個參考
    Slice take(const io_uring_cqe* cqe) {
        const uint16_t bid = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        const uint32_t len = uint32_t(cqe->res);
        Slice sl{bid, inc_ ? used_[bid] : 0, len};
        if (inc_) used_[bid] += len;
        if ((!inc_ || !(cqe->flags & kCqeFBufMore)) && kernel_[bid]) { kernel_[bid] = 0; ++out_; }  // 核心用完這個緩衝區了
        ++refs_[bid];
        return sl;
    }
    // 8< bundle-take
    // --bundle：一個 CQE 的資料依序放在環上從 bid 開始的幾個位置。核心只告訴我們第一個 bid，後面的要看我們放回
    // 緩衝區時記下的環上順序（at_、pos_of_）。傳統模式每個緩衝區都裝滿（最後一個可能不滿）；遞增模式第一個緩衝區
    // 從上次用到的地方接著放，中間的裝滿，最後一個若帶 F_BUF_MORE 表示核心還要接著用它。
    unsigned take_bundle(const io_uring_cqe* cqe, std::span<Slice> out) {
        const uint16_t first = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        uint32_t left = uint32_t(cqe->res), pos = pos_of_[first];
        unsigned n = 0;
        while (left > 0 && n < out.size()) {
            const uint16_t bid = at_[pos++ & (count_ - 1)];
            const uint32_t off = inc_ ? used_[bid] : 0, len = std::min(left, size_ - off);
            if (inc_) used_[bid] += len;
            left -= len;
            const bool kernel_keeps = inc_ && left == 0 && (cqe->flags & kCqeFBufMore);
            if (!kernel_keeps && kernel_[bid]) { kernel_[bid] = 0; ++out_; }
            ++refs_[bid];
            out[n++] = {bid, off, len};
        }
        return n;
    }
    // >8 bundle-take
    // 多一個參考：--zc 的送出在通知回來之前，核心還在讀這個緩衝區
    void ref(uint16_t bid) { ++refs_[bid]; }
    // 一段資料處理完（送出或丟棄）：最後一個參考放掉、核心也用完了，緩衝區才回到環上（回傳是否放回）
    bool unref(uint16_t bid) {
        if (--refs_[bid] != 0 || kernel_[bid]) return false;
        put(bid);
        return true;
    }
    // --fixed：整個緩衝池註冊成一個固定緩衝區（索引 0），送出時核心不必每次釘住頁面。回傳空字串表示成功
    std::string register_fixed() {
        const iovec iov{data_, data_bytes_};
        const int ret = io_uring_register_buffers(ring_, &iov, 1);
        fixed_ = ret == 0;
        return fixed_ ? std::string() : "緩衝池註冊成固定緩衝區失敗：" + errstr(-ret) + "（ulimit -l？），送出照常用一般的位址";
    }
    bool fixed() const { return fixed_; }
    // 8< buf-depth
    // 補環：核心手上（環上與遞增模式下還沒用完的）不到 depth_ 個時，從堆疊頂端——最近才放回來、還在快取裡的——
    // 補上去，一次讓核心看到（環的 tail 前進一次）。沒有 --buf-depth 時 depth_ = 整個池子，放回的全部上環，
    // 和沒有堆疊時一樣。回傳這次放上環的個數。
    unsigned publish() {
        while (in_kernel() < depth_ && !free_.empty()) {
            ring_add(free_.back());
            free_.pop_back();
        }
        ring_max_ = std::max(ring_max_, in_kernel());
        unsigned n = pending_;
        if (n) io_uring_buf_ring_advance(br_, int(n));
        tail_ += n;
        pending_ = 0;
        return n;
    }
    // >8 buf-depth
    unsigned size() const { return size_; }
    unsigned count() const { return count_; }
    unsigned available() const { return count_ - out_; }  // 沒有資料佔著的緩衝區數（核心手上的加上堆疊裡的）
    unsigned depth() const { return depth_; }
    unsigned ring_max() const { return ring_max_; }        // 補環之後核心手上最多到過幾個（≤ depth_）
    unsigned in_kernel() const { return count_ - out_ - unsigned(free_.size()); }  // 核心手上的：環上與遞增模式下還沒用完的
    bool incremental() const { return inc_; }
    const char* mode() const { return inc_ ? "inc" : "classic"; }
    const std::string& note() const { return note_; }

private:
    // 一個緩衝區空出來了：先放進堆疊（LIFO），publish() 再決定它什麼時候上環
    void put(uint16_t bid) {
        used_[bid] = 0;
        --out_;
        free_.push_back(bid);
    }
    void ring_add(uint16_t bid) {
        kernel_[bid] = 1;
        const uint32_t pos = tail_ + pending_;     // 它在環上的位置（--bundle 要知道順序）
        at_[pos & (count_ - 1)] = bid;
        pos_of_[bid] = pos;
        io_uring_buf_ring_add(br_, ptr(bid), size_, bid, io_uring_buf_ring_mask(count_), int(pending_++));
    }
    void allocate() {
        ring_bytes_ = count_ * sizeof(io_uring_buf);
        void* r = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (r == MAP_FAILED) throw Failure(kExitRuntime, "mmap（buffer ring）失敗：" + errstr(errno));
        br_ = static_cast<io_uring_buf_ring*>(r);
        io_uring_buf_ring_init(br_);
        // 緩衝池對齊 2 MiB 並要求透明大頁（THP）：FIFO 的 buffer ring 會輪流用遍幾十 MiB 的池子，用 4 KiB 頁時
        // send/recv 的複製要一直換 TLB 項目（epoll 只重用一塊 64 KiB）。一開始就全部配好並碰過，之後常駐記憶體不再成長。
        data_bytes_ = (size_t(count_) * size_ + kHugePage - 1) & ~(kHugePage - 1);
        void* d = mmap(nullptr, data_bytes_ + kHugePage, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (d == MAP_FAILED) {
            munmap(br_, ring_bytes_);
            br_ = nullptr;
            throw Failure(kExitRuntime, "mmap（緩衝區）失敗：" + errstr(errno));
        }
        // 切掉對齊前後多出來的部分
        uintptr_t base = reinterpret_cast<uintptr_t>(d);
        uintptr_t aligned = (base + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
        if (aligned > base) munmap(d, aligned - base);
        if (size_t tail = kHugePage - (aligned - base)) munmap(reinterpret_cast<void*>(aligned + data_bytes_), tail);
        data_ = reinterpret_cast<uint8_t*>(aligned);
        (void)madvise(data_, data_bytes_, MADV_HUGEPAGE);          // THP 關閉時無效，不影響正確性
        if (madvise(data_, data_bytes_, MADV_POPULATE_WRITE) != 0) {
            if (errno != EINVAL) {                                  // ENOMEM 等：現在就說，不要之後被 OOM 殺掉
                int e = errno;
                release_memory();
                throw Failure(kExitRuntime, "緩衝池（" + std::to_string(data_bytes_ >> 20) + " MiB）配置失敗：" + errstr(e) +
                                     "；請用 --buf-count／--buf-size 縮小");
            }
            for (size_t off = 0; off < data_bytes_; off += 4096) data_[off] = 0;  // 5.14 以前沒有：自己逐頁碰
        }
    }
    void release_memory() {
        if (data_) munmap(data_, data_bytes_);
        if (br_) munmap(br_, ring_bytes_);
        data_ = nullptr;
        br_ = nullptr;
    }
    io_uring* ring_;
    io_uring_buf_ring* br_ = nullptr;
    uint8_t* data_ = nullptr;
    unsigned count_ = 0, size_ = 0;
    size_t ring_bytes_ = 0, data_bytes_ = 0;
    unsigned pending_ = 0;
    uint32_t tail_ = 0;            // 已經公開給核心的緩衝區總數（環的 tail）
    unsigned out_ = 0;             // 資料還在佇列裡的緩衝區數（不在核心手上、也不在堆疊裡）
    unsigned depth_ = 0;           // 環上最多幾個（--buf-depth；沒有時是整個池子）
    unsigned ring_max_ = 0;
    std::vector<uint16_t> free_;   // 空出來、還沒上環的緩衝區：堆疊，最近放回的在頂端
    bool inc_ = false;
    bool fixed_ = false;
    std::string note_;
    std::vector<uint16_t> refs_;   // 每個緩衝區被幾段排隊中的資料引用
    std::vector<uint32_t> used_;   // 遞增模式：核心已經用到哪裡
    std::vector<uint8_t> kernel_;  // 核心是否還握著它（在環上、或遞增模式下還沒用完）
    std::vector<uint16_t> at_;     // 環上每個位置放的是哪個緩衝區
    std::vector<uint32_t> pos_of_; // 每個緩衝區最後一次放在環上的位置
};
// >8 buf-ring

// 8< reap
// 一輪事件迴圈的骨架（TCP 伺服器、UDP 伺服器與負載客戶端共用）：一次系統呼叫提交這一輪所有 SQE、等至少一個 CQE
// （最多 100 ms，好檢查停止旗標），now 設成醒來的時間，把 CQE 逐一交給 handle，最後 CQ 只前進一次
// （handle 丟出例外時也一樣前進）。回傳 io_uring_submit_and_wait_timeout 的結果。
template <typename Handle>
int submit_and_reap(io_uring* ring, Clock::time_point& now, Handle&& handle) {
    __kernel_timespec ts{0, kWaitTimeoutNs};
    io_uring_cqe* cqe = nullptr;
    const int ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    now = Clock::now();
    struct Advance {
        io_uring* ring;
        unsigned seen = 0;
        ~Advance() { io_uring_cq_advance(ring, seen); }
    } advance{ring};
    unsigned head;
    io_uring_for_each_cqe(ring, head, cqe) {
        ++advance.seen;
        handle(cqe);
    }
    return ret;
}
// 逾時、被信號打斷、CQ 暫時滿（EBUSY）都是正常的；其他負值是真的錯誤
bool wait_failed(int ret) { return ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY; }
// >8 reap

// 這個程序用掉的 CPU 秒數（使用者 + 核心）：負載客戶端用它證明自己不是瓶頸
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// 提高檔案描述符上限到硬上限（幾千條連線需要）
void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// 8< listen
// 監聽 [::]:PORT（同時接受 IPv4 與 IPv6）；核心關掉 IPv6 時退回 0.0.0.0。type 是 SOCK_STREAM（TCP）或 SOCK_DGRAM（--udp）。
Fd make_listener(uint16_t port, bool reuseport, int type = SOCK_STREAM) {
    int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
    bool v6 = fd >= 0;
    if (!v6) fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Failure(kExitRuntime, "socket 失敗：" + errstr(errno));
    Fd sock(fd);
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (type == SOCK_DGRAM) {  // UDP：較大的 socket 緩衝區吸收突發（上限是 net.core.rmem_max／wmem_max）
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kUdpSockBuf, sizeof kUdpSockBuf);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kUdpSockBuf, sizeof kUdpSockBuf);
    }
    int ret;
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_any;
        a.sin6_port = htons(port);
        ret = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        a.sin_port = htons(port);
        ret = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (ret < 0) {
        int e = errno;
        if (e == EADDRINUSE) throw Failure(kExitRuntime, "埠 " + std::to_string(port) + " 已被使用（EADDRINUSE）。請換一個埠，或用 ss -" +
                                                  (type == SOCK_STREAM ? "ltnp" : "lunp") + " 'sport = :" + std::to_string(port) + "' 找出佔用者");
        if (e == EACCES) throw Failure(kExitNoDevice, "沒有權限監聽埠 " + std::to_string(port) + "（1024 以下的埠需要 root 或 CAP_NET_BIND_SERVICE）");
        throw Failure(kExitRuntime, "bind 埠 " + std::to_string(port) + " 失敗：" + errstr(e));
    }
    if (type == SOCK_STREAM && listen(fd, kListenBacklog) < 0) throw Failure(kExitRuntime, "listen 失敗：" + errstr(errno));
    return sock;
}
// >8 listen

// ============================================================================
// 伺服器
// ============================================================================

// 每執行緒的計數器：只有自己的執行緒寫，主執行緒每秒讀一次
struct alignas(64) ServerStats {
    std::atomic<uint64_t> accepted{0}, closed{0}, recv_cqes{0}, bytes_in{0}, bytes_out{0};
    std::atomic<uint64_t> enobufs{0}, paused{0}, emfile{0}, rejected{0}, resets{0};
    std::atomic<uint64_t> idle_closed{0}, spilled{0}, spilled_bytes{0};
    // 進階選項：--zc 的送出／通知／被複製／通知前就重用（必須是 0）、--bundle 的 CQE 與緩衝區、--napi 的連線
    std::atomic<uint64_t> zc_sends{0}, zc_notifs{0}, zc_copied{0}, zc_early_reuse{0}, zc_retry{0};
    std::atomic<uint64_t> bundle_cqes{0}, bundle_bufs{0}, napi_conns{0}, napi_none{0};
    // --udp：資料包（bytes_in／bytes_out／enobufs 與 TCP 共用）
    std::atomic<uint64_t> dgrams_in{0}, dgrams_out{0}, drops{0}, loop_drops{0}, trunc_drops{0}, send_errors{0};
};
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// 一條連線排隊等著回送的緩衝區（bid 與尚未送出的範圍）。bid = kSpillBid 表示資料已搬到連線自己的記憶體（Conn::spill）
struct Chunk { uint16_t bid; uint32_t off, len; };
constexpr uint16_t kSpillBid = 0xFFFF;
static_assert(kMaxBufCount <= kSpillBid, "緩衝區編號不能和 kSpillBid 重疊");

// 固定容量會不夠時才成長的環形佇列（成長極少發生，不在一般的熱路徑上配置記憶體）
class ChunkQueue {
public:
    ChunkQueue() : buf_(32) {}
    size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    Chunk& at(size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    Chunk& front() { return at(0); }
    Chunk& back() { return at(count_ - 1); }
    void pop() { head_ = (head_ + 1) & (buf_.size() - 1); --count_; }
    void push(Chunk c) {
        if (count_ == buf_.size()) [[unlikely]] grow();
        buf_[(head_ + count_) & (buf_.size() - 1)] = c;
        ++count_;
    }
private:
    void grow() {
        std::vector<Chunk> n(buf_.size() * 2);
        for (size_t i = 0; i < count_; ++i) n[i] = at(i);
        buf_.swap(n);
        head_ = 0;
    }
    std::vector<Chunk> buf_;
    size_t head_ = 0, count_ = 0;
};

struct Conn {
    int fd = -1;
    uint32_t gen = 0;
    unsigned inflight = 0;     // 還在核心裡的 recv/send 數；歸零才能關閉並重用槽位
    bool recv_armed = false;   // multishot recv 掛著
    bool recv_paused = false;  // 因背壓暫停（已送出 cancel 或等著恢復）
    bool starved = false;      // 因 ENOBUFS 等緩衝區
    bool send_inflight = false;
    bool dirty = false;        // 這一批有新資料，批次結束時送出
    bool eof = false;          // 對方已關閉寫入端
    bool closing = false;
    bool recv_lim = false;     // 掛著的 recv 帶著總量上限
    ChunkQueue queue;          // 等著回送的資料段，依序
    size_t held_bytes = 0;     // 佇列裡還沒送出的位元組數
    unsigned pins = 0;         // 佇列佔住幾個不同的緩衝區（相鄰同一 bid 的資料段算一個）
    Clock::time_point rx_at{}; // 最後一次收到資料（粗略：每輪迴圈取一次時間）
    Clock::time_point tx_at{}; // 最後一次送出進展，或佇列從空變成有資料的時候
    Clock::time_point starved_at{};  // 開始等緩衝區的時間（收到資料就清掉）
    std::vector<uint8_t> spill;      // 搬出緩衝池的資料（很少用到；送完就釋放）
    iovec iov[kMaxIov];
    msghdr msg{};
    uint64_t send_ud = 0;      // 在途 send 的 user_data（取消它時用）
    bool napi_checked = false; // --napi：看過這條連線有沒有 NAPI ID
};
// --zc：每次零複製送出一張票，記著它用到的緩衝區；通知 CQE 回來才放掉這些參考。
// 每條連線 kZcTickets 張，放在 Server::zc_tickets_（用 --zc 才配置，不讓每個 Conn 變大）
// awaiting：送出的 CQE 帶了 F_MORE（之後一定還有通知）、通知還沒到——這時放掉票就是太早（zc_early_reuse）
struct ZcTicket { uint16_t bids[kMaxIov]; uint8_t n = 0; bool busy = false, awaiting = false; };

// 進階選項實際生效的狀態（要求了但核心不支援時是 false，原因在 notes()）
struct Features { bool zc = false, fixed = false, fixed_bufs = false, bundle = false, napi = false; };

class Server {
public:
    Server(const ServerConfig& cfg, ServerStats& stats, bool reuseport)
        : cfg_(cfg), stats_(stats), listener_(make_listener(cfg.port, reuseport)), ring_(cfg.sqpoll),
          bufs_(ring_.get(), sizing(kServerInc, cfg), sizing(kServerClassic, cfg), cfg.inc, cfg.buf_depth),
          reserve_(bufs_.count() / kReserveDiv), shared_(bufs_.count() - reserve_) { setup_features(); }

    const char* mode() const { return ring_.mode(); }
    const BufRing& bufs() const { return bufs_; }
    const std::string& fallback_note() const { return ring_.fallback_note(); }
    const std::vector<std::string>& notes() const { return notes_; }
    Features features() const { return feat_; }
    bool mshot_lim() const { return mshot_lim_; }

    void run();

private:
    // ---- 提交
    void setup_features();
    // --fixed：連線的 fd 是固定檔案表的索引，每個對它的 SQE 都要帶 IOSQE_FIXED_FILE
    void on_fd(io_uring_sqe* s) const { if (feat_.fixed) s->flags |= IOSQE_FIXED_FILE; }
    void arm_accept() {
        io_uring_sqe* s = ring_.sqe();
        if (feat_.fixed) io_uring_prep_multishot_accept_direct(s, listener_.get(), nullptr, nullptr, 0);  // 直接描述符不能帶 SOCK_CLOEXEC
        else io_uring_prep_multishot_accept(s, listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(s, pack(Op::Accept, 0, 0));
        accept_armed_ = true;
        accept_paused_ = false;
    }
    // 8< arm-recv
    void arm_recv(uint32_t slot, Conn& c) {
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
        on_fd(s);
        s->flags |= IOSQE_BUFFER_SELECT;  // 由核心從 buffer ring 挑緩衝區
        s->buf_group = kBufGroup;
        // 這個 multishot 總共最多收剩下的額度（sqe->optlen，與 file_index 同一個欄位；6.17+）：收滿就自己結束（CQE 沒有 F_MORE）。
        // 否則取消生效前一次喚醒最多還能連收 32 段：遞增模式下一段可以是整個 32 KiB 緩衝區（每條連線多 1 MiB），
        // 很多條卡住的連線加起來就能吃進保留區。傳統模式一段就是一個小緩衝區，只有回送卡住（佇列超過 kHeldPause
        // 沒有進展）的連線才設上限：回送順暢的連線收滿就停、要等佇列送完才重掛，收與送不再重疊（2000 條連線
        // 時吞吐量少一半、有些連線 3 秒拿不到回應，測試 io_uring.classic_2000c）。但緩衝池已經吃進保留區時一律帶：
        // 剛從等緩衝區的隊伍輪到、socket 裡積了很多資料的連線，一次喚醒就能拿走 32 個緩衝區（io_uring.slow_reader）。
        // 舊核心回 EINVAL，見 on_recv。
        // --bundle：一個 CQE 最多帶 kMaxIov 個緩衝區（sqe->len 是每次的上限，同樣 6.17+；沒有它一次可以拿 256 個）
        const bool total = mshot_lim_ && (bufs_.incremental() || tx_stuck(c) || bufs_.available() < reserve_);
        if (total) s->file_index = uint32_t(std::max<size_t>(held_bytes_limit() - std::min(c.held_bytes, held_bytes_limit()), 1));
        if (feat_.bundle) {
            s->ioprio |= kRecvSendBundle;
            if (mshot_lim_) s->len = kMaxIov * bufs_.size();
        }
        c.recv_lim = total || (feat_.bundle && mshot_lim_);
        io_uring_sqe_set_data64(s, pack(Op::Recv, slot, c.gen));
        c.recv_armed = true;
        c.recv_paused = false;
        c.starved = false;
        ++c.inflight;
    }
    // >8 arm-recv
    // 8< send
    // 送出佇列前端的緩衝區；一個就用 send，多個就用 sendmsg 一次送出（最多 kMaxIov 個）。
    // 同一連線同時只有一個 send 在途，位元組順序才不會亂。--zc 時改走 send_zc（搬出緩衝池的資料除外）。
    void kick_send(uint32_t slot, Conn& c, bool allow_zc = true) {
        if (c.send_inflight || c.queue.empty() || c.closing) return;
        const size_t n = std::min<size_t>(c.queue.size(), kMaxIov);
        if (feat_.zc && allow_zc && !has_spill(c, n)) { send_zc(slot, c, n); return; }
        io_uring_sqe* s = ring_.sqe();
        prep_send(s, c, n, false);
        c.send_ud = pack(Op::Send, slot, c.gen);
        io_uring_sqe_set_data64(s, c.send_ud);
        c.send_inflight = true;
        ++c.inflight;
    }
    void prep_send(io_uring_sqe* s, Conn& c, size_t n, bool zc) {
        if (n == 1) {
            Chunk& ch = c.queue.front();
            uint8_t* p = chunk_ptr(c, ch);
            if (!zc) io_uring_prep_send(s, c.fd, p, ch.len, MSG_NOSIGNAL);
            else if (feat_.fixed_bufs) io_uring_prep_send_zc_fixed(s, c.fd, p, ch.len, MSG_NOSIGNAL, kSendZcReportUsage, 0);
            else io_uring_prep_send_zc(s, c.fd, p, ch.len, MSG_NOSIGNAL, kSendZcReportUsage);
        } else {
            for (size_t i = 0; i < n; ++i) {
                Chunk& ch = c.queue.at(i);
                c.iov[i] = {chunk_ptr(c, ch), ch.len};
            }
            c.msg.msg_iov = c.iov;
            c.msg.msg_iovlen = n;
            if (zc) {
                io_uring_prep_sendmsg_zc(s, c.fd, &c.msg, MSG_NOSIGNAL);
                s->ioprio |= kSendZcReportUsage;
            } else {
                io_uring_prep_sendmsg(s, c.fd, &c.msg, MSG_NOSIGNAL);
            }
        }
        on_fd(s);
    }
    bool has_spill(Conn& c, size_t n) {
        for (size_t i = 0; i < n; ++i) if (c.queue.at(i).bid == kSpillBid) return true;
        return false;
    }
    // >8 send
    // 8< send-zc
    // 零複製送出：核心直接從我們的緩衝區把頁面掛到 skb 上，送出的 CQE（帶 F_MORE）回來時資料可能還沒離開。
    // 等第二個 CQE（IORING_CQE_F_NOTIF）才代表核心不再碰這些頁面。所以每次送出拿一張票（票號放在 user_data），
    // 票替它用到的每個緩衝區多握一個參考；通知回來才放掉——送出的 CQE 照常處理位元組與佇列（下一次送出不必等通知），
    // 緩衝區卻要等參考全部放掉才回到 buffer ring。票用完（kZcTickets 次都在等通知）就等一張回來再送。
    [[gnu::noinline]] void send_zc(uint32_t slot, Conn& c, size_t n) {
        unsigned t = 0;
        ZcTicket* tickets = zc_tickets(slot);
        while (t < kZcTickets && tickets[t].busy) ++t;
        if (t == kZcTickets) return;  // on_send_zc 收到通知時再呼叫 kick_send
        ZcTicket& tk = tickets[t];
        tk.busy = true;
        tk.awaiting = false;
        tk.n = 0;
        for (size_t i = 0; i < n; ++i) {
            const uint16_t bid = c.queue.at(i).bid;
            bufs_.ref(bid);
            ++zc_hold_[bid];
            tk.bids[tk.n++] = bid;
        }
        io_uring_sqe* s = ring_.sqe();
        prep_send(s, c, n, true);
        c.send_ud = pack(Op::SendZc, slot, c.gen, t);
        io_uring_sqe_set_data64(s, c.send_ud);
        c.send_inflight = true;
        c.inflight += 2;  // 送出的結果 + 之後的通知：兩個都回來才能關閉連線
    }
    // 一條連線的 kZcTickets 張票（連線槽位變多時才把表加大）
    ZcTicket* zc_tickets(uint32_t slot) {
        if (zc_tickets_.size() < conns_.size() * kZcTickets) zc_tickets_.resize(conns_.size() * kZcTickets);
        return &zc_tickets_[size_t(slot) * kZcTickets];
    }
    // 放掉票的參考。只在核心不再碰這些緩衝區時呼叫：通知回來了，或根本不會有通知（zc_done）。
    void release_ticket(ZcTicket& tk) {
        if (tk.awaiting) [[unlikely]] bump(stats_.zc_early_reuse);   // 核心說過還會通知，通知卻還沒到
        for (unsigned i = 0; i < tk.n; ++i) bufs_.unref(tk.bids[i]);
        tk.busy = false;
    }
    // 核心說它用完了這張票的緩衝區。zc_hold_ 和參考分開記（只在這裡減），release() 才能獨立檢查
    // 「緩衝區回到環上時沒有送出還在等通知」；在送出的 CQE 就放掉票（不論經過 zc_done 或 release_ticket）則由
    // release_ticket 看 awaiting 抓到：兩種都記在 zc_early_reuse。
    void zc_done(ZcTicket& tk) {
        for (unsigned i = 0; i < tk.n; ++i) --zc_hold_[tk.bids[i]];
        release_ticket(tk);
    }
    // >8 send-zc
    // 8< backpressure
    // 緩衝池分成兩部分：共用區（3/4）按連線數公平分配，保留區（1/4，reserve_）留給沒有資料卡著的連線。
    // 一條連線佔住的緩衝區數（pins：遞增模式下相鄰、同一個緩衝區的資料段只算一個，一小段也佔住整個緩衝區）
    // 與位元組數有上限（kHeldPerConn、kHeldBytesPerConn），連線多時按共用區公平分配（至少 kHeldMin 個、
    // kHeldBytesMin），到上限就暫停它的 recv；共用區用完時，回送卡住的連線都暫停。取消 recv 是非同步的，
    // 取消生效前 multishot 可能多拿幾個緩衝區，公平分配加起來也可能超過共用區（連線數 > 共用區 / kHeldMin），
    // 所以保留區還是可能被吃掉：那時由 check_reserve 把卡住的資料搬出緩衝池。
    unsigned held_limit() const {
        return std::clamp(shared_ / std::max(live_, 1u), kHeldMin, kHeldPerConn);
    }
    size_t held_bytes_limit() const {
        return std::clamp(size_t(shared_) * bufs_.size() / std::max(live_, 1u), kHeldBytesMin, kHeldBytesPerConn);
    }
    // 回送卡住：佇列裡有資料，而且超過 kHeldPause 沒有送出進展
    bool tx_stuck(const Conn& c) const { return !c.queue.empty() && now_ - c.tx_at >= kHeldPause; }
    // 核心手上的緩衝區少於保留區時，回送卡住的連線一律暫停：保留區只給回送順暢的連線
    bool over_limit(const Conn& c) const {
        return c.pins >= held_limit() || c.held_bytes >= held_bytes_limit() || c.queue.size() >= kHeldChunks ||
               (c.pins > 0 && bufs_.available() < reserve_ && tx_stuck(c));
    }
    // 背壓解除：暫停中的 recv 在佇列送到剩四分之一以下時重新掛上
    void maybe_resume(uint32_t slot, Conn& c) {
        if (c.recv_paused && !c.recv_armed && !c.eof && !c.closing && c.pins <= held_limit() / 4 &&
            c.held_bytes <= held_bytes_limit() / 4)
            arm_recv(slot, c);
    }
    // >8 backpressure
    uint8_t* chunk_ptr(Conn& c, const Chunk& ch) {
        return (ch.bid == kSpillBid ? c.spill.data() : bufs_.ptr(ch.bid)) + ch.off;
    }
    // 一段資料處理完：放掉它對緩衝區的參考（批次結束時才一起公開給核心）；搬出去的資料就釋放那塊記憶體
    void release(Conn& c, uint16_t bid) {
        if (bid == kSpillBid) [[unlikely]] { std::vector<uint8_t>().swap(c.spill); return; }
        // 檢查 --zc 的規則：還有送出在等通知的緩衝區不可能回到環上（zc_early_reuse 必須是 0）
        if (bufs_.unref(bid) && feat_.zc && zc_hold_[bid]) [[unlikely]] bump(stats_.zc_early_reuse);
        --held_;
    }
    static BufSizing sizing(BufSizing dflt, const ServerConfig& cfg) {
        return {cfg.buf_size ? cfg.buf_size : dflt.size, cfg.buf_count ? cfg.buf_count : dflt.count};
    }
    void cancel(uint64_t target) {
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_cancel64(s, target, 0);
        io_uring_sqe_set_data64(s, pack(Op::Cancel, 0, 0));
    }
    // 關閉與 shutdown：--fixed 時 fd 只是固定檔案表的索引，要用 SQE（close_direct、帶 FIXED_FILE 的 shutdown）
    void close_fd(int fd) {
        if (!feat_.fixed) { ::close(fd); return; }
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_close_direct(s, unsigned(fd));
        io_uring_sqe_set_data64(s, pack(Op::Close, 0, 0));
        s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    }
    void shutdown_fd(int fd) {
        if (!feat_.fixed) { ::shutdown(fd, SHUT_RDWR); return; }
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_shutdown(s, fd, SHUT_RDWR);
        on_fd(s);
        io_uring_sqe_set_data64(s, pack(Op::Close, 0, 0));
        s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    }
    void check_napi(Conn& c);
    [[gnu::noinline]] void queue_bundle(Conn& c, const io_uring_cqe* cqe) {  // 不內聯：預設路徑不帶著 3 KiB 的堆疊
        BufRing::Slice sl[kBundleMax];
        const unsigned n = bufs_.take_bundle(cqe, sl);
        for (unsigned i = 0; i < n; ++i) {
            if (c.queue.empty() || c.queue.back().bid != sl[i].bid) ++c.pins;
            c.queue.push({sl[i].bid, sl[i].off, sl[i].len});
        }
        held_ += n;
        bump(stats_.bundle_cqes);
        bump(stats_.bundle_bufs, n);
    }

    // ---- 完成事件處理
    void dispatch(const io_uring_cqe* cqe);
    void on_accept(const io_uring_cqe* cqe);
    void on_recv(uint32_t slot, Conn& c, const io_uring_cqe* cqe);
    void on_send(uint32_t slot, Conn& c, int res);
    void on_send_zc(uint32_t slot, Conn& c, const io_uring_cqe* cqe);

    // ---- 連線生命週期
    uint32_t alloc_slot(int fd);
    void start_close(Conn& c);
    void maybe_finish(uint32_t slot, Conn& c);
    void begin_shutdown();
    void tick();
    void close_idle();
    void check_reserve();
    void spill_out(Conn& c);
    void rearm_starved(unsigned returned);

    const ServerConfig& cfg_;
    ServerStats& stats_;
    Fd listener_;
    Ring ring_;
    BufRing bufs_;
    unsigned reserve_;               // 保留區：卡住的連線不能拿走的緩衝區數
    unsigned shared_;                // 共用區 = 緩衝池 - 保留區，按連線數公平分配
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<uint32_t> free_slots_;
    std::vector<uint32_t> dirty_;    // 這一批收到資料、待送出的連線
    std::vector<uint32_t> starved_;  // 等緩衝區的連線（ENOBUFS），先來先掛
    size_t starved_head_ = 0;
    unsigned live_ = 0;
    unsigned held_ = 0;              // 所有連線佔住的緩衝區總數
    bool accept_armed_ = false, accept_paused_ = false, stopping_ = false, emfile_said_ = false;
    Clock::time_point accept_paused_at_{};
    Clock::time_point last_starved_retry_{};
    Clock::time_point now_ = Clock::now();  // 每輪迴圈取一次，連線的時間戳都用它（粗略、便宜）
    Clock::time_point next_tick_{};
    std::vector<uint32_t> victims_;  // check_reserve 用：卡住的連線
    bool mshot_lim_ = true;          // multishot recv 的總量上限（IORING_RECV_MSHOT_LIM）可用；第一次 EINVAL 就關掉
    Features feat_;                  // 進階選項實際生效的狀態
    std::vector<std::string> notes_; // 進階選項退回的原因（第一個執行緒印出）
    std::vector<uint16_t> zc_hold_;  // --zc：每個緩衝區有幾次送出還在等通知
    std::vector<ZcTicket> zc_tickets_;  // --zc：每條連線 kZcTickets 張票（槽位 × kZcTickets）
};

// 8< features
// 進階選項：逐一向核心確認，不支援就記下原因、用預設的做法（不讓 --zc 之類的選項在舊核心上變成錯誤）
void Server::setup_features() {
    if (cfg_.bundle) {
        feat_.bundle = ring_.has_feature(kFeatRecvSendBundle);
        if (!feat_.bundle) notes_.push_back("核心不支援 recv bundle（IORING_FEAT_RECVSEND_BUNDLE，6.10+），--bundle 不起作用：每個 CQE 一個緩衝區");
    }
    if (cfg_.zc) {
        feat_.zc = ring_.supports(IORING_OP_SEND_ZC) && ring_.supports(IORING_OP_SENDMSG_ZC);
        if (!feat_.zc) notes_.push_back("核心不支援零複製送出（IORING_OP_SEND_ZC／SENDMSG_ZC，6.1+），--zc 不起作用：照常複製");
        zc_hold_.assign(bufs_.count(), 0);
    }
    if (cfg_.fixed) {
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        const unsigned slots = unsigned(std::min<rlim_t>(rlim_t(cfg_.max_conns) + kFixedSpare, rl.rlim_cur));
        const int ret = io_uring_register_files_sparse(ring_.get(), slots);
        feat_.fixed = ret == 0;
        if (!feat_.fixed) {
            notes_.push_back("固定檔案表（" + std::to_string(slots) + " 格）註冊失敗：" + errstr(-ret) + "，--fixed 退回一般的檔案描述符");
        } else {
            // 直接描述符沒有 fd 可以 setsockopt：在監聽 socket 上設 TCP_NODELAY，新連線會繼承
            int one = 1;
            setsockopt(listener_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const std::string why = bufs_.register_fixed();
            feat_.fixed_bufs = why.empty();
            if (!why.empty()) notes_.push_back(why);
        }
    }
    feat_.napi = ring_.register_napi(cfg_.napi_usec, notes_);
}

// --napi：第一次收到資料時看這條連線有沒有 NAPI ID（SO_INCOMING_NAPI_ID；0 = 沒有，例如 loopback），
// 結束時的 [摘要] 說有幾條連線適用 busy poll。--fixed 時沒有 fd 可以問，不檢查。
void Server::check_napi(Conn& c) {
    c.napi_checked = true;
    if (feat_.fixed) return;
    unsigned id = 0;
    socklen_t len = sizeof id;
    if (getsockopt(c.fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &len) == 0) bump(id ? stats_.napi_conns : stats_.napi_none);
}
// >8 features

uint32_t Server::alloc_slot(int fd) {
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = uint32_t(conns_.size());
        conns_.push_back(std::make_unique<Conn>());
    }
    Conn& c = *conns_[slot];
    c.fd = fd;
    c.inflight = 0;
    c.recv_armed = c.recv_paused = c.starved = c.send_inflight = c.dirty = c.eof = c.closing = c.napi_checked = false;
    c.held_bytes = 0;
    c.pins = 0;
    c.rx_at = c.tx_at = now_;
    c.starved_at = {};
    ++live_;
    return slot;
}

// 8< accept
void Server::on_accept(const io_uring_cqe* cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) accept_armed_ = false;  // multishot 結束了，下面決定何時重掛
    int res = cqe->res;
    if (res >= 0) {
        if (stopping_ || live_ >= cfg_.max_conns) {
            close_fd(res);
            bump(stats_.rejected);
        } else {
            int one = 1;
            if (!feat_.fixed) setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            uint32_t slot = alloc_slot(res);
            arm_recv(slot, *conns_[slot]);
            bump(stats_.accepted);
        }
    } else if (res == -EMFILE || res == -ENFILE) {
        // 檔案描述符用完：說一次，繼續服務既有連線；有連線關閉或 100 ms 後再 accept。
        // 新連線留在核心的 listen backlog 裡等著，不會被拒絕。
        bump(stats_.emfile);
        if (!emfile_said_) {
            printf("[警告] 檔案描述符用盡（%s），暫停接受新連線；既有連線照常服務，有連線關閉後自動恢復\n",
                   res == -EMFILE ? "EMFILE：已達 ulimit -n" : feat_.fixed ? "ENFILE：固定檔案表已滿" : "ENFILE：已達系統上限");
            emfile_said_ = true;
        }
        accept_paused_ = true;
        accept_paused_at_ = Clock::now();
        return;
    } else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
        printf("[警告] accept 失敗：%s\n", strerror(-res));
    }
    if (!accept_armed_ && !stopping_ && !accept_paused_) arm_accept();
}
// >8 accept

// 8< recv
void Server::on_recv(uint32_t slot, Conn& c, const io_uring_cqe* cqe) {
    const bool more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) { c.recv_armed = false; --c.inflight; }
    const int res = cqe->res;
    if (res > 0) [[likely]] {
        if (c.queue.empty()) c.tx_at = now_;  // 從這時起等著送出
        if (feat_.bundle) {
            queue_bundle(c, cqe);             // 一個 CQE 好幾個緩衝區
        } else {
            const BufRing::Slice sl = bufs_.take(cqe);
            if (c.queue.empty() || c.queue.back().bid != sl.bid) ++c.pins;
            c.queue.push({sl.bid, sl.off, sl.len});
            ++held_;
        }
        c.held_bytes += uint32_t(res);
        c.rx_at = now_;
        c.starved_at = {};
        bump(stats_.recv_cqes);
        if (feat_.napi && !c.napi_checked) [[unlikely]] check_napi(c);
        bump(stats_.bytes_in, uint64_t(res));
        if (c.closing) {        // 收尾中：緩衝區等 maybe_finish 統一放回；multishot 的最後一個 CQE 要記得關閉
            if (!more) maybe_finish(slot, c);
            return;
        }
        if (!c.dirty) { c.dirty = true; dirty_.push_back(slot); }
        // 背壓：佔住的緩衝區到上限就暫停 recv，等送出去再恢復
        if (over_limit(c) && !c.recv_paused) {
            c.recv_paused = true;
            bump(stats_.paused);
            if (more) cancel(pack(Op::Recv, slot, c.gen));
        }
        if (!more && !c.recv_paused) arm_recv(slot, c);  // multishot 自己結束了（例如 CQ 滿）：重掛
        return;
    }
    if (res == 0) {                       // 對方關閉寫入端：送完手上的資料再關
        c.eof = true;
        maybe_finish(slot, c);
    } else if (res == -ENOBUFS) {         // 緩衝池空了：等有緩衝區放回時再掛
        bump(stats_.enobufs);
        if (c.closing) maybe_finish(slot, c);  // 收尾中的連線不再等緩衝區：這是它最後一個在途操作的話就關閉
        else if (!c.starved) {
            c.starved = true;
            starved_.push_back(slot);
            if (c.starved_at == Clock::time_point{}) c.starved_at = now_;
        }
    } else if (res == -EINVAL && c.recv_lim) [[unlikely]] {  // 核心不認得 multishot 的總量上限：不用它重掛
        mshot_lim_ = false;
        if (!c.closing) arm_recv(slot, c);
        else maybe_finish(slot, c);
    } else if (res == -ECANCELED) {       // 我們為了背壓（或收尾）取消的
        maybe_resume(slot, c);            // 取消生效前佇列可能已經送完
        maybe_finish(slot, c);
    } else {                              // ECONNRESET 等：對方不見了
        bump(stats_.resets);
        start_close(c);
        maybe_finish(slot, c);
    }
}
// >8 recv

// 8< send-complete
void Server::on_send(uint32_t slot, Conn& c, int res) {
    c.send_inflight = false;
    --c.inflight;
    if (res == -ECANCELED && !c.closing) [[unlikely]] {  // check_reserve 為了把資料搬出緩衝池而取消的
        spill_out(c);
        kick_send(slot, c);
        return;
    }
    if (res < 0) [[unlikely]] {            // EPIPE、ECONNRESET：對方不見了
        if (res != -ECANCELED) bump(stats_.resets);
        start_close(c);
        maybe_finish(slot, c);
        return;
    }
    bump(stats_.bytes_out, uint64_t(res));
    c.held_bytes -= size_t(res);
    if (res > 0) c.tx_at = now_;
    // 依序扣掉送出的位元組；整個送完的緩衝區放回 buffer ring，送一半的（short send）記下位移
    uint32_t left = uint32_t(res);
    while (left > 0 && !c.queue.empty()) {
        Chunk& ch = c.queue.front();
        if (left >= ch.len) {
            left -= ch.len;
            const uint16_t bid = ch.bid;
            release(c, bid);
            c.queue.pop();
            if (bid != kSpillBid && (c.queue.empty() || c.queue.front().bid != bid)) --c.pins;
        } else {
            ch.off += left;
            ch.len -= left;
            left = 0;
        }
    }
    if (!c.queue.empty()) kick_send(slot, c);
    maybe_resume(slot, c);
    maybe_finish(slot, c);
}
// >8 send-complete

// 8< send-zc-complete
// --zc 的兩種 CQE：送出的結果（和 on_send 一樣處理位元組；帶 F_MORE 表示之後還有通知）與通知（F_NOTIF：放掉票）。
// REPORT_USAGE 讓通知的 res 說核心最後有沒有複製（接收端在本機時一定複製：loopback、veth）。
void Server::on_send_zc(uint32_t slot, Conn& c, const io_uring_cqe* cqe) {
    ZcTicket& tk = zc_tickets(slot)[aux_of(cqe->user_data)];
    if (cqe->flags & IORING_CQE_F_NOTIF) {
        tk.awaiting = false;   // 通知到了：之後才可以放掉票
        bump(stats_.zc_notifs);
        if (uint32_t(cqe->res) & kNotifUsageZcCopied) bump(stats_.zc_copied);
        zc_done(tk);
        --c.inflight;
        kick_send(slot, c);   // 也許正在等一張票
        maybe_finish(slot, c);
        return;
    }
    if (cqe->flags & IORING_CQE_F_MORE) { tk.awaiting = true; bump(stats_.zc_sends); }
    else { zc_done(tk); --c.inflight; }  // 不會有通知（送出前就失敗了）
    const int res = cqe->res;
    if (res == -EOPNOTSUPP || res == -ENOMEM || res == -ENOBUFS) [[unlikely]] {
        // 這個 socket 不支援零複製，或核心暫時配不到通知的記憶體：這一次照常複製送出（資料還在佇列裡）
        bump(stats_.zc_retry);
        c.send_inflight = false;
        --c.inflight;
        kick_send(slot, c, false);
        return;
    }
    on_send(slot, c, res);
}
// >8 send-zc-complete

// 開始關閉：shutdown 讓在途的 recv/send 立刻完成，之後在 maybe_finish 裡真正 close
void Server::start_close(Conn& c) {
    if (c.closing) return;
    c.closing = true;
    shutdown_fd(c.fd);
}

// 沒有任何在途操作時才關閉 fd、放回緩衝區並重用槽位
void Server::maybe_finish(uint32_t slot, Conn& c) {
    if (!c.closing) {
        if (!c.eof || !c.queue.empty() || c.send_inflight) return;
        start_close(c);  // EOF 而且都送完了
    }
    if (c.inflight != 0) return;
    while (!c.queue.empty()) { release(c, c.queue.front().bid); c.queue.pop(); }
    c.held_bytes = 0;
    c.pins = 0;
    close_fd(c.fd);
    c.fd = -1;
    c.gen = (c.gen + 1) & kGenMask;
    free_slots_.push_back(slot);
    --live_;
    bump(stats_.closed);
    if (accept_paused_ && !stopping_) arm_accept();  // 釋出了一個 fd：恢復 accept
}

void Server::begin_shutdown() {
    stopping_ = true;
    if (accept_armed_) cancel(pack(Op::Accept, 0, 0));
    for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
        Conn& c = *conns_[slot];
        if (c.fd >= 0) { start_close(c); maybe_finish(slot, c); }
    }
}

// 8< idle-reserve
// 每 kTick 一次：閒置逾時與保留區。兩者都只看每條連線的粗略時間戳，不替每條連線掛計時器。
void Server::tick() {
    if (now_ < next_tick_ || stopping_) return;
    next_tick_ = now_ + kTick;
    if (cfg_.idle_timeout) close_idle();
    check_reserve();
}

// 雙向都沒有進展超過 --idle-timeout 秒：關閉（包括回送一直送不出去、recv 又被暫停的連線）
void Server::close_idle() {
    const auto limit = std::chrono::seconds(cfg_.idle_timeout);
    for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
        Conn& c = *conns_[slot];
        if (c.fd < 0 || c.closing || now_ - std::max(c.rx_at, c.tx_at) < limit) continue;
        bump(stats_.idle_closed);
        start_close(c);
        maybe_finish(slot, c);
    }
}

// 保留區的保證：核心手上的緩衝區少於 reserve_，而且有一條什麼都沒佔的連線（有在讀、資料都送完了）
// 等緩衝區超過 kStarveLimit，表示卡住的連線（回送超過 kHeldSpillAfter 沒有進展）吃進了保留區、緩衝池不再周轉。
// 這時把卡住的連線中佔最多、卡最久的資料搬出緩衝池（spill_out），搬到佔住的緩衝區數補得回保留區為止；
// 遞增模式下一個緩衝區裝著好幾條連線的資料，要每條都搬走它才回得來，所以下一次檢查若還不夠就再搬一批。
// 不關閉任何連線、不丟任何位元組；搬出去的量受每條連線的上限限制（它在送完之前一直是暫停的）。
// 公平分配平常就讓這件事很少發生（看摘要的 spilled=）。
void Server::check_reserve() {
    const unsigned avail = bufs_.available();
    if (avail >= reserve_) return;
    bool starving = false;
    victims_.clear();
    for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
        const Conn& c = *conns_[slot];
        if (c.fd < 0 || c.closing) continue;
        if (c.pins == 0 && c.starved_at != Clock::time_point{} && now_ - c.starved_at >= kStarveLimit) starving = true;
        if (c.pins > 0 && now_ - c.tx_at >= kHeldSpillAfter) victims_.push_back(slot);
    }
    if (!starving) return;
    std::sort(victims_.begin(), victims_.end(), [&](uint32_t a, uint32_t b) {
        const Conn &ca = *conns_[a], &cb = *conns_[b];
        return ca.pins != cb.pins ? ca.pins > cb.pins : ca.tx_at < cb.tx_at;
    });
    long need = long(reserve_) - long(avail);
    for (uint32_t slot : victims_) {
        if (need <= 0) break;
        Conn& c = *conns_[slot];
        need -= long(c.pins);
        if (c.send_inflight) {
            cancel(c.send_ud);  // 送出中的 SQE 指著緩衝池：取消後在 on_send 裡搬
        } else {
            spill_out(c);
            kick_send(slot, c);
        }
    }
}

// 把一條連線排隊中的資料複製到它自己的記憶體、放回佔住的緩衝區。送出中的 SQE 還指著緩衝池時不能搬。
void Server::spill_out(Conn& c) {
    if (c.pins == 0 || c.send_inflight) return;
    std::vector<uint8_t> out;
    out.reserve(c.held_bytes);
    while (!c.queue.empty()) {
        const Chunk ch = c.queue.front();
        const uint8_t* p = chunk_ptr(c, ch);
        out.insert(out.end(), p, p + ch.len);
        release(c, ch.bid);
        c.queue.pop();
    }
    c.spill = std::move(out);
    c.queue.push({kSpillBid, 0, uint32_t(c.spill.size())});
    c.pins = 0;
    bump(stats_.spilled);
    bump(stats_.spilled_bytes, c.spill.size());
}
// >8 idle-reserve

// 8< enobufs
// 緩衝池空了（ENOBUFS）的連線排隊等緩衝區。放回多少緩衝區，就依序重新掛上足以用掉它們的連線；
// 緩衝區全部都在核心手上時全部重掛，所以不會有連線被遺忘。要看的是池子，不是「沒有連線佔著」（held_ == 0）：
// --zc 時緩衝區可能全被等通知的票握著，held_ 卻是 0。那時每一輪都把全部連線重掛、每個都立刻 ENOBUFS，CQ 永遠有東西，
// 迴圈不再等待——DEFER_TASKRUN 的 task work（通知就在裡面）只在等待時才跑，於是通知永遠不來（io_uring.zc_2000c_classic）。
void Server::rearm_starved(unsigned returned) {
    long budget = (bufs_.available() == bufs_.count()) ? long(bufs_.count()) : long(returned);
    if (budget > 0 && starved_head_ < starved_.size()) last_starved_retry_ = Clock::now();
    const long cost = held_limit();
    while (budget > 0 && starved_head_ < starved_.size()) {
        uint32_t slot = starved_[starved_head_++];
        Conn& c = *conns_[slot];
        if (!c.starved || c.closing || c.recv_armed) continue;
        c.starved = false;
        if (over_limit(c)) { c.recv_paused = true; continue; }  // 送完時由 maybe_resume 接手
        arm_recv(slot, c);
        budget -= cost;
    }
    if (starved_head_ == starved_.size()) { starved_.clear(); starved_head_ = 0; }
}
// >8 enobufs

// 8< event-loop
// 一個完成事件交給它的處理函式
void Server::dispatch(const io_uring_cqe* cqe) {
    const uint64_t ud = io_uring_cqe_get_data64(cqe);
    switch (op_of(ud)) {
    case Op::Accept: on_accept(cqe); break;
    case Op::Recv:
    case Op::Send:
    case Op::SendZc: {
        Conn& c = *conns_[slot_of(ud)];
        if (gen_of(ud) != c.gen) [[unlikely]] break;  // 不該發生：在途操作歸零前槽位不會重用
        if (op_of(ud) == Op::Recv) on_recv(slot_of(ud), c, cqe);
        else if (op_of(ud) == Op::Send) on_send(slot_of(ud), c, cqe->res);
        else on_send_zc(slot_of(ud), c, cqe);
        break;
    }
    default: break;  // Cancel 的結果不需要處理
    }
}

void Server::run() {
    arm_accept();
    Clock::time_point deadline{};
    while (true) {
        if (g_stop.load(std::memory_order_relaxed) && !stopping_) {
            begin_shutdown();
            deadline = Clock::now() + kShutdownGrace;
        }
        if (stopping_ && ((live_ == 0 && !accept_armed_) || Clock::now() > deadline)) break;

        // 一次系統呼叫提交這一輪所有 SQE、成批收割完成事件（submit_and_reap，錨點 `reap`）
        const int ret = submit_and_reap(ring_.get(), now_, [this](const io_uring_cqe* cqe) { dispatch(cqe); });
        if (wait_failed(ret)) [[unlikely]] {
            printf("[錯誤] io_uring_submit_and_wait 失敗：%s\n", strerror(-ret));
            break;
        }

        // 這一批收到資料的連線：每條只送一次（多段資料合併成一次 sendmsg）
        for (uint32_t slot : dirty_) {
            Conn& c = *conns_[slot];
            c.dirty = false;
            kick_send(slot, c);
        }
        dirty_.clear();

        // 保險：若有連線等緩衝區太久（例如佔著緩衝區的都是送不出去的連線），定時全部重試一次
        unsigned returned = bufs_.publish();
        if (!starved_.empty() && Clock::now() - last_starved_retry_ > kStarvedRetry) returned = bufs_.count();
        rearm_starved(returned);
        if (accept_paused_ && !stopping_ && Clock::now() - accept_paused_at_ > kAcceptRetry) arm_accept();
        tick();
    }
    // 寬限時間到還沒關完的連線，直接關閉（ring 解構時核心會取消在途操作、關掉固定檔案表裡的連線）
    for (auto& c : conns_) if (c->fd >= 0) { if (!feat_.fixed) ::close(c->fd); c->fd = -1; }
}
// >8 event-loop

// ============================================================================
// UDP 伺服器（--udp）
// ============================================================================
// 8< udp
// 一個 multishot recvmsg SQE 接收所有資料包。每個資料包在它的 provided buffer 裡的樣子是
//   io_uring_recvmsg_out（16 B）| 來源位址（namelen，保留 sizeof(sockaddr_in6)）| 控制資料（這裡 0 B）| 資料
// 回送直接用這個緩衝區：sendmsg 的 msg_name 指著緩衝區裡的來源位址、iovec 指著資料，不複製。
// 每個資料包一個 sendmsg SQE，這一輪收到的全部在下一次 io_uring_enter 一起提交（批次送出）；
// 緩衝區在它的 sendmsg 完成之後才放回環上（核心送出之前還在讀它）。UDP 沒有連線，也就沒有背壓與保留區：
// 緩衝池用完（ENOBUFS）時，資料包留在 socket 的接收佇列裡，等 sendmsg 完成放回緩衝區再重新掛上。
// 防 echo 迴圈：來源埠等於自己的埠（另一台 echo 伺服器）或 0 的資料包不回答，計入 loop_drops。
constexpr BufSizing kUdpSizing{2048, 4096};  // 2 KiB 裝得下 16 B 標頭 + 28 B 位址 + 1472 B（乙太網路 MTU 的最大 UDP 資料）

class UdpServer {
public:
    UdpServer(const ServerConfig& cfg, ServerStats& stats, bool reuseport)
        : cfg_(cfg), stats_(stats), sock_(make_listener(cfg.port, reuseport, SOCK_DGRAM)), ring_(cfg.sqpoll),
          bufs_(ring_.get(), sizing(), sizing(), false, cfg.buf_depth), tx_(bufs_.count()) {
        rx_msg_.msg_namelen = sizeof(sockaddr_in6);  // 每個緩衝區替來源位址保留的空間
        feat_.napi = ring_.register_napi(cfg.napi_usec, notes_);  // --napi 和 TCP 伺服器一樣（ring 層級）
    }
    const char* mode() const { return ring_.mode(); }
    const BufRing& bufs() const { return bufs_; }
    const std::string& fallback_note() const { return ring_.fallback_note(); }
    const std::vector<std::string>& notes() const { return notes_; }
    Features features() const { return feat_; }
    bool mshot_lim() const { return true; }
    void run();

private:
    struct Tx { msghdr msg; iovec iov; };  // 一個緩衝區的 sendmsg 參數（每個緩衝區同時只有一個資料包）

    BufSizing sizing() const {
        return {cfg_.buf_size ? cfg_.buf_size : kUdpSizing.size, cfg_.buf_count ? cfg_.buf_count : kUdpSizing.count};
    }
    void arm_recv() {
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_recvmsg_multishot(s, sock_.get(), &rx_msg_, 0);
        s->flags |= IOSQE_BUFFER_SELECT;  // 由核心從 buffer ring 挑緩衝區
        s->buf_group = kBufGroup;
        io_uring_sqe_set_data64(s, pack(Op::Recv, 0, 0));
        recv_armed_ = true;
        starved_ = false;
    }
    void on_recv(const io_uring_cqe* cqe);
    void echo(uint16_t bid, io_uring_recvmsg_out* out, int res);
    void on_send(uint16_t bid, int res);
    void drop(uint16_t bid, std::atomic<uint64_t>& why) {
        bump(why);
        bump(stats_.drops);
        bufs_.unref(bid);
    }

    const ServerConfig& cfg_;
    ServerStats& stats_;
    Features feat_;
    std::vector<std::string> notes_;
    Fd sock_;
    Ring ring_;
    BufRing bufs_;
    std::vector<Tx> tx_;          // 以緩衝區編號（bid）索引
    msghdr rx_msg_{};             // multishot recvmsg 的樣板：只有 namelen／controllen 有意義
    unsigned sends_inflight_ = 0;
    bool recv_armed_ = false, starved_ = false, stopping_ = false, error_said_ = false;
    Clock::time_point now_ = Clock::now();
};

void UdpServer::on_recv(const io_uring_cqe* cqe) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) recv_armed_ = false;  // multishot 結束了：事件迴圈決定何時重掛
    const int res = cqe->res;
    if (res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) [[likely]] {
        const BufRing::Slice sl = bufs_.take(cqe);
        auto* out = io_uring_recvmsg_validate(bufs_.ptr(sl.bid), res, &rx_msg_);
        bump(stats_.dgrams_in);
        // 資料包比緩衝區大（MSG_TRUNC）或位址放不下：不回答半個資料包
        if (!out || (out->flags & MSG_TRUNC) || out->namelen > rx_msg_.msg_namelen) [[unlikely]] drop(sl.bid, stats_.trunc_drops);
        else echo(sl.bid, out, res);
    } else if (res == -ENOBUFS) {   // 緩衝池空了：等 sendmsg 完成放回緩衝區再掛（資料包在 socket 佇列裡等著）
        bump(stats_.enobufs);
        starved_ = true;
    } else if (res < 0 && res != -ECANCELED && res != -EINTR && !error_said_) {
        printf("[警告] recvmsg 失敗：%s（之後的同類錯誤不再顯示）\n", strerror(-res));
        error_said_ = true;
    }
}

// 把一個資料包原樣送回它的來源：一個 sendmsg SQE，位址與資料都還在收到它的緩衝區裡
void UdpServer::echo(uint16_t bid, io_uring_recvmsg_out* out, int res) {
    void* name = io_uring_recvmsg_name(out);
    uint16_t sport_be = 0;  // sockaddr_in 與 sockaddr_in6 的埠在同一個位置
    static_assert(offsetof(sockaddr_in, sin_port) == offsetof(sockaddr_in6, sin6_port));
    memcpy(&sport_be, static_cast<uint8_t*>(name) + offsetof(sockaddr_in, sin_port), sizeof sport_be);
    const unsigned len = io_uring_recvmsg_payload_length(out, res, &rx_msg_);
    bump(stats_.bytes_in, len);
    if (ntohs(sport_be) == cfg_.port || sport_be == 0) { drop(bid, stats_.loop_drops); return; }  // 防 echo 迴圈
    Tx& tx = tx_[bid];
    tx.iov = {io_uring_recvmsg_payload(out, &rx_msg_), len};
    tx.msg = {};
    tx.msg.msg_name = name;
    tx.msg.msg_namelen = out->namelen;
    tx.msg.msg_iov = &tx.iov;
    tx.msg.msg_iovlen = 1;
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_sendmsg(s, sock_.get(), &tx.msg, 0);
    io_uring_sqe_set_data64(s, pack(Op::Send, bid, 0));
    ++sends_inflight_;
}

void UdpServer::on_send(uint16_t bid, int res) {
    --sends_inflight_;
    if (res >= 0) {
        bump(stats_.dgrams_out);
        bump(stats_.bytes_out, uint64_t(res));
    } else {
        bump(stats_.send_errors);  // 例如 ENETUNREACH、EPERM（防火牆）：這個資料包不回了
        bump(stats_.drops);
    }
    bufs_.unref(bid);              // 送完才放回：核心送出前還在讀這個緩衝區
}

void UdpServer::run() {
    arm_recv();
    Clock::time_point deadline{};
    while (true) {
        if (g_stop.load(std::memory_order_relaxed) && !stopping_) {
            stopping_ = true;  // 不再收；已經排入的回送送完再結束
            if (recv_armed_) {
                io_uring_sqe* s = ring_.sqe();
                io_uring_prep_cancel64(s, pack(Op::Recv, 0, 0), 0);
                io_uring_sqe_set_data64(s, pack(Op::Cancel, 0, 0));
            }
            deadline = now_ + kShutdownGrace;
        }
        if (stopping_ && ((!recv_armed_ && sends_inflight_ == 0) || now_ > deadline)) break;
        const int ret = submit_and_reap(ring_.get(), now_, [this](const io_uring_cqe* cqe) {
            const uint64_t ud = io_uring_cqe_get_data64(cqe);
            if (op_of(ud) == Op::Recv) on_recv(cqe);
            else if (op_of(ud) == Op::Send) on_send(uint16_t(slot_of(ud)), cqe->res);
        });
        if (wait_failed(ret)) [[unlikely]] {
            printf("[錯誤] io_uring_submit_and_wait 失敗：%s\n", strerror(-ret));
            break;
        }
        bufs_.publish();  // 這一輪送完的緩衝區一次公開給核心
        if (!recv_armed_ && !stopping_ && (!starved_ || bufs_.available() > 0)) arm_recv();
    }
}
// >8 udp

// ============================================================================
// 執行緒、統計與摘要：每個執行緒一個 ring（TCP 與 UDP 伺服器共用）
// ============================================================================
// 8< server-main
// 工作執行緒共用的狀態。解構時先設停止旗標、再等每個執行緒結束，所以不管 run_server 怎麼離開（包括例外），
// std::thread 都不會在還能 join 時被解構（那會呼叫 std::terminate）。
struct Workers {
    const ServerConfig& cfg;
    std::vector<ServerStats> stats;
    std::vector<std::optional<Failure>> errors;
    std::atomic<unsigned> ready{0};
    std::atomic<bool> mshot_lim{true};  // 每個執行緒的 multishot 總量上限都可用
    std::string mode, pool, bufmode = "-";  // 第一個執行緒填
    unsigned buf_depth = 0;                 // 第一個執行緒填：環上最多幾個緩衝區
    std::string depth_note;                 // 有 --buf-depth 時 [就緒] 多說一句
    std::atomic<unsigned> buf_ring_max{0};  // 每個執行緒結束時填：各自的環上最多到過幾個，取最大
    Features feat;                          // 第一個執行緒填：進階選項實際生效的狀態
    std::vector<std::thread> threads;
    explicit Workers(const ServerConfig& c) : cfg(c), stats(c.threads), errors(c.threads) {}
    ~Workers() {
        g_stop.store(true);
        for (auto& t : threads) if (t.joinable()) t.join();
    }
    uint64_t sum(std::atomic<uint64_t> ServerStats::*member) const {
        uint64_t s = 0;
        for (auto& st : stats) s += (st.*member).load(std::memory_order_relaxed);
        return s;
    }
};

// 一個工作執行緒：SINGLE_ISSUER 的 ring 必須在使用它的執行緒裡建立。接住所有例外：記下來、叫其他執行緒停下，
// 由主執行緒收尾後以結束碼說明（不讓例外跑出執行緒而 std::terminate）。
template <typename S>
void worker_main(Workers& w, unsigned t) {
    try {
        S srv(w.cfg, w.stats[t], w.cfg.threads > 1);
        if (t == 0) {
            if (!srv.fallback_note().empty()) printf("[說明] %s\n", srv.fallback_note().c_str());
            if (!srv.bufs().note().empty()) printf("[說明] %s\n", srv.bufs().note().c_str());
            for (const std::string& n : srv.notes()) printf("[說明] %s\n", n.c_str());
            w.feat = srv.features();
            w.mode = srv.mode();
            w.pool = std::string(srv.bufs().incremental() ? "遞增消耗" : "傳統") + " " +
                     std::to_string(srv.bufs().count()) + " × " + std::to_string(srv.bufs().size()) + " bytes";
            w.bufmode = srv.bufs().mode();
            w.buf_depth = srv.bufs().depth();
            if (w.buf_depth < srv.bufs().count()) w.depth_note = "，環上最多 " + std::to_string(w.buf_depth) + " 個";
        }
        w.ready.fetch_add(1);
        srv.run();
        for (unsigned m = w.buf_ring_max.load(); m < srv.bufs().ring_max() && !w.buf_ring_max.compare_exchange_weak(m, srv.bufs().ring_max());) {}
        if (!srv.mshot_lim()) w.mshot_lim.store(false);
    } catch (const Failure& f) {
        w.errors[t] = f;
    } catch (const std::exception& e) {
        w.errors[t] = Failure(kExitRuntime, "執行緒 " + std::to_string(t) + " 發生例外：" + e.what());
    } catch (...) {
        w.errors[t] = Failure(kExitRuntime, "執行緒 " + std::to_string(t) + " 發生不明例外");
    }
    if (w.errors[t]) {
        w.ready.fetch_add(1);  // 失敗在就緒之前或之後都算一次（就緒之後多加不影響等待）
        g_stop.store(true);
    }
}

// 啟動執行緒並等它們就緒。工作執行緒擋住 SIGINT/SIGTERM，只由主執行緒接收；它們每 100 ms 檢查一次停止旗標
template <typename S>
void start_workers(Workers& w) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (unsigned t = 0; t < w.cfg.threads; ++t) {
        try {
            w.threads.emplace_back(worker_main<S>, std::ref(w), t);
        } catch (const std::system_error& e) {
            // 執行緒建不起來（位址空間或執行緒數的限制）：已經啟動的執行緒由 ~Workers 收尾
            pthread_sigmask(SIG_SETMASK, &old, nullptr);
            g_stop.store(true);
            throw Failure(kExitRuntime, "建立第 " + std::to_string(t + 1) + " 個執行緒失敗：" + e.what() +
                                            "（ulimit -v／ulimit -u 太小？或減少 --threads）");
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    while (w.ready.load() < w.cfg.threads && !g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// 主執行緒：每秒加總各執行緒的計數器印一行 [統計]，直到收到停止信號
void print_stats_until_stop(const Workers& w) {
    const bool udp = w.cfg.udp;
    auto next = Clock::now() + std::chrono::seconds(1);
    uint64_t last_in = 0, last_cqes = 0, last_acc = 0, last_out = 0;
    while (!g_stop.load()) {
        std::this_thread::sleep_until(std::min(next, Clock::now() + std::chrono::milliseconds(50)));
        if (Clock::now() < next) continue;
        next += std::chrono::seconds(1);
        const uint64_t in = w.sum(&ServerStats::bytes_in), enobufs = w.sum(&ServerStats::enobufs);
        if (udp) {
            const uint64_t rx = w.sum(&ServerStats::dgrams_in), tx = w.sum(&ServerStats::dgrams_out);
            printf("[統計] 資料包 收 %" PRIu64 "/s  送 %" PRIu64 "/s  %.2f MB/s  丟棄 %" PRIu64 "  ENOBUFS %" PRIu64 "\n",
                   rx - last_cqes, tx - last_out, double(in - last_in) / 1e6, w.sum(&ServerStats::drops), enobufs);
            last_cqes = rx;
            last_out = tx;
        } else {
            const uint64_t cq = w.sum(&ServerStats::recv_cqes), acc = w.sum(&ServerStats::accepted);
            printf("[統計] 連線 %" PRIu64 "（新 %" PRIu64 "/s）  接收 %" PRIu64 " 次/s  %.2f MB/s  ENOBUFS %" PRIu64 "  背壓暫停 %" PRIu64 "\n",
                   acc - w.sum(&ServerStats::closed), acc - last_acc, cq - last_cqes, double(in - last_in) / 1e6, enobufs,
                   w.sum(&ServerStats::paused));
            last_cqes = cq;
            last_acc = acc;
        }
        last_in = in;
    }
}

// 結束時說清楚進階選項在這台機器上實際做了什麼（不隱藏「其實複製了」或「不適用」）
void explain_features(const Workers& w) {
    using S = ServerStats;
    const uint64_t sends = w.sum(&S::zc_sends), copied = w.sum(&S::zc_copied);
    if (w.feat.zc && sends)
        printf("[說明] --zc：%" PRIu64 " 次零複製送出，核心其中 %" PRIu64 " 次還是複製了（%.0f%%）。接收端在同一台機器上（loopback、veth）時"
               "資料一定要複製給它；只有資料真的離開網卡時才省得掉\n", sends, copied, 100.0 * double(copied) / double(sends));
    if (w.feat.bundle && w.sum(&S::bundle_cqes))
        printf("[說明] --bundle：%" PRIu64 " 個 recv CQE 帶了 %" PRIu64 " 個緩衝區（平均 %.2f 個）\n", w.sum(&S::bundle_cqes),
               w.sum(&S::bundle_bufs), double(w.sum(&S::bundle_bufs)) / double(w.sum(&S::bundle_cqes)));
    if (w.feat.napi && w.sum(&S::napi_none))
        printf("[說明] --napi：%" PRIu64 " 條連線有 NAPI ID（busy poll 適用），%" PRIu64 " 條沒有（loopback 沒有 NAPI：busy poll 在那些連線上不適用）\n",
               w.sum(&S::napi_conns), w.sum(&S::napi_none));
}

// 結束時的 [摘要]：key 是穩定的 ASCII，測試解析它們
void print_summary(const Workers& w, double secs) {
    using S = ServerStats;
    Summary sum;
    if (w.cfg.udp) {
        sum.add("proto", "udp").add("rx_dgrams", w.sum(&S::dgrams_in)).add("tx_dgrams", w.sum(&S::dgrams_out))
            .add("bytes", w.sum(&S::bytes_in)).add("bytes_out", w.sum(&S::bytes_out)).add("drops", w.sum(&S::drops))
            .add("loop_drops", w.sum(&S::loop_drops)).add("trunc_drops", w.sum(&S::trunc_drops))
            .add("send_errors", w.sum(&S::send_errors)).add("enobufs", w.sum(&S::enobufs)).add("seconds", secs, 2)
            .add("threads", w.cfg.threads).add("mode", w.mode).add("bufs", w.bufmode);
    } else {
        sum.add("conns", w.sum(&S::accepted)).add("messages", w.sum(&S::recv_cqes)).add("bytes", w.sum(&S::bytes_in))
            .add("bytes_out", w.sum(&S::bytes_out)).add("seconds", secs, 2).add("threads", w.cfg.threads)
            .add("mode", w.mode).add("bufs", w.bufmode).add("enobufs", w.sum(&S::enobufs)).add("paused", w.sum(&S::paused))
            .add("emfile", w.sum(&S::emfile)).add("rejected", w.sum(&S::rejected)).add("resets", w.sum(&S::resets))
            .add("idle_closed", w.sum(&S::idle_closed)).add("spilled", w.sum(&S::spilled))
            .add("spilled_bytes", w.sum(&S::spilled_bytes)).add("idle_timeout", w.cfg.idle_timeout)
            .add("mshot_lim", w.mshot_lim.load())
            .add("zc", w.feat.zc).add("zc_sends", w.sum(&S::zc_sends)).add("zc_notifs", w.sum(&S::zc_notifs))
            .add("zc_copied", w.sum(&S::zc_copied)).add("zc_early_reuse", w.sum(&S::zc_early_reuse)).add("zc_retry", w.sum(&S::zc_retry))
            .add("fixed", w.feat.fixed).add("fixed_bufs", w.feat.fixed_bufs)
            .add("bundle", w.feat.bundle).add("bundle_cqes", w.sum(&S::bundle_cqes)).add("bundle_bufs", w.sum(&S::bundle_bufs));
        explain_features(w);
    }
    sum.add("napi_usec", w.feat.napi ? w.cfg.napi_usec : 0u).add("napi_conns", w.sum(&S::napi_conns)).add("napi_none", w.sum(&S::napi_none));
    sum.add("buf_depth", w.buf_depth).add("buf_ring_max", w.buf_ring_max.load());
    sum.print();
}

int run_server(const ServerConfig& cfg) {
    Workers w(cfg);
    if (cfg.udp) start_workers<UdpServer>(w);
    else start_workers<Server>(w);
    if (!g_stop.load())
        printf("[就緒] io_uring %secho 伺服器監聽 %s 埠 %u（執行緒 %u，ring 模式 %s，緩衝池 %s/執行緒%s）\n",
               cfg.udp ? "UDP " : "", cfg.udp ? "UDP" : "TCP", cfg.port, cfg.threads, w.mode.c_str(), w.pool.c_str(),
               w.depth_note.c_str());
    const auto t0 = Clock::now();
    print_stats_until_stop(w);
    for (auto& t : w.threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& e : w.errors) {
        if (!e) continue;
        fprintf(stderr, "錯誤：%s\n", e->what());
        return e->code;
    }
    print_summary(w, secs);
    return kExitOk;
}
// >8 server-main

int run_bench(const BenchConfig& cfg);  // 第二部分（檔案後半）：負載客戶端

}  // namespace

// ============================================================================
// main：安裝停止旗標、解析、設定、執行、摘要
// ============================================================================
int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    install_stop_handler();
    try {
        const Config cfg = parse_args(std::span<char*>(argv + 1, size_t(argc - 1)));
        if (cfg.help) { print_usage(stdout); return kExitOk; }
        raise_fd_limit();                               // 幾千條連線需要
        if (cfg.bench) return run_bench(cfg.client);    // 負載客戶端（檔案後半）
        return run_server(cfg.server);                  // TCP 或 --udp 的 echo 伺服器
    } catch (const Failure& f) {
        fprintf(stderr, "錯誤：%s\n", f.what());
        if (f.code == kExitUsage) { fputc('\n', stderr); print_usage(stderr); }
        return f.code;
    } catch (const std::exception& e) {
        fprintf(stderr, "錯誤：%s\n", e.what());
        return kExitRuntime;
    } catch (...) {
        fprintf(stderr, "錯誤：發生不明例外\n");
        return kExitRuntime;
    }
}

// ############################################################################
// 第二部分：負載客戶端（io_uring_async bench HOST PORT …）
//
// 和 io_uring 的教學無關的量測工具：測試與 ./run_tests.sh -p 用它產生 TCP 負載、驗證每個回送的位元組、
// 量延遲。它也是一個 io_uring 程式（multishot recv、provided buffer ring、同一個 submit_and_reap），
// 但讀者只想看伺服器時可以在這裡停下。
// ############################################################################
namespace {

// 客戶端收到資料就驗證並立刻放回緩衝區，緩衝池只要撐過一批 CQE
constexpr BufSizing kClientInc{65536, 512};
constexpr BufSizing kClientClassic{16384, 2048};
static_assert(kClientInc.size <= kMaxSendChunk && kClientClassic.size <= kMaxSendChunk,
              "驗證時一次比對的長度不能超過樣式表的延伸區");

// 驗證用的資料：一張偽亂數表，連線 c 的第 o 個位元組是 table[(start_c + o) % kPatternPeriod]。
// 表後面延伸 kMaxSendChunk 個位元組，所以任何一段都能用一次 memcmp / send 處理。
class Pattern {
public:
    Pattern() : t_(kPatternPeriod + kMaxSendChunk) {
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < t_.size(); ++i) {
            if (i >= kPatternPeriod) { t_[i] = t_[i - kPatternPeriod]; continue; }  // 延伸區重複開頭
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;  // xorshift32
            t_[i] = uint8_t(x);
        }
    }
    const uint8_t* at(uint32_t start, uint64_t off) const { return t_.data() + (start + off) % kPatternPeriod; }
private:
    std::vector<uint8_t> t_;
};

// 延遲直方圖（對數線性）：1024 µs 以下每 1 µs 一格；以上每個 2 的冪次區間分 64 格（誤差 < 1.6%）
class Histogram {
public:
    Histogram() : h_(kHistLinear + 64 * kHistSub) {}
    void add(uint64_t ns) {
        uint64_t us = ns / 1000;
        max_us_ = std::max(max_us_, us);
        ++h_[index(us)];
        ++n_;
    }
    double pct(double p) const {
        if (n_ == 0) return 0;
        uint64_t want = uint64_t(p * double(n_) + 0.999999), acc = 0;
        for (size_t i = 0; i < h_.size(); ++i) {
            acc += h_[i];
            if (acc >= want) return double(std::min(lower(i), max_us_));
        }
        return double(max_us_);
    }
    uint64_t max_us() const { return max_us_; }
private:
    static constexpr uint64_t kHistLinear = 1024, kHistSub = 64;
    static size_t index(uint64_t us) {
        if (us < kHistLinear) return size_t(us);
        int k = 63 - __builtin_clzll(us);  // us 落在 [2^k, 2^(k+1))，k ≥ 10
        return size_t(kHistLinear + uint64_t(k - 10) * kHistSub + ((us >> (k - 6)) & (kHistSub - 1)));
    }
    static uint64_t lower(size_t i) {
        if (i < kHistLinear) return i;
        uint64_t k = (i - kHistLinear) / kHistSub + 10, sub = (i - kHistLinear) % kHistSub;
        return (uint64_t(1) << k) + (sub << (k - 6));
    }
    std::vector<uint64_t> h_;
    uint64_t n_ = 0, max_us_ = 0;
};

struct ClientConn {
    int fd = -1;
    uint32_t start = 0;          // 這條連線在樣式表裡的起點
    bool connected = false, failed = false, done = false, send_inflight = false, recv_armed = false;
    bool stuck = false;          // 量測結束後在途訊息沒有在時限內回來
    uint64_t queued = 0;         // 已排入要送的位元組（= 訊息數 × size）
    uint64_t sent = 0;           // 已送出
    uint64_t received = 0;       // 已收到並驗證
    uint64_t completed = 0;      // 完整收回的訊息數
    uint64_t completed_in_window = 0;
    uint64_t received_at_start = 0, received_at_end = 0;  // 量測窗口開始與結束時已收到的位元組
    std::vector<Clock::time_point> ts;  // 每則在途訊息排入的時間，環狀，長度 = depth
};

class BenchClient {
public:
    explicit BenchClient(const BenchConfig& cfg)
        : cfg_(cfg), ring_(false), bufs_(ring_.get(), kClientInc, kClientClassic, true), conns_(cfg.conns) {}
    int run();

private:
    void fail_conn(uint32_t i, const std::string& why) {
        ClientConn& c = conns_[i];
        if (c.failed) return;
        c.failed = true;
        ++errors_;
        if (errors_ <= 5) printf("[錯誤] 連線 %u：%s\n", i, why.c_str());
        if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);
    }
    void start_connect(uint32_t i);
    void queue_messages(ClientConn& c, unsigned n, Clock::time_point now) {
        for (unsigned k = 0; k < n; ++k) {
            uint64_t msg = c.queued / cfg_.size;
            c.ts[msg % cfg_.depth] = now;
            c.queued += cfg_.size;
        }
    }
    void kick_send(uint32_t i) {
        ClientConn& c = conns_[i];
        if (c.send_inflight || c.failed || c.sent == c.queued) return;
        uint32_t len = uint32_t(std::min<uint64_t>(c.queued - c.sent, kMaxSendChunk));
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_send(s, c.fd, pattern_.at(c.start, c.sent), len, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(s, pack(Op::Send, i, 0));
        c.send_inflight = true;
        ++inflight_;
    }
    void arm_recv(uint32_t i) {
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_recv_multishot(s, conns_[i].fd, nullptr, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = kBufGroup;
        io_uring_sqe_set_data64(s, pack(Op::Recv, i, 0));
        conns_[i].recv_armed = true;
        ++inflight_;
    }
    void connect_all();
    void measure();
    void begin_drain(Clock::time_point now);
    bool drained(Clock::time_point now);
    int summarize();
    void on_cqe(const io_uring_cqe* cqe, Clock::time_point now);
    void on_recv(uint32_t i, const io_uring_cqe* cqe, Clock::time_point now);
    void print_second(double t);

    const BenchConfig& cfg_;
    Ring ring_;
    BufRing bufs_;
    Pattern pattern_;
    Histogram hist_;
    std::vector<ClientConn> conns_;
    std::vector<uint32_t> starved_;
    sockaddr_storage addr_{};
    socklen_t addrlen_ = 0;
    uint64_t errors_ = 0, inflight_ = 0;
    bool measuring_ = false, draining_ = false;
    uint64_t window_msgs_ = 0, second_msgs_ = 0;
    Clock::time_point t0_{}, drain_deadline_{};
    double cpu0_ = 0, cpu_window_ = 0, elapsed_ = 0;
};

void BenchClient::start_connect(uint32_t i) {
    int fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Failure(kExitRuntime, "socket 失敗：" + errstr(errno) + "（連線數超過 ulimit -n？）");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns_[i].fd = fd;
    conns_[i].start = uint32_t((uint64_t(i) * 40503u) % kPatternPeriod);
    conns_[i].ts.resize(cfg_.depth);
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_connect(s, fd, reinterpret_cast<sockaddr*>(&addr_), addrlen_);
    io_uring_sqe_set_data64(s, pack(Op::Connect, i, 0));
    ++inflight_;
}

// 8< bench-verify
void BenchClient::on_recv(uint32_t i, const io_uring_cqe* cqe, Clock::time_point now) {
    ClientConn& c = conns_[i];
    if (!(cqe->flags & IORING_CQE_F_MORE)) { c.recv_armed = false; --inflight_; }
    int res = cqe->res;
    if (res > 0) {
        const BufRing::Slice sl = bufs_.take(cqe);
        const uint8_t* data = bufs_.ptr(sl.bid) + sl.off;
        // 每個回送的位元組都要和送出的一樣：比對樣式表中同一位置
        if (c.received + uint64_t(res) > c.queued) {
            fail_conn(i, "收到的位元組比送出的多（" + std::to_string(c.received + res) + " > " + std::to_string(c.queued) + "）");
        } else if (memcmp(data, pattern_.at(c.start, c.received), size_t(res)) != 0) {
            size_t k = 0;
            while (data[k] == pattern_.at(c.start, c.received)[k]) ++k;
            fail_conn(i, "第 " + std::to_string(c.received + k) + " 個位元組內容不符");
        } else {
            c.received += uint64_t(res);
            // 收齊一則訊息就記延遲，並補上一則（維持 depth 則在途）
            while (c.received >= (c.completed + 1) * cfg_.size) {
                if (measuring_) {
                    hist_.add(uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.ts[c.completed % cfg_.depth]).count()));
                    ++c.completed_in_window;
                    ++window_msgs_;
                }
                ++second_msgs_;
                ++c.completed;
                if (!draining_) queue_messages(c, 1, now);
            }
            kick_send(i);
            if (draining_ && c.received == c.queued && !c.done) { c.done = true; shutdown(c.fd, SHUT_WR); }
        }
        bufs_.unref(sl.bid);
        if (!c.recv_armed && !c.failed && !c.done) arm_recv(i);
    } else if (res == -ENOBUFS) {
        starved_.push_back(i);
    } else if (res == 0) {
        if (!c.done && !c.failed) fail_conn(i, "伺服器提早關閉連線（還有 " + std::to_string(c.queued - c.received) + " 個位元組沒回來）");
    } else if (!c.failed) {
        fail_conn(i, std::string("recv 失敗：") + strerror(-res));
    }
}
// >8 bench-verify

// 解析位址，然後建立所有連線（最多 kMaxConnecting 個同時進行）
void BenchClient::connect_all() {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    const std::string port = std::to_string(cfg_.port);
    if (int e = getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res); e != 0)
        throw Failure(kExitUsage, "無法解析主機「" + cfg_.host + "」：" + gai_strerror(e));
    memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addrlen_ = res->ai_addrlen;
    freeaddrinfo(res);

    uint32_t next = 0, connected = 0;
    const auto t_conn = Clock::now();
    Clock::time_point now;
    while (connected < cfg_.conns) {
        while (next < cfg_.conns && next - connected < kMaxConnecting) start_connect(next++);
        submit_and_reap(ring_.get(), now, [&](const io_uring_cqe* cqe) {
            --inflight_;
            const uint32_t i = slot_of(io_uring_cqe_get_data64(cqe));
            if (cqe->res < 0) {
                std::string why = strerror(-cqe->res);
                if (cqe->res == -ECONNREFUSED) why += "：" + cfg_.host + ":" + port + " 沒有伺服器在監聽";
                throw Failure(kExitRuntime, "連線 " + std::to_string(i) + " 失敗：" + why);
            }
            conns_[i].connected = true;
            ++connected;
        });
        if (g_stop.load()) throw Failure(kExitRuntime, "建立連線時被中斷");
        if (now - t_conn > kConnectTimeout)
            throw Failure(kExitRuntime, "建立連線逾時：" + std::to_string(kConnectTimeout.count()) + " 秒內只連上 " +
                                            std::to_string(connected) + "/" + std::to_string(cfg_.conns) + " 條");
    }
}

// 量測結束：不再排新訊息，等在途的都回來
void BenchClient::begin_drain(Clock::time_point now) {
    measuring_ = false;
    draining_ = true;
    elapsed_ = std::chrono::duration<double>(now - t0_).count();
    cpu_window_ = cpu_seconds() - cpu0_;
    drain_deadline_ = now + kDrainTimeout;
    for (uint32_t i = 0; i < cfg_.conns; ++i) {
        ClientConn& c = conns_[i];
        c.received_at_end = c.received;
        if (!c.failed && c.received == c.queued) { c.done = true; shutdown(c.fd, SHUT_WR); }
    }
}

// 卡住的連線在客戶端這一端的 TCP 狀態（TCP_INFO）。核心在 TCP 記憶體壓力下（超過 net.ipv4.tcp_mem）丟掉收到的段，
// 重送的 RTO 指數退避到好幾秒：那是核心在等，不是伺服器。只看得到這一端；回送方向的退避在伺服器那端的 socket 上。
std::string tcp_retransmit_note(int fd) {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || (ti.tcpi_backoff == 0 && ti.tcpi_retransmits == 0)) return "";
    return "；這一端的 TCP 正在重送：退避 " + std::to_string(ti.tcpi_backoff) + " 次、RTO " + std::to_string(ti.tcpi_rto / 1000) +
           " ms、未確認 " + std::to_string(ti.tcpi_unacked) + " 段（核心丟了段：TCP 記憶體 net.ipv4.tcp_mem 不夠？）";
}

// 收尾階段是否結束：全部回來了，或時限到了（沒回來的連線算卡住）
bool BenchClient::drained(Clock::time_point now) {
    bool all = inflight_ == 0;
    for (auto& c : conns_) all = all && (c.done || c.failed);
    if (all) return true;
    if (now <= drain_deadline_) return false;
    for (uint32_t i = 0; i < cfg_.conns; ++i)
        if (!conns_[i].done && (conns_[i].stuck = true))
            fail_conn(i, "量測結束後 " + std::to_string(kDrainTimeout.count()) + " 秒仍有訊息沒回來（連線卡住" +
                             tcp_retransmit_note(conns_[i].fd) + "）");
    return true;
}

void BenchClient::on_cqe(const io_uring_cqe* cqe, Clock::time_point now) {
    const uint64_t ud = io_uring_cqe_get_data64(cqe);
    const uint32_t i = slot_of(ud);
    if (op_of(ud) == Op::Recv) {
        on_recv(i, cqe, now);
    } else if (op_of(ud) == Op::Send) {
        ClientConn& c = conns_[i];
        c.send_inflight = false;
        --inflight_;
        if (cqe->res < 0) {
            if (!c.done) fail_conn(i, std::string("send 失敗：") + strerror(-cqe->res));
        } else {
            c.sent += uint64_t(cqe->res);  // short send：下一次從這裡接著送
            kick_send(i);
        }
    }
}

// 每條連線先排入 depth 則訊息，然後跑量測迴圈直到收尾結束
void BenchClient::measure() {
    t0_ = Clock::now();
    cpu0_ = cpu_seconds();
    for (uint32_t i = 0; i < cfg_.conns; ++i) {
        queue_messages(conns_[i], cfg_.depth, t0_);
        arm_recv(i);
        kick_send(i);
    }
    measuring_ = true;
    const auto t_end = t0_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg_.duration));
    auto next_tick = t0_ + std::chrono::seconds(1);
    Clock::time_point now = t0_;
    while (true) {
        if (!draining_ && (now >= t_end || g_stop.load(std::memory_order_relaxed))) begin_drain(now);
        if (draining_ && drained(now)) break;
        if (!cfg_.quiet && measuring_ && now >= next_tick) {
            print_second(std::chrono::duration<double>(now - t0_).count());
            next_tick += std::chrono::seconds(1);
        }
        submit_and_reap(ring_.get(), now, [&](const io_uring_cqe* cqe) { on_cqe(cqe, now); });
        // 客戶端收到資料就放回緩衝區，所以每一批結束時緩衝池都有空：等緩衝區的連線一律重掛
        bufs_.publish();
        for (uint32_t i : starved_) if (!conns_[i].recv_armed && !conns_[i].failed) arm_recv(i);
        starved_.clear();
    }
}

// 摘要。卡住的連線 = 量測期間一個位元組都沒收回來，或結束後在途訊息沒有全部回來
int BenchClient::summarize() {
    uint64_t active = 0, stalled = 0, min_msgs = UINT64_MAX;
    for (auto& c : conns_) {
        if (!c.failed) ++active;
        if (c.stuck || c.received_at_end == c.received_at_start) ++stalled;
        min_msgs = std::min(min_msgs, c.completed_in_window);
        if (c.fd >= 0) ::close(c.fd);
    }
    const double rps = double(window_msgs_) / elapsed_;
    Summary()
        .add("req_per_s", rps, 0).add("mb_per_s", rps * cfg_.size / 1e6, 2)
        .add("p50_us", hist_.pct(0.50), 0).add("p99_us", hist_.pct(0.99), 0).add("p999_us", hist_.pct(0.999), 0)
        .add("max_us", hist_.max_us()).add("errors", errors_).add("conns", cfg_.conns).add("conns_active", active)
        .add("conns_stalled", stalled).add("min_conn_msgs", min_msgs).add("messages", window_msgs_)
        .add("size", cfg_.size).add("depth", cfg_.depth).add("seconds", elapsed_, 2)
        .add("cpu_pct", cpu_window_ / elapsed_ * 100, 0)
        .print();
    return errors_ == 0 ? kExitOk : kExitRuntime;
}

int BenchClient::run() {
    connect_all();
    printf("[就緒] 已建立 %u 條連線，開始量測 %.1f 秒（size=%u depth=%u，ring=%s）\n", cfg_.conns,
           cfg_.duration, cfg_.size, cfg_.depth, ring_.mode());
    measure();
    return summarize();
}

void BenchClient::print_second(double t) {
    unsigned active = 0;
    for (auto& c : conns_) active += !c.failed;
    printf("[統計] %4.0f 秒  %9" PRIu64 " 請求/秒  %8.2f MB/s  連線 %u/%u  錯誤 %" PRIu64 "\n", t, second_msgs_,
           double(second_msgs_) * cfg_.size / 1e6, active, cfg_.conns, errors_);
    second_msgs_ = 0;
}

int run_bench(const BenchConfig& cfg) {
    BenchClient client(cfg);
    return client.run();
}

}  // namespace
