// rdma_communication.cpp — RDMA 通訊範例：librdmacm 建立連線，libibverbs 搬資料
//
// 這個程式示範什麼
//   * librdmacm：位址與路由解析（rdma_resolve_addr / rdma_resolve_route）、connect / accept，
//     以連線的 private data 交換「對方可以存取的緩衝區位址與 rkey」。
//   * libibverbs：protection domain、只開每個測試需要的存取旗標的 memory region、RC queue pair、
//     completion queue；SEND/RECV（接收事先貼好）、RDMA WRITE（與 WRITE_WITH_IMM 通知對方資料已到）、
//     RDMA READ；頻寬路徑上的 selective signalling；--event 用 completion channel 取代忙碌輪詢。
//   * 每個測試量延遲（ping-pong：p50 / p99 / 最大值，µs）與頻寬（MB/s、Gbit/s，--depth 個請求同時在途），
//     接收的一方檢查與迭代次數相關的戳記，漏掉或亂序的資料都會被抓到。
//
// 協定（每個測試一條 RC 連線；--test all 依序建立三條）
//   1. client 連線時的 private data = Hello{測試、大小、次數、深度、模式、client 緩衝區位址與 rkey}。
//   2. server 依 Hello 建立資源後 accept，private data = Reply{server 緩衝區位址與 rkey}。
//   3. 延遲階段：send / write 為 ping-pong（回報往返時間的一半，與 perftest 相同）；read 為單次 READ 的完成時間。
//   4. 頻寬階段：client 連續貼出 --iters 個請求，最多 --depth 個在途，每 depth/4 個才要求一個完成事件；
//      send / write 的 server 驗證後以 SEND_WITH_IMM 控制訊息回報結果；read 由 client 自己驗證。
//   5. client 以控制訊息 BYE 告知自己的驗證結果，然後 rdma_disconnect。
//   server 看不到任何完成的階段（READ 測試、WRITE 的頻寬階段），client 每 0.5 秒送一個 PROGRESS 控制訊息：
//   server 的 --timeout 是「S 秒沒有任何進展」，不是整個階段的上限，所以跑得久的誠實 client 不會被切斷。
//   server 每個 client 一個執行緒，同時最多 --max-clients 個；每個 client 能註冊的記憶體（--max-region）與
//   全部 client 合計（--max-total）都有上限。超過、參數不合理或已滿時在 rdma_accept 之前以 rdma_reject 拒絕，
//   拒絕的原因放在 REJ 的 private data（Reject），兩端都印出中文原因。直到 SIGINT / SIGTERM。
//
// 測試用（不是給使用者的選項）：環境變數 RDMA_COMM_HOSTILE=KIND 讓 client 故意違反協定，
//   tests/adversarial_rdma.sh 用它證明 server 會回報並繼續服務下一個 client。KIND：
//   size（Hello 的大小離譜）、iters（次數離譜）、short（private data 太短）、rkey（用錯的 rkey 做 RDMA WRITE）、
//   oversend（Hello 說 64 bytes，實際 SEND --size bytes）。
//
// 需求：RDMA 裝置（實體 RNIC，或 Soft-RoCE：核心的 rdma_rxe 模組加上
//       `rdma link add rxe0 type rxe netdev IFACE`）；Debian 套件 libibverbs-dev、librdmacm-dev、
//       ibverbs-providers（rxe 的 user-space provider）。
// 編譯：make rdma
// 執行：./rdma_communication server
//       ./rdma_communication client 198.18.5.1 --test write --size 4K --iters 1000
// 試試：沒有 RDMA 網卡時，tests/rdma_vm.sh 會開一台 qemu VM 載入 rdma_rxe 來跑（./run_tests.sh -f rdma）。
// 對應指南章節：第 5 章「RDMA」（docs/kernel-bypass-guide.md）。
// 結構：常數 → 共同詞彙（結束碼、Failure、parse_number、停止旗標、Summary）→ Config 與解析 → RAII 包裝 → 統計 →
//       線上格式 → 資料樣式 → 一條連線：TestParams、ConnResources（擁有的資源）、ProgressEngine（收完成與等待）、
//       Conn（貼 WR 與各階段）→ rdma_cm 事件 → client（QP 狀態機的說明在這裡）→ server → main。

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
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
#include <iomanip>
#include <list>
#include <memory>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <latch>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------- 可調參數
constexpr uint16_t kDefaultPort = 7471;            // 與 rping 的預設埠相同
constexpr uint32_t kDefaultSize = 4096;            // bytes：一個 page
constexpr uint32_t kDefaultIters = 1000;           // 每個階段的次數
constexpr uint32_t kDefaultDepth = 16;             // 頻寬階段同時在途的 work request 數
constexpr int kDefaultTimeoutS = 10;               // 秒：連線建立與「沒有任何進展」的上限
constexpr uint32_t kMinSize = 16;                  // bytes：頭尾各 8 bytes 的迭代戳記
constexpr uint32_t kMaxSize = 64u << 20;           // bytes
constexpr uint32_t kMaxIters = 100'000'000;
constexpr uint32_t kMaxDepth = 1024;
constexpr uint64_t kMaxRegion = 1ull << 30;        // bytes：協定上限，一條連線最多註冊 1 GiB（client 端檢查）
constexpr uint32_t kDefaultMaxClients = 4;         // server 同時服務的 client 數（每個一個執行緒）
constexpr uint32_t kMaxMaxClients = 256;
constexpr uint32_t kSrqBufSize = 64u << 10;         // --srq：共用接收池每個緩衝區的 bytes（SEND 的 --size 不能超過它）
constexpr uint32_t kMinSrq = 8, kMaxSrq = 4096;      // --srq N 的範圍（N × 64 KiB 的池子）
constexpr uint32_t kMaxQps = 8;                       // --qps 的上限（每個 QP 一個執行緒、server 端一個 client）
constexpr uint64_t kDefaultMaxRegionSrv = 64ull << 20;   // bytes：server 讓一個 client 註冊的上限（遠小於 1 GiB）
constexpr uint64_t kDefaultMaxTotal = 256ull << 20;      // bytes：server 讓全部 client 合計註冊的上限
constexpr uint64_t kMinRegionLimit = 64ull << 10;        // bytes：--max-region / --max-total 的下限
constexpr int kProgressEveryTicks = 5;             // client 每 5 × 100 ms 送一次 PROGRESS（--timeout 最小 1 秒）
constexpr uint32_t kCtrlSlack = 4;                 // 額外的 send/recv 位置，給控制訊息
constexpr uint32_t kSendRecvSlots = 256;           // SEND 測試最多預貼的接收數
constexpr uint64_t kRecvBudget = 16u << 20;        // bytes：SEND 測試的接收區最多 16 MiB（大訊息就少貼幾個）
constexpr uint32_t kMaxSamples = 1u << 20;         // 延遲樣本最多存 1M 個（8 MiB）；更多次時覆寫最舊的
constexpr int kPollBatch = 16;                     // 一次 ibv_poll_cq 取回的完成數
constexpr uint32_t kSpinCheckMask = 0x3FFF;        // 忙碌輪詢每 16384 次空轉才看一次時鐘、停止旗標與 rdma_cm（系統呼叫）
constexpr int kEventWaitMs = 100;                  // --event：每次 poll() 最多等 100 ms 再檢查停止旗標
constexpr int kListenBacklog = 8;
constexpr uint8_t kRetryCount = 7;                 // RC 傳輸重試次數（IB 規格上限）
constexpr uint8_t kRnrRetry = 7;                   // 7 = 對方沒有貼接收時無限重試（流量控制）
constexpr uint32_t kMagic = 0x4B42524D;            // "KBRM"
constexpr uint8_t kProtoVersion = 1;
constexpr uint32_t kCtrlTag = 0xC7A1;              // 控制訊息 imm 的高 16 位元
constexpr uint64_t kAtomicAdd = 0x0000000100000001ull;   // fetch-and-add 的增量：高低 32 位元各加 1，只做 4 bytes 的實作會被抓到
constexpr uint32_t kUdMaxSize = 4096;              // bytes：--qp ud 的訊息上限 = IB 最大的 MTU（實際上限是路徑 MTU）
constexpr uint32_t kAtomicSlot = 16;               // bytes：atomic 測試的 slot = FAA 計數器（offset 0）+ CAS 的值（offset 8）
static_assert(kMinSize >= 16, "頭尾戳記各需要 8 bytes");
static_assert(kMaxDepth + kCtrlSlack <= 0xFFFF, "slot 編號要放得進 wr_id 的低位元");
static_assert(kSendRecvSlots <= kMaxDepth + kCtrlSlack, "接收完成的佇列要放得下所有預貼的接收");

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

// 檔案描述符的擁有者：本程式沒有自己擁有的 fd（completion channel 與 rdma_cm channel 的 fd 屬於各自的 verbs 物件，
// 由下面「RAII」一節的擁有者關閉），所以省略共同詞彙裡的 Fd。

// [摘要] 行：一個 key 一個值，key 與值寫在同一個呼叫裡，不會錯位。key 是穩定的 ASCII（測試解析它們）
// （本程式的 [結果] 行用同一個建構器：建構時給標記）
class Summary {
public:
    explicit Summary(const char* tag = "[摘要]") : tag_(tag) {}
    Summary& add(std::string_view key, std::string_view value) { line_ << ' ' << key << '=' << value; return *this; }
    Summary& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    Summary& add(std::string_view key, bool value) { return add(key, value ? "yes" : "no"); }
    template <std::integral T> requires (!std::same_as<T, bool>)
    Summary& add(std::string_view key, T value) { line_ << ' ' << key << '=' << +value; return *this; }
    Summary& add(std::string_view key, double value, int digits) {
        line_ << ' ' << key << '=' << std::fixed << std::setprecision(digits) << value; return *this;
    }
    void print(FILE* f = stdout) const { std::fprintf(f, "%s%s\n", tag_, line_.str().c_str()); std::fflush(f); }
private:
    const char* tag_;
    std::ostringstream line_;
};

// 失敗的呼叫：「<call> 失敗：<strerror(err)>（errno N）」，有提示時下一行是「  提示：…」。用法：throw call_failed(...)
Failure call_failed(std::string_view call, int err, std::string_view hint, int code = kExitRuntime) {
    std::string m = std::string(call) + " 失敗：" + std::strerror(err) + "（errno " + std::to_string(err) + "）";
    if (!hint.empty()) m += "\n  提示：" + std::string(hint);
    return Failure(code, m);
}


// ---------------------------------------------------------------- 設定
enum class Role { Server, Client };
enum class Test : uint8_t { Send = 0, Write = 1, Read = 2, All = 3, Atomic = 4 };   // All = send、write、read
enum class Mode : uint8_t { Lat = 1, Bw = 2, Both = 3 };

// 命令列與輸出上的名字（小寫）：一張表，解析與印出都查它
constexpr std::array<std::pair<Test, const char*>, 5> kTestNames{{
    {Test::Send, "send"}, {Test::Write, "write"}, {Test::Read, "read"}, {Test::All, "all"}, {Test::Atomic, "atomic"}}};
constexpr std::array<std::pair<Mode, const char*>, 3> kModeNames{{{Mode::Lat, "lat"}, {Mode::Bw, "bw"}, {Mode::Both, "both"}}};
constexpr const char* test_name(Test t) {
    for (const auto& [v, name] : kTestNames)
        if (v == t) return name;
    return "?";
}
constexpr const char* mode_name(Mode m) {
    for (const auto& [v, name] : kModeNames)
        if (v == m) return name;
    return "?";
}
constexpr bool has_lat(Mode m) { return (static_cast<uint8_t>(m) & 1) != 0; }
constexpr bool has_bw(Mode m) { return (static_cast<uint8_t>(m) & 2) != 0; }
constexpr bool bidir_test(Test t) { return t == Test::Send || t == Test::Write || t == Test::Read; }   // --bidir 用得上的測試

struct Config {
    Role role = Role::Server;
    std::string address;            // client：server 位址；server：綁定位址（空字串 = 全部）
    uint16_t port = kDefaultPort;
    std::string dev;                // 空字串 = 由路由決定
    Test test = Test::All;
    uint32_t size = kDefaultSize;
    uint32_t iters = kDefaultIters;
    uint32_t depth = kDefaultDepth;
    Mode mode = Mode::Both;
    bool event = false;
    bool use_inline = false;
    bool histogram = false;         // client：--histogram，印出完整的延遲分佈與 perftest 格式的表
    uint32_t qps = 1;               // client：--qps N，頻寬階段同時用 N 條連線（N 個 QP）
    bool bidir = false;             // client：--bidir，send／write 的頻寬階段兩個方向同時進行（perftest 的 -b）
    bool ud = false;                // --qp ud：unreliable datagram（只有 SEND/RECV；server 以一個 UD QP 服務所有 client）
    int timeout_s = kDefaultTimeoutS;
    uint32_t max_clients = kDefaultMaxClients;     // server
    uint32_t srq = 0;                              // server：--srq N，全部 client 共用 N 個接收緩衝區（0 = 每條連線自己貼）
    uint64_t max_region = kDefaultMaxRegionSrv;    // server：一個 client
    uint64_t max_total = kDefaultMaxTotal;         // server：全部 client
    std::string hostile;                           // 測試用：環境變數 RDMA_COMM_HOSTILE
    bool help = false;                             // -h / --help：main 印出說明後以 kExitOk 結束
};

constexpr const char* kNoDeviceHint =
    "這台機器沒有 RDMA 裝置。沒有 RDMA 網卡時可用 Soft-RoCE：核心需要 rdma_rxe 模組"
    "（CONFIG_RDMA_RXE，modprobe rdma_rxe），再執行 `rdma link add rxe0 type rxe netdev IFACE`"
    "（IFACE 換成有 IPv4 位址的網路介面）。沒有 rdma_rxe 的核心可用 ./run_tests.sh -f rdma 的測試 VM。";

void print_usage(FILE* out) {
    std::fprintf(out,
        "用法：rdma_communication server [綁定位址] [選項]\n"
        "      rdma_communication client SERVER_IP [選項]\n"
        "\n"
        "以 librdmacm 建立 RC 連線，以 libibverbs 測試 SEND/RECV、RDMA WRITE、RDMA READ 的延遲與頻寬，\n"
        "並在接收端驗證資料。server 同時服務多個 client（每個一個執行緒），直到 Ctrl-C（SIGINT）或 SIGTERM；\n"
        "測試參數（--test、--size、--iters、--depth、--mode、--event、--inline）由 client 決定，連線時告訴 server。\n"
        "\n"
        "選項：\n"
        "  --port N        rdma_cm 埠（預設 %u）\n"
        "  --dev NAME      RDMA 裝置，例如 rxe0（預設：路由到該位址的那個裝置）\n"
        "  --test T        send | write | read | all | atomic（預設 all = send、write、read；server 忽略，由 client 決定）\n"
        "                  atomic：對 server 上 8 bytes 對齊的計數器做 fetch-and-add 與 compare-and-swap——延遲（一次一個）\n"
        "                  與速率（--depth 個在途）；server 最後檢查計數器 = 次數 × 增量，client 檢查每個 CAS 的舊值序列\n"
        "  --size BYTES    訊息大小，可加 K / M 後綴（預設 %u；範圍 %u..%u）\n"
        "  --iters N       每個階段的次數（預設 %u）\n"
        "  --depth N       頻寬階段同時在途的 work request 數（預設 %u；範圍 1..%u）\n"
        "  --mode M        lat | bw | both（預設 both）\n"
        "  --event         用 completion channel 等待完成事件，而不是忙碌輪詢（預設：輪詢）\n"
        "  --inline        SEND / WRITE 使用 inline 資料（裝置允許的大小內；預設關閉）\n"
        "  --qps N         client：頻寬階段同時用 N 條 RC 連線（N 個 QP，每個一個執行緒，1..8），總頻寬 = 全部 bytes ÷ 最慢那條的時間；\n"
        "                  只用於 --mode bw（perftest 的 -q）；server 的 --max-clients 要不小於 N\n"
        "  --bidir         client：--test send、write 或 read 的頻寬階段兩個方向同時進行——server 也對 client 做同樣次數的\n"
        "                  SEND／RDMA WRITE／RDMA READ，兩端各自驗證收到（讀回）的資料；頻寬 = 兩個方向的 bytes ÷ 到兩個方向都完成的時間\n"
        "                  （perftest 的 -b）\n"
        "  --histogram     client：每個延遲階段之後印出完整的分佈（[分佈]，2 的冪次的區間）與 perftest 格式的表\n"
        "                  （t_min、t_max、t_typical、t_avg、t_stdev、99%%、99.9%%，對應 ib_*_lat -H 的細節）\n"
        "  --timeout SEC   連線建立與「毫無進展」的逾時秒數（預設 %d；server 端是每個 client「S 秒沒有任何進展」）\n"
        "  --qp T          rc | ud（預設 rc）。ud = unreliable datagram：沒有連線、只有 SEND/RECV，每則訊息不能超過路徑 MTU、\n"
        "                  收到的訊息前面有 40 bytes 的 GRH，沒有重送（遺失的就不見了，[摘要] 的 ud_lost 說有幾個）；\n"
        "                  client 與 server 都要指定（UD 的 server 是另一個埠空間），對照 ib_send_lat -c UD\n"
        "  --srq N         server：全部 client 共用一個 shared receive queue 與 N 個 64 KiB 的接收緩衝區（%u..%u；\n"
        "                  預設每條連線自己貼接收）；SEND 的 --size 超過 64 KiB 的 client 會被拒絕\n"
        "  --max-clients N server 同時服務的 client 數（預設 %u；範圍 1..%u）；已滿時以 rdma_reject 拒絕並說明原因\n"
        "  --max-region B  server 讓一個 client 註冊的記憶體上限，可加 K / M / G（預設 %" PRIu64 " MiB；範圍 64K..1G）\n"
        "  --max-total B   server 讓全部 client 合計註冊的記憶體上限（預設 %" PRIu64 " MiB；不小於 --max-region）\n"
        "  -h, --help      顯示這段說明\n"
        "\n"
        "輸出：[就緒]（server 可以接受連線）、每秒一行 [統計]、每個測試一行 [結果]、最後一行 [摘要]。\n"
        "      延遲是每次往返的一半（read、atomic 是一次操作的完成時間）的分佈：lat_p50_us、lat_p90_us、lat_p99_us、\n"
        "      lat_p999_us（第 99.9 百分位）、lat_max_us（µs）；p90 與 p999 附在行尾，舊的 key 不變。\n"
        "結束碼：0 成功、1 執行錯誤或資料驗證失敗、2 參數錯誤、77 沒有 RDMA 裝置。\n"
        "沒有 RDMA 網卡？Soft-RoCE：modprobe rdma_rxe && rdma link add rxe0 type rxe netdev IFACE\n",
        kDefaultPort, kDefaultSize, kMinSize, kMaxSize, kDefaultIters, kDefaultDepth, kMaxDepth, kDefaultTimeoutS, kMinSrq, kMaxSrq,
        kDefaultMaxClients, kMaxMaxClients, kDefaultMaxRegionSrv >> 20, kDefaultMaxTotal >> 20);
}

// 8< parse
// 帶 K / M / G 後綴的 bytes 數，範圍 [lo, hi]（先檢查範圍再乘，不會溢位）。數字部分交給 parse_number；
// 錯誤訊息說出整個值與允許的範圍（expect），而不是去掉後綴之後的數字
uint64_t parse_bytes(std::string_view option, std::string_view text, uint64_t lo, uint64_t hi, uint64_t max_suffix,
                     std::string_view expect) {
    uint64_t mult = 1;
    switch (text.empty() ? '\0' : text.back()) {
    case 'K': case 'k': mult = 1ull << 10; break;
    case 'M': case 'm': mult = 1ull << 20; break;
    case 'G': case 'g': mult = 1ull << 30; break;
    default: break;
    }
    if (mult > max_suffix) mult = 1;          // 這個選項不接受的後綴：當成數字的一部分（於是不正確）
    std::string_view digits = mult == 1 ? text : text.substr(0, text.size() - 1);
    uint64_t v = 0;
    try {
        v = parse_number<uint64_t>(option, digits, 1, hi);
    } catch (const Failure&) {
        v = 0;   // 改用下面說出整個值的訊息
    }
    if (v == 0 || v > hi / mult || v * mult < lo)
        throw Failure(kExitUsage, "選項 " + std::string(option) + " 的值「" + std::string(text) + "」不正確：應為" +
                                      std::string(expect) + "（用 --help 看所有選項）");
    return v * mult;
}

Failure bad_usage(const std::string& msg) { return Failure(kExitUsage, msg + "（用 --help 看所有選項）"); }

// 一個選項（名稱 a、值由 value() 取得）寫進 cfg；未知的選項丟出 kExitUsage
template <class ValueFn>
void apply_option(Config& cfg, std::string_view a, ValueFn value, bool has_inline_val) {
    auto invalid = [&](std::string_view v, const char* expect) {
        return bad_usage("選項 " + std::string(a) + " 的值「" + std::string(v) + "」不正確：應為" + expect);
    };
    auto flag = [&](bool& b) {
        if (has_inline_val) throw bad_usage("選項 " + std::string(a) + " 不接受值");
        b = true;
    };
    if (a == "--port") {
        cfg.port = parse_number<uint16_t>(a, value(), 1, 65535);
    } else if (a == "--dev") {
        auto v = value();
        if (v.empty() || v.size() > 63) throw invalid(v, "裝置名稱，例如 rxe0");
        cfg.dev = std::string(v);
    } else if (a == "--test") {
        auto v = value();
        auto it = std::find_if(kTestNames.begin(), kTestNames.end(), [&](const auto& e) { return v == e.second; });
        if (it == kTestNames.end()) throw invalid(v, " send、write、read、all 或 atomic");
        cfg.test = it->first;
    } else if (a == "--size") {
        cfg.size = static_cast<uint32_t>(parse_bytes(a, value(), kMinSize, kMaxSize, 1ull << 20, " 16 到 64M 之間的 bytes 數（可加 K / M 後綴）"));
    } else if (a == "--iters") {
        cfg.iters = parse_number<uint32_t>(a, value(), 1, kMaxIters);
    } else if (a == "--depth") {
        cfg.depth = parse_number<uint32_t>(a, value(), 1, kMaxDepth);
    } else if (a == "--mode") {
        auto v = value();
        auto it = std::find_if(kModeNames.begin(), kModeNames.end(), [&](const auto& e) { return v == e.second; });
        if (it == kModeNames.end()) throw invalid(v, " lat、bw 或 both");
        cfg.mode = it->first;
    } else if (a == "--timeout") {
        cfg.timeout_s = parse_number<int>(a, value(), 1, 3600);   // 整數秒（測試把 1.5 當成錯誤的值）
    } else if (a == "--srq") {
        cfg.srq = parse_number<uint32_t>(a, value(), kMinSrq, kMaxSrq);
    } else if (a == "--max-clients") {
        cfg.max_clients = parse_number<uint32_t>(a, value(), 1, kMaxMaxClients);
    } else if (a == "--max-region") {
        cfg.max_region = parse_bytes(a, value(), kMinRegionLimit, kMaxRegion, 1ull << 30, " 64K..1G 的 bytes 數（可加 K / M / G 後綴）");
    } else if (a == "--max-total") {
        cfg.max_total = parse_bytes(a, value(), kMinRegionLimit, kMaxRegion * kMaxMaxClients, 1ull << 30,
                                    " 64K..256G 的 bytes 數（可加 K / M / G 後綴）");
    } else if (a == "--event") {
        flag(cfg.event);
    } else if (a == "--inline") {
        flag(cfg.use_inline);
    } else if (a == "--histogram") {
        flag(cfg.histogram);
    } else if (a == "--bidir") {
        flag(cfg.bidir);
    } else if (a == "--qp") {
        auto v = value();
        if (v != "rc" && v != "ud") throw invalid(v, " rc 或 ud");
        cfg.ud = v == "ud";
    } else if (a == "--qps") {
        cfg.qps = parse_number<uint32_t>(a, value(), 1, kMaxQps);
    } else {
        throw bad_usage("未知的選項「" + std::string(a) + "」");
    }
}

// 選項之間的關係與測試用的環境變數
void check_config(Config& cfg) {
    if (cfg.role == Role::Client && cfg.address.empty()) throw bad_usage("client 需要 server 的 IPv4 位址，例如 client 198.18.5.1");
    if (!cfg.address.empty()) {
        in_addr tmp{};
        if (inet_pton(AF_INET, cfg.address.c_str(), &tmp) != 1) throw bad_usage("位址「" + cfg.address + "」不是 IPv4 位址");
    }
    uint64_t region = 2ull * (cfg.depth + kCtrlSlack) * cfg.size;
    if (region > kMaxRegion)
        throw bad_usage("--size × --depth 太大：每條連線要註冊 " + std::to_string(region >> 20) + " MiB（上限 1024 MiB），請降低 --depth");
    if (cfg.qps > 1 && (cfg.role != Role::Client || cfg.mode != Mode::Bw || cfg.test == Test::Atomic))
        throw bad_usage("--qps 只用於 client 的頻寬階段（--mode bw；send、write、read 或 all，不含 atomic）");
    if (cfg.bidir && (cfg.role != Role::Client || !bidir_test(cfg.test) || !has_bw(cfg.mode)))
        throw bad_usage("--bidir 只用於 client 的 --test send、write 或 read 的頻寬階段（--mode bw 或 both）：兩個方向同時進行，"
                        "對照 ib_send_bw -b／ib_write_bw -b／ib_read_bw -b");
    if (cfg.ud) {
        if (cfg.test == Test::All) cfg.test = Test::Send;   // UD 只有 SEND/RECV
        if (cfg.test != Test::Send)
            throw bad_usage("--qp ud 只能 --test send：RDMA WRITE、READ 與 atomic 需要連線（RC），UD 只有 SEND/RECV");
        if (cfg.size > kUdMaxSize) throw bad_usage("--qp ud 的 --size 最多 " + std::to_string(kUdMaxSize) + " bytes：UD 不分段，一則訊息就是一個封包（還要放得進路徑 MTU）");
        if (cfg.qps > 1 || cfg.bidir || cfg.srq || cfg.event || cfg.use_inline)
            throw bad_usage("--qp ud 不能和 --qps、--bidir、--srq、--event、--inline 一起用（這些是 RC 連線的選項）");
    }
    if (cfg.srq && cfg.role != Role::Server) throw bad_usage("--srq 是 server 的選項（全部 client 共用的接收佇列）");
    if (cfg.max_total < cfg.max_region)
        throw bad_usage("--max-total（" + std::to_string(cfg.max_total >> 10) + " KiB）小於 --max-region（" +
                        std::to_string(cfg.max_region >> 10) + " KiB）：一個 client 都放不下");
    if (const char* h = std::getenv("RDMA_COMM_HOSTILE"); h && *h) {
        std::string_view k = h;
        if (k != "size" && k != "iters" && k != "short" && k != "rkey" && k != "oversend")
            throw bad_usage("環境變數 RDMA_COMM_HOSTILE 的值「" + std::string(k) + "」不正確：應為 size、iters、short、rkey 或 oversend（測試用）");
        if (k == "oversend" && cfg.size <= 64) throw bad_usage("RDMA_COMM_HOSTILE=oversend 需要 --size 大於 64（測試用）");
        cfg.hostile = std::string(k);
    }
}

// 回傳 Config（-h / --help 時 cfg.help = true，其餘不解析），或丟出 Failure(kExitUsage)
Config parse_args(int argc, char** argv) {
    Config cfg;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (auto a : args)
        if (a == "-h" || a == "--help") { cfg.help = true; return cfg; }
    if (args.empty()) throw bad_usage("缺少角色：請指定 server 或 client");
    if (args[0] == "server") cfg.role = Role::Server;
    else if (args[0] == "client") cfg.role = Role::Client;
    else throw bad_usage("未知的角色「" + std::string(args[0]) + "」：請指定 server 或 client");

    for (size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i], val;
        bool has_inline_val = false;
        if (!a.starts_with("--")) {
            if (!cfg.address.empty()) throw bad_usage("多餘的參數「" + std::string(a) + "」");
            cfg.address = std::string(a);
            continue;
        }
        if (auto eq = a.find('='); eq != std::string_view::npos) {
            val = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_inline_val = true;
        }
        auto value = [&]() -> std::string_view {
            if (has_inline_val) return val;
            if (i + 1 >= args.size()) throw bad_usage("選項 " + std::string(a) + " 缺少值");
            return args[++i];
        };
        apply_option(cfg, a, value, has_inline_val);
    }
    check_config(cfg);
    return cfg;
}
// >8 parse

// ---------------------------------------------------------------- RAII：每個 C handle 一個擁有者
template <auto Fn>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept { if (p) (void)Fn(p); }
};
using EventChannel = std::unique_ptr<rdma_event_channel, Deleter<rdma_destroy_event_channel>>;
using CmId = std::unique_ptr<rdma_cm_id, Deleter<rdma_destroy_id>>;
using Pd = std::unique_ptr<ibv_pd, Deleter<ibv_dealloc_pd>>;
using CompChannel = std::unique_ptr<ibv_comp_channel, Deleter<ibv_destroy_comp_channel>>;
using Mr = std::unique_ptr<ibv_mr, Deleter<ibv_dereg_mr>>;
using Srq = std::unique_ptr<ibv_srq, Deleter<ibv_destroy_srq>>;
using DeviceList = std::unique_ptr<ibv_device*, Deleter<ibv_free_device_list>>;

// CQ：銷毀前先 ack 所有收到的 completion event（否則 ibv_destroy_cq 會卡住）
struct Cq {
    ibv_cq* cq = nullptr;
    unsigned unacked_events = 0;
    Cq() = default;
    Cq(const Cq&) = delete;
    Cq& operator=(const Cq&) = delete;
    ~Cq() {
        if (!cq) return;
        if (unacked_events) ibv_ack_cq_events(cq, unacked_events);
        ibv_destroy_cq(cq);
    }
};
// QP 屬於 cm_id（rdma_create_qp），用 rdma_destroy_qp 釋放
struct Qp {
    rdma_cm_id* id = nullptr;
    Qp() = default;
    Qp(const Qp&) = delete;
    Qp& operator=(const Qp&) = delete;
    ~Qp() { if (id && id->qp) rdma_destroy_qp(id); }
};
// 以 mmap 取得的緩衝區：page 對齊、內容為零
struct Buffer {
    std::byte* p = nullptr;
    size_t len = 0;
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { if (p) munmap(p, len); }
};

void set_nonblock(int fd, const char* what) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw call_failed(what, errno, "");
}

using Clock = std::chrono::steady_clock;
inline uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// ---------------------------------------------------------------- 統計（每秒一行，由另一個執行緒印）
struct alignas(64) Stats {
    std::atomic<uint64_t> ops{0};        // 目前階段完成的操作數
    std::atomic<uint64_t> bytes{0};      // 全部連線累計搬動的 bytes
    std::atomic<uint32_t> active{0};     // 0 = 閒置；否則 1 + Test
    std::atomic<uint32_t> phase{0};      // 0 = 延遲、1 = 頻寬
    std::atomic<uint64_t> clients{0};    // server：服務過的 client 數
    std::atomic<uint32_t> sessions{0};   // server：正在服務的 client 數
    std::atomic<bool> progress_due{false};   // client：該送 PROGRESS 了（統計執行緒每 0.5 秒設一次）
};

// 只有 sleep、atomic 與 printf，不會丟例外
void stats_loop(std::stop_token st, Stats& s, Role role) noexcept {
    uint64_t last_ops = 0, last_bytes = s.bytes.load();
    int tick = 0;
    while (!st.stop_requested()) {
        for (int i = 0; i < 10 && !st.stop_requested(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (++tick % kProgressEveryTicks == 0) s.progress_due.store(true, std::memory_order_relaxed);
        }
        if (st.stop_requested()) break;
        uint64_t ops = s.ops.load(std::memory_order_relaxed), bytes = s.bytes.load(std::memory_order_relaxed);
        uint32_t active = s.active.load(std::memory_order_relaxed);
        if (role == Role::Server) {
            // 多個 client 同時進行：只印合計（每個 client 的數字在它的 [結果] 行）
            if (uint32_t n = s.sessions.load(); n != 0)
                std::printf("[統計] role=server sessions=%u clients=%" PRIu64 " mbps=%.2f\n", n, s.clients.load(),
                            static_cast<double>(bytes - last_bytes) / 1e6);
        } else if (active != 0) {
            uint64_t dops = ops >= last_ops ? ops - last_ops : ops;
            std::printf("[統計] test=%s phase=%s ops=%" PRIu64 " ops_per_s=%" PRIu64 " mbps=%.2f\n",
                        test_name(static_cast<Test>(active - 1)), s.phase.load() ? "bw" : "lat", ops, dops,
                        static_cast<double>(bytes - last_bytes) / 1e6);
        }
        last_ops = ops;
        last_bytes = bytes;
    }
}

// ---------------------------------------------------------------- 線上格式（private data 與控制訊息）
// 8< protocol
// RC 連線的 REQ private data 最多 56 bytes，REP 最多 196 bytes；兩個結構都遠小於此。
struct Hello {            // client → server（rdma_connect 的 private data）
    uint32_t magic;
    uint8_t version, test, mode, flags;   // flags bit0 = --event、bit1 = --inline（僅供 server 記錄）、bit2 = --bidir
    uint32_t size, iters, depth;
    uint64_t addr;                        // client 的接收區（server 在 write 延遲測試會寫回這裡）
    uint32_t rkey;
    uint32_t reserved;
};
struct Reply {            // server → client（rdma_accept 的 private data）
    uint32_t magic;
    uint32_t status;                      // 0 = 接受
    uint64_t addr;                        // write：server 的接收區；read：server 的來源區
    uint32_t rkey;
    uint32_t len;
};
static_assert(sizeof(Hello) <= 56 && sizeof(Reply) <= 196);

// 控制訊息：長度 0 的 SEND_WITH_IMM，imm = kCtrlTag<<16 | type<<8 | value。
// PROGRESS：client 在 server 看不到完成的階段每 0.5 秒送一個，server 收到就重新計算 --timeout。
// ATOMIC_DONE：atomic 測試的 client 做完所有操作，server 這時檢查計數器，以 BW_DONE 回報結果。
// BW_START：--bidir 的 client 開始頻寬階段；server 收到才開始寫 client（延遲階段的最後一則還在 client 的 slot 0 等著驗證）。
enum class Ctrl : uint8_t { BwDone = 1, Bye = 2, Progress = 3, AtomicDone = 4, BwStart = 5 };
constexpr uint32_t ctrl_imm(Ctrl c, uint8_t v) { return (kCtrlTag << 16) | (static_cast<uint32_t>(c) << 8) | v; }

// server 拒絕連線時（rdma_reject）的 private data：原因碼與數字，由兩端各自翻成中文
// （REJ 的 private data 只有 148 bytes，放不下完整的中文句子）
enum class Reason : uint8_t { BadHello = 1, WrongDev, RegionTooBig, TotalMemory, Busy, SrqSize };
struct Reject {
    uint32_t magic;
    uint8_t reason, pad[3];
    uint64_t asked, limit;                // bytes（total_memory 的 limit 是還剩多少）或 client 數
};
static_assert(sizeof(Reject) <= 148);
// >8 protocol

const char* reason_key(Reason r) {
    switch (r) {
    case Reason::BadHello: return "bad_hello";
    case Reason::WrongDev: return "wrong_dev";
    case Reason::RegionTooBig: return "region_too_big";
    case Reason::TotalMemory: return "total_memory";
    case Reason::Busy: return "busy";
    case Reason::SrqSize: return "srq_size";
    }
    return "unknown";
}
std::string reason_text(Reason r, uint64_t asked, uint64_t limit) {
    auto kib = [](uint64_t b) { return std::to_string(b >> 10) + " KiB"; };
    switch (r) {
    case Reason::BadHello: return "連線參數不正確（Hello 的大小、次數、深度或格式不合理）";
    case Reason::WrongDev: return "連線走的 RDMA 裝置不是 server 的 --dev";
    case Reason::RegionTooBig:
        return "要註冊 " + kib(asked) + " 記憶體，超過 server 給一個 client 的上限 " + kib(limit) +
               "（--max-region）；請降低 --size 或 --depth";
    case Reason::TotalMemory:
        return "要註冊 " + kib(asked) + " 記憶體，server 全部 client 合計的上限（--max-total）只剩 " + kib(limit) +
               "（其他 client 正在使用）；稍後再試";
    case Reason::Busy:
        return "server 已滿：正在服務 " + std::to_string(asked) + " 個 client（--max-clients " + std::to_string(limit) + "）；稍後再試";
    case Reason::SrqSize:
        return "SEND 訊息 " + std::to_string(asked) + " bytes 比 server 共用接收佇列（--srq）的緩衝區 " + kib(limit) + " 大；請降低 --size";
    }
    return "未知的原因";
}

// work request id：高 8 位元是種類，低 32 位元是 slot（接收）或這個完成事件涵蓋的 WR 數（傳送），
// 中間 24 位元是其中有幾個「對端回傳資料」的操作——RDMA READ 與 atomic（夾著 PROGRESS 控制訊息時，它們的完成數才不會算錯）
enum class Wr : uint8_t { Recv = 1, Send, Write, WriteImm, Read, Ctrl, Faa, Cas };
constexpr uint64_t wr_id(Wr k, uint32_t v, uint32_t reads = 0) {
    return (static_cast<uint64_t>(k) << 56) | (static_cast<uint64_t>(reads & 0xFFFFFF) << 32) | v;
}
constexpr Wr wr_kind(uint64_t id) { return static_cast<Wr>(id >> 56); }
constexpr uint32_t wr_value(uint64_t id) { return static_cast<uint32_t>(id); }
constexpr uint32_t wr_reads(uint64_t id) { return static_cast<uint32_t>(id >> 32) & 0xFFFFFF; }
constexpr const char* wr_name(Wr k) {
    switch (k) {
    case Wr::Recv: return "RECV";
    case Wr::Send: return "SEND";
    case Wr::Write: return "RDMA WRITE";
    case Wr::WriteImm: return "RDMA WRITE_WITH_IMM";
    case Wr::Read: return "RDMA READ";
    case Wr::Ctrl: return "SEND_WITH_IMM（控制訊息）";
    case Wr::Faa: return "ATOMIC FETCH_AND_ADD";
    case Wr::Cas: return "ATOMIC CMP_AND_SWP";
    }
    return "未知操作";
}

// ---------------------------------------------------------------- 資料樣式與驗證
// 8< pattern
// 每則訊息頭 8 bytes = mix(n)、尾 8 bytes = n（n = 迭代次數 + 1），中間是與大小相關的固定樣式。
// 接收端每次都檢查頭尾戳記（漏掉、重複或亂序的訊息都對不上），第一次與最後一次再檢查整段內容。
constexpr uint64_t stamp_mix(uint64_t n) { return (n * 0x9E3779B97F4A7C15ull) ^ 0x5A5AA5A5C3C33C3Cull; }
inline uint8_t body_byte(size_t k, uint32_t size) { return static_cast<uint8_t>(k * 7 + size); }

void fill_body(std::byte* msg, uint32_t size) {
    for (size_t k = 8; k + 8 < size + 0ull; ++k) msg[k] = std::byte{body_byte(k, size)};
}
inline void put_stamp(std::byte* msg, uint32_t size, uint64_t n) {
    uint64_t head = stamp_mix(n);
    std::memcpy(msg, &head, 8);
    std::memcpy(msg + size - 8, &n, 8);
}
inline void clear_stamp(std::byte* msg, uint32_t size) {
    std::memset(msg, 0, 8);
    std::memset(msg + size - 8, 0, 8);
}
inline bool stamp_ok(const std::byte* msg, uint32_t size, uint64_t n) {
    uint64_t head, tail;
    std::memcpy(&head, msg, 8);
    std::memcpy(&tail, msg + size - 8, 8);
    return head == stamp_mix(n) && tail == n;
}
bool body_ok(const std::byte* msg, uint32_t size) {
    for (size_t k = 8; k + 8 < size + 0ull; ++k)
        if (msg[k] != std::byte{body_byte(k, size)}) return false;
    return true;
}
// 忙碌輪詢等待尾端戳記：RDMA WRITE 依位址遞增放置資料，尾端到了整則訊息就到了（perftest 也這樣做）
inline uint64_t load_tail(const std::byte* msg, uint32_t size) {
    return reinterpret_cast<const std::atomic<uint64_t>*>(msg + size - 8)->load(std::memory_order_acquire);
}
// >8 pattern

// atomic 測試的期望值：第 k 次（從 1 起算）fetch-and-add 之前計數器是 (k-1)·kAtomicAdd；
// 第 k 次 compare-and-swap 比較 cas_value(k-1)、寫入 cas_value(k)，成功時回傳的舊值就是 cas_value(k-1)
constexpr uint64_t cas_value(uint64_t k) { return k == 0 ? 0 : stamp_mix(k); }
inline uint64_t load_u64(const std::byte* p) {
    return reinterpret_cast<const std::atomic<uint64_t>*>(p)->load(std::memory_order_acquire);
}
inline void store_u64(std::byte* p, uint64_t v) { reinterpret_cast<std::atomic<uint64_t>*>(p)->store(v, std::memory_order_relaxed); }

// ---------------------------------------------------------------- 結果
// Protocol：對端違反協定（SEND 比貼出的接收還大、用錯的 rkey），和「對端離線」（PeerGone）分開回報
enum class Status { Ok, Stopped, PeerGone, Timeout, WcError, PostError, BadData, Protocol };

struct TestResult {
    Test test = Test::Send;
    bool ok = false;               // 測試跑完（沒有錯誤）
    bool verified = false;         // 兩端的資料驗證都通過
    double lat_p50 = -1, lat_p99 = -1, lat_max = -1;   // µs；-1 = 沒有量（atomic：fetch-and-add）
    double lat_p90 = -1, lat_p999 = -1;
    double lat_min = -1, lat_avg = -1, lat_stdev = -1; // perftest 的 t_min、t_avg、t_stdev
    std::vector<uint64_t> hist;                        // --histogram：第 i 格是 [2^(i-1), 2^i) µs 的次數（第 0 格 < 1 µs）
    double cas_p50 = -1, cas_p99 = -1;                 // atomic：compare-and-swap 的延遲
    double faa_mops = -1, cas_mops = -1;               // atomic：--depth 個在途時的速率（百萬次 / 秒）
    double bw_mbps = -1, bw_gbps = -1;
    uint32_t qps = 1;                                  // --qps：幾條連線一起跑
    double qp_min_mbps = -1;                           // --qps：最慢那條連線的頻寬
    uint64_t ud_pings = 0, ud_lat_lost = 0;            // --qp ud：延遲階段送出的 ping、沒等到 pong 的
    uint64_t ud_sent = 0, ud_received = 0, ud_bad = 0; // --qp ud：頻寬階段送出的、server 收到的、戳記不對的
    double ud_sent_mbps = -1;                          // --qp ud：傳送端的速率（bw_mbps 是送達的）
    bool ud_grh = false;                               // --qp ud：收到的訊息帶 GRH（IBV_WC_GRH）
    double seconds = 0;
    uint64_t bytes = 0;
    std::string error;
};

std::string fmt_num(double v, int prec = 2) {
    if (v < 0) return "na";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
}

// 8< percentiles
// 延遲的分佈：每次迭代一個樣本（ns；最多 kMaxSamples 個，量測路徑上只寫進預先配置的陣列），量完才排序。
// 百分位取「最近的排名」：第 q 百分位 = 排序後第 ceil(q·n) 個樣本，所以 p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max 一定成立。
// 樣本少於 1000 個時 p99.9 就是最大值，1000 個時是第 999 個——要看清楚 p99.9 請跑 --iters 10000 以上。
// 另外算 perftest 也印的最小值、平均與標準差，和 --histogram 的分佈：第 i 格數 [2^(i-1), 2^i) µs 的樣本（第 0 格是 < 1 µs）。
struct Percentiles { double p50, p90, p99, p999, max, min, avg, stdev; std::vector<uint64_t> hist; };
Percentiles percentiles(std::vector<uint64_t>& ns, double scale) {
    std::sort(ns.begin(), ns.end());
    auto us = [&](uint64_t v) { return static_cast<double>(v) * scale / 1000.0; };
    auto at = [&](double q) {
        size_t idx = static_cast<size_t>(q * static_cast<double>(ns.size()));
        if (idx > 0 && static_cast<double>(idx) == q * static_cast<double>(ns.size())) --idx;
        return us(ns[std::min(idx, ns.size() - 1)]);
    };
    double sum = 0, sq = 0;
    std::vector<uint64_t> hist;
    for (uint64_t v : ns) {
        const double x = us(v);
        sum += x;
        sq += x * x;
        const size_t b = x < 1.0 ? 0 : static_cast<size_t>(std::floor(std::log2(x))) + 1;
        if (hist.size() <= b) hist.resize(b + 1, 0);
        ++hist[b];
    }
    const double n = static_cast<double>(ns.size()), avg = sum / n;
    return {at(0.50), at(0.90), at(0.99), at(0.999), us(ns.back()), us(ns.front()), avg,
            std::sqrt(std::max(0.0, sq / n - avg * avg)), std::move(hist)};
}
// >8 percentiles

// 一個延遲階段的分佈存進結果
void keep_latency(TestResult& res, Percentiles& pc) {
    res.lat_p50 = pc.p50;
    res.lat_p90 = pc.p90;
    res.lat_p99 = pc.p99;
    res.lat_p999 = pc.p999;
    res.lat_max = pc.max;
    res.lat_min = pc.min;
    res.lat_avg = pc.avg;
    res.lat_stdev = pc.stdev;
    res.hist = std::move(pc.hist);
}

// ---------------------------------------------------------------- 一條連線：參數與資源
// 一條連線的 slot 數與要註冊的 bytes：server 在 rdma_accept 之前用同一個公式檢查 --max-region / --max-total
struct Slots { uint32_t recv, send; };
constexpr Slots conn_slots(Test test, uint32_t size, uint32_t depth) {
    // 傳送區：depth 個資料 slot + 控制訊息；接收區：SEND 測試多貼一些接收（perftest 也預貼數百個），
    // 讓 server 偶爾落後時傳送端不必吃 RNR NAK 的等待
    uint32_t send = depth + kCtrlSlack, recv = send;
    if (test == Test::Send) recv = std::max(recv, std::min<uint32_t>(kSendRecvSlots, static_cast<uint32_t>(kRecvBudget / size)));
    return {recv, send};
}
constexpr uint64_t conn_region(Test test, uint32_t size, uint32_t depth) {
    Slots sl = conn_slots(test, size, depth);
    return (static_cast<uint64_t>(sl.recv) + sl.send) * size;
}

// 一個測試的參數：client 由 Config 填（params_from_config），server 由連線請求裡的 Hello 填（params_from_hello）。
// 連線的資源與資料路徑只看這個結構，不再各自抄一份 Config 的欄位。
struct TestParams {
    Test test = Test::Send;
    Mode mode = Mode::Both;
    uint32_t size = kDefaultSize, iters = kDefaultIters, depth = kDefaultDepth;
    bool event = false;             // --event：量測路徑睡在 completion channel 上
    bool want_inline = false;       // --inline
    bool bidir = false;             // --bidir：頻寬階段 server 也同時對 client SEND／WRITE
    int timeout_s = kDefaultTimeoutS;   // 本端的 --timeout（「S 秒沒有任何進展」；不是對方告訴我們的）
};
TestParams params_from_config(const Config& cfg, Test test) {
    // atomic 的 slot 固定 16 bytes（--size 不適用）：8 bytes 的計數器與 8 bytes 的 CAS 值
    return {test, cfg.mode, test == Test::Atomic ? kAtomicSlot : cfg.size, cfg.iters, cfg.depth, cfg.event,
            cfg.use_inline && test != Test::Atomic, cfg.bidir && bidir_test(test), cfg.timeout_s};
}
TestParams params_from_hello(const Hello& h, int timeout_s) {
    return {static_cast<Test>(h.test), static_cast<Mode>(h.mode), h.size, h.iters, h.depth, (h.flags & 1) != 0,
            (h.flags & 2) != 0, (h.flags & 4) != 0, timeout_s};
}

int mr_access(Test test, Mode mode, Role role, bool bidir) {
    // 8< access
    bool lat = has_lat(mode);
    switch (test) {
    case Test::Send:   // 接收緩衝區要讓 HCA 寫入
        return IBV_ACCESS_LOCAL_WRITE;
    case Test::Write:  // server 被寫；client 在延遲 ping-pong 與 --bidir 時被寫回（REMOTE_WRITE 需要 LOCAL_WRITE）
        if (role == Role::Server || lat || bidir) return IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
        return 0;      // 只當 RDMA WRITE 的來源：lkey 就夠了
    case Test::Read:   // server 被讀；client 是 READ 的目的地；--bidir 時兩端都既被讀又是目的地
        if (bidir) return IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
        return role == Role::Server ? IBV_ACCESS_REMOTE_READ : IBV_ACCESS_LOCAL_WRITE;
    case Test::Atomic: // server 的計數器被 atomic 讀改寫（REMOTE_ATOMIC 需要 LOCAL_WRITE）；client 收回舊值
        return role == Role::Server ? IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_ATOMIC : IBV_ACCESS_LOCAL_WRITE;
    case Test::All: break;
    }
    return IBV_ACCESS_LOCAL_WRITE;
    // >8 access
}

// 8< srq
// --srq N：server 的全部 client 共用一個 shared receive queue（SRQ）與一池 N 個接收緩衝區。每條連線的 QP 建立時指向它
// （自己的 max_recv_wr 是 0、不貼接收）；SRQ 與 QP 必須屬於同一個 PD，所以這時全部連線共用這裡的 PD，連線自己的 MR 也註冊在上面。
// 接收完成照樣進那條連線自己的 CQ，wr_id 是池子裡的編號；處理完由那條連線的執行緒貼回 SRQ（verbs 可以多執行緒同時呼叫）。
// 池子只在第一個連線請求時建立（要知道是哪個裝置），server 結束時在所有連線之後才釋放。
struct SharedRecv {
    SharedRecv(ibv_context* c, uint32_t n);
    std::byte* buf(uint32_t i) const { return pool.p + static_cast<size_t>(i) * kSrqBufSize; }
    int post(uint32_t i) {
        ibv_sge sge{reinterpret_cast<uint64_t>(buf(i)), kSrqBufSize, mr->lkey};
        ibv_recv_wr wr{};
        wr.wr_id = wr_id(Wr::Recv, i);   // 與連線自己貼的接收同一個格式：完成時由連線的進度引擎分辨
        wr.sg_list = &sge;
        wr.num_sge = 1;
        ibv_recv_wr* bad = nullptr;
        int rc = ibv_post_srq_recv(srq.get(), &wr, &bad);
        if (rc == 0) posted.fetch_add(1, std::memory_order_relaxed);
        return rc;
    }
    ibv_context* ctx;
    uint32_t count;
    Pd pd;                              // 宣告順序 = 建立順序；解構時 SRQ → MR → 池子 → PD
    Buffer pool;
    Mr mr;
    Srq srq;
    std::atomic<uint64_t> recvs{0};     // 從池子收到的訊息數（[摘要] 的 srq_recvs）
    std::atomic<int64_t> posted{0};     // 目前貼在 SRQ 上的緩衝區數：全部連線都結束時必須等於 count（沒有遺失）
    void taken() {                      // 一個接收完成從池子拿走了一個緩衝區
        recvs.fetch_add(1, std::memory_order_relaxed);
        posted.fetch_sub(1, std::memory_order_relaxed);
    }
};
// >8 srq

// 8< resources
// 一條連線擁有的 verbs 資源。成員的宣告順序 = 取得順序（建構子裡的 1–5），C++ 以相反順序解構：
// QP → MR → 緩衝區 → CQ → completion channel → PD，正好是 verbs 要求的釋放順序。
struct ConnResources {
    ConnResources(rdma_cm_id* id, const TestParams& p, Role role, SharedRecv* shared);
    std::byte* rx(uint32_t s) const { return buf.p + static_cast<size_t>(s) * size; }                 // 接收區的 slot
    std::byte* tx(uint32_t s) const { return buf.p + (static_cast<size_t>(slots.recv) + s) * size; }  // 傳送區的 slot

    uint32_t size;                  // 一個 slot（= 一則訊息）的 bytes
    Slots slots;                    // slot 數：server 在 accept 之前已經用同一個公式（conn_slots）檢查過記憶體上限
    Pd pd;                          // 1（--srq 時不用：共用 SharedRecv 的 PD）
    ibv_pd* pdp = nullptr;          // 實際使用的 PD
    ibv_srq* srq = nullptr;         // --srq：QP 的接收來自這個共用佇列
    CompChannel comp_ch;            // 2
    Cq cq;                          // 2
    Buffer buf;                     // 3
    Mr mr;                          // 4
    Qp qp;                          // 5
    int access = 0;                 // MR 的存取旗標
    uint32_t inline_cap = 0;        // QP 實際允許的 inline bytes
    bool use_inline = false;

private:
    void create_qp(rdma_cm_id* id, bool want_inline);
};

ConnResources::ConnResources(rdma_cm_id* id, const TestParams& p, Role role, SharedRecv* shared)
    : size(p.size), slots(conn_slots(p.test, p.size, p.depth)) {
    ibv_context* ctx = id->verbs;

    // 1. protection domain：MR 與 QP 必須屬於同一個 PD（--srq 時還有 SRQ：用共用的那個）
    if (shared) {
        pdp = shared->pd.get();
        srq = shared->srq.get();
    } else {
        pd.reset(ibv_alloc_pd(ctx));
        if (!pd) throw call_failed("ibv_alloc_pd", errno, "裝置資源不足？檢查 ulimit -l（locked memory）");
        pdp = pd.get();
    }

    // 2. completion channel 與 completion queue：傳送與接收共用一個 CQ。channel 一律建立：
    //    --event 時每次等待都睡在它上面；忙碌輪詢時只有不在量測路徑上的被動等待（Wait::EventChannel）用它
    comp_ch.reset(ibv_create_comp_channel(ctx));
    if (!comp_ch) throw call_failed("ibv_create_comp_channel", errno, "");
    set_nonblock(comp_ch->fd, "fcntl(completion channel)");
    cq.cq = ibv_create_cq(ctx, static_cast<int>(slots.recv + slots.send), nullptr, comp_ch.get(), 0);
    if (!cq.cq) throw call_failed("ibv_create_cq", errno, "CQ 太大？請降低 --depth");

    // 3. 緩衝區：前段是接收區（slots.recv 個訊息），後段是傳送區（slots.send 個）
    buf.len = (static_cast<size_t>(slots.recv) + slots.send) * size;
    void* mem = mmap(nullptr, buf.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw call_failed("mmap", errno, "記憶體不足？請降低 --size 或 --depth");
    buf.p = static_cast<std::byte*>(mem);
    for (uint32_t s = 0; s < slots.send; ++s) fill_body(tx(s), size);
    if (p.test == Test::Read && (role == Role::Server || p.bidir))   // READ 的來源：每個 slot 有自己的戳記
        for (uint32_t s = 0; s < slots.send; ++s) put_stamp(tx(s), size, s + 1);

    // 4. memory region：只開這個測試、這一端需要的存取權限
    access = mr_access(p.test, p.mode, role, p.bidir);
    mr.reset(ibv_reg_mr(pdp, buf.p, buf.len, access));
    if (!mr) throw call_failed("ibv_reg_mr", errno, "無法鎖定記憶體：檢查 ulimit -l（RLIMIT_MEMLOCK），或降低 --size / --depth");

    // 5. RC queue pair：rdma_create_qp 把它綁在 cm_id 上，建好時在 INIT；之後由 rdma_cm 推到 RTR、RTS（見 rdma_accept / rdma_connect）
    create_qp(id, p.want_inline);
}
// >8 resources

SharedRecv::SharedRecv(ibv_context* c, uint32_t n) : ctx(c), count(n) {
    pd.reset(ibv_alloc_pd(ctx));
    if (!pd) throw call_failed("ibv_alloc_pd", errno, "裝置資源不足？");
    pool.len = static_cast<size_t>(n) * kSrqBufSize;
    void* mem = mmap(nullptr, pool.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw call_failed("mmap", errno, "記憶體不足？請降低 --srq");
    pool.p = static_cast<std::byte*>(mem);
    mr.reset(ibv_reg_mr(pd.get(), pool.p, pool.len, IBV_ACCESS_LOCAL_WRITE));
    if (!mr) throw call_failed("ibv_reg_mr", errno, "無法鎖定記憶體：檢查 ulimit -l，或降低 --srq");
    ibv_srq_init_attr attr{};
    attr.attr.max_wr = n;
    attr.attr.max_sge = 1;
    srq.reset(ibv_create_srq(pd.get(), &attr));
    if (!srq) throw call_failed("ibv_create_srq", errno, "裝置不支援這麼大的 SRQ？請降低 --srq（ibv_devinfo -v 的 max_srq_wr）");
    for (uint32_t i = 0; i < n; ++i)
        if (int rc = post(i); rc != 0) throw call_failed("ibv_post_srq_recv", rc, "");
}

void ConnResources::create_qp(rdma_cm_id* id, bool want_inline) {
    ibv_qp_init_attr attr{};
    attr.send_cq = cq.cq;
    attr.recv_cq = cq.cq;
    attr.qp_type = IBV_QPT_RC;
    attr.sq_sig_all = 0;                       // selective signalling：由每個 WR 自己決定
    attr.cap.max_send_wr = slots.send;
    attr.cap.max_recv_wr = slots.recv;
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    if (srq) {                                 // --srq：接收來自共用佇列，QP 自己沒有接收佇列
        attr.srq = srq;
        attr.cap.max_recv_wr = attr.cap.max_recv_sge = 0;
    }
    attr.cap.max_inline_data = want_inline ? size : 0;
    qp.id = id;
    if (rdma_create_qp(id, pdp, &attr) != 0) {
        if (!want_inline) throw call_failed("rdma_create_qp", errno, "QP 太大？請降低 --depth");
        // 裝置不允許這麼大的 inline：退回一般傳送（一個小而說明清楚的分支）
        std::printf("[注意] 裝置不支援 %u bytes 的 inline 資料（rdma_create_qp：%s），改用一般傳送\n", size, std::strerror(errno));
        attr.cap.max_inline_data = 0;
        if (rdma_create_qp(id, pdp, &attr) != 0) throw call_failed("rdma_create_qp", errno, "");
    }
    inline_cap = attr.cap.max_inline_data;
    use_inline = want_inline && inline_cap >= size;
}

// ---------------------------------------------------------------- 進度引擎：收完成、等待
// 一個接收完成（依到達順序交給呼叫者）
struct RecvDone { uint32_t slot; ibv_wc_opcode opcode; bool with_imm; uint32_t imm; uint32_t len; };

// 8< progress
// 等待的方式是明確的參數：
//   BusyPoll     ：一直 ibv_poll_cq，每 16384 次空轉（kSpinCheckMask）才看一次停止旗標、rdma_cm 事件（對端斷線）與逾時。
//                  量測路徑的預設。
//   EventChannel ：武裝 CQ 的完成通知，睡在 completion channel 上（wait_event）。--event 的量測路徑，以及不在量測
//                  路徑上的被動等待（READ 測試的 server、WRITE 頻寬時的 server、等控制訊息）：把 CPU 讓給 rxe 的核心工作。
enum class Wait { BusyPoll, EventChannel };

// 進度引擎：取回完成、記帳（還沒確認的傳送 WR、完成的 READ 數、依序的接收完成），以指定的方式等待。
// 它不擁有任何資源（CQ 與 channel 屬於 ConnResources，cm channel 屬於呼叫者）。
class ProgressEngine {
public:
    ProgressEngine(Cq& cq, ibv_comp_channel* comp_ch, rdma_event_channel* cm_ch, uint32_t msg_size, int timeout_s)
        : cq_(cq), comp_ch_(comp_ch), cm_ch_(cm_ch), msg_size_(msg_size), timeout_s_(timeout_s) {}

    // 取回至少一批完成（或回報為什麼等不到）。傳送端的完成只更新計數；接收端的完成排進佇列讓呼叫者依序處理。
    Status progress(Wait wait) {
        std::array<ibv_wc, kPollBatch> wc;
        uint32_t spins = 0;
        uint64_t start = 0;               // 第一次檢查時才讀時鐘：快的路徑上不讀
        for (;;) {
            int n = ibv_poll_cq(cq_.cq, kPollBatch, wc.data());
            if (n < 0) [[unlikely]] { err_ = "ibv_poll_cq 失敗"; return Status::WcError; }
            if (n > 0) return handle(std::span(wc.data(), static_cast<size_t>(n)));
            Status st = Status::Ok;
            if (wait == Wait::EventChannel) {
                // 武裝通知之後要再 poll 一次 CQ：武裝前就到達的完成不會產生事件
                if (!notify_armed_) {
                    if (ibv_req_notify_cq(cq_.cq, 0) != 0) { err_ = "ibv_req_notify_cq 失敗"; return Status::WcError; }
                    notify_armed_ = true;
                    continue;
                }
                st = wait_event(start);
            } else if ((++spins & kSpinCheckMask) == 0) [[unlikely]] {
                st = check_alive(start);
            }
            if (st == Status::PeerGone) {
                // 對端離開前送出的最後幾個完成（例如 BYE）可能已在 CQ 裡：先收完再宣告離線
                n = ibv_poll_cq(cq_.cq, kPollBatch, wc.data());
                if (n > 0) return handle(std::span(wc.data(), static_cast<size_t>(n)));
            }
            if (st != Status::Ok) return st;
        }
    }

    Status handle(std::span<const ibv_wc> wcs) {
        for (const ibv_wc& w : wcs) {
            Wr kind = wr_kind(w.wr_id);
            if (w.status != IBV_WC_SUCCESS) [[unlikely]] return failed_completion(w, kind);
            if (kind == Wr::Recv) {
                recvq_[recv_tail_++ % recvq_.size()] = {wr_value(w.wr_id), w.opcode, (w.wc_flags & IBV_WC_WITH_IMM) != 0,
                                                         ntohl(w.imm_data), w.byte_len};
            } else {
                unacked_ -= wr_value(w.wr_id);     // 這個完成涵蓋的 WR 數
                reads_done_ += wr_reads(w.wr_id);
            }
        }
        return Status::Ok;
    }
    // >8 progress

    // 不等待：收一批已經在 CQ 裡的完成（spin_tail 盯記憶體時順便收傳送端的完成）
    Status poll_once() {
        std::array<ibv_wc, kPollBatch> wc;
        int n = ibv_poll_cq(cq_.cq, kPollBatch, wc.data());
        return n > 0 ? handle(std::span(wc.data(), static_cast<size_t>(n))) : Status::Ok;
    }

    Status check_alive(uint64_t& start) {
        if (g_stop.load(std::memory_order_relaxed)) { err_ = "收到停止信號"; return Status::Stopped; }
        if (peer_gone()) return Status::PeerGone;
        if (start == 0) start = now_ns();
        if (now_ns() - start > static_cast<uint64_t>(timeout_s_) * 1'000'000'000ull) {
            err_ = "對端 " + std::to_string(timeout_s_) + " 秒沒有任何回應（--timeout）";
            return Status::Timeout;
        }
        return Status::Ok;
    }

    // 記帳
    void posted_send() { ++unacked_; }
    uint32_t unacked() const { return unacked_; }
    uint64_t reads_done() const { return reads_done_; }
    void reset_reads() { reads_done_ = 0; }
    bool has_recv() const { return recv_head_ != recv_tail_; }
    const RecvDone& front_recv() const { return recvq_[recv_head_ % recvq_.size()]; }
    RecvDone pop_recv() { return recvq_[recv_head_++ % recvq_.size()]; }

    // 錯誤文字：第一個原因留下來（之後的連鎖錯誤不蓋掉它）；set_error 一定蓋掉
    const std::string& error() const { return err_; }
    void note_error(std::string m) { if (err_.empty()) err_ = std::move(m); }
    void set_error(std::string m) { err_ = std::move(m); }
    bool disconnected() const { return disconnected_; }

private:
    Status failed_completion(const ibv_wc& w, Wr kind) {
        // 對端違反協定：送來比貼出的接收還大的 SEND（接收端 LOC_LEN_ERR，rxe 回報 LOC_QP_OP_ERR），
        // 或拿錯的 rkey / 位址存取、對方拒絕我們的請求（REM_*）
        bool bad_recv = kind == Wr::Recv && (w.status == IBV_WC_LOC_LEN_ERR || w.status == IBV_WC_LOC_QP_OP_ERR);
        bool proto = bad_recv || w.status == IBV_WC_REM_ACCESS_ERR || w.status == IBV_WC_REM_INV_REQ_ERR ||
                     w.status == IBV_WC_REM_OP_ERR;
        char vendor[16];
        std::snprintf(vendor, sizeof vendor, "%x", w.vendor_err);
        note_error(std::string(wr_name(kind)) + " 完成失敗：" + ibv_wc_status_str(w.status) + "（status " +
                   std::to_string(w.status) + "，vendor_err 0x" + vendor + "）" +
                   (w.status == IBV_WC_RETRY_EXC_ERR || w.status == IBV_WC_WR_FLUSH_ERR
                        ? "——對端可能已經離線"
                    : bad_recv
                        ? "——對端送來的 SEND 不符協商（比協商的 " + std::to_string(msg_size_) + " bytes 還大？）：對端違反協定"
                    : w.status == IBV_WC_REM_ACCESS_ERR ? "——rkey 或 MR 的存取旗標不符"
                    : w.status == IBV_WC_REM_INV_REQ_ERR || w.status == IBV_WC_REM_OP_ERR
                        ? "——對端無法完成這個請求（長度或操作不符協商）" : ""));
        return proto ? Status::Protocol : Status::WcError;
    }

    // rdma_cm 事件（非阻塞）：DISCONNECTED 等表示對端已離開
    bool peer_gone() {
        if (disconnected_) return true;
        rdma_cm_event* ev = nullptr;
        if (rdma_get_cm_event(cm_ch_, &ev) != 0) return false;   // EAGAIN：沒有事件
        rdma_cm_event_type t = ev->event;
        rdma_ack_cm_event(ev);
        if (t == RDMA_CM_EVENT_DISCONNECTED || t == RDMA_CM_EVENT_DEVICE_REMOVAL || t == RDMA_CM_EVENT_TIMEWAIT_EXIT) {
            disconnected_ = true;
            err_ = std::string("對端在測試中途離線（") + rdma_event_str(t) + "）";
            return true;
        }
        return false;
    }

    // 8< event
    // Wait::EventChannel：completion channel 的 fd 與 rdma_cm 的 fd 一起 poll()；
    // 收到事件後先重新 ibv_req_notify_cq，再回到 ibv_poll_cq（避免漏掉重新武裝前到達的完成）
    Status wait_event(uint64_t& start) {
        std::array<pollfd, 2> fds{{{comp_ch_->fd, POLLIN, 0}, {cm_ch_->fd, POLLIN, 0}}};
        int rc = poll(fds.data(), fds.size(), kEventWaitMs);
        if (rc < 0 && errno != EINTR) { err_ = std::string("poll 失敗：") + std::strerror(errno); return Status::WcError; }
        if (fds[1].revents & POLLIN)
            if (peer_gone()) return Status::PeerGone;
        if (fds[0].revents & POLLIN) {
            ibv_cq* ev_cq = nullptr;
            void* ev_ctx = nullptr;
            if (ibv_get_cq_event(comp_ch_, &ev_cq, &ev_ctx) == 0) {
                if (++cq_.unacked_events >= 64) { ibv_ack_cq_events(cq_.cq, cq_.unacked_events); cq_.unacked_events = 0; }
                if (ibv_req_notify_cq(cq_.cq, 0) != 0) { err_ = "ibv_req_notify_cq 失敗"; return Status::WcError; }
            }
            return Status::Ok;
        }
        return check_alive(start);
    }
    // >8 event

    Cq& cq_;
    ibv_comp_channel* comp_ch_;
    rdma_event_channel* cm_ch_;
    uint32_t msg_size_;             // 協商的訊息大小（只用在錯誤訊息）
    int timeout_s_;
    uint32_t unacked_ = 0;          // 已貼出、還沒確認完成的傳送端 WR
    uint64_t reads_done_ = 0;       // 完成的 RDMA READ 數
    std::array<RecvDone, kMaxDepth + kCtrlSlack> recvq_{};
    uint64_t recv_head_ = 0, recv_tail_ = 0;
    bool notify_armed_ = false;     // CQ 的完成通知已武裝（收到事件後 wait_event 會重新武裝）
    bool disconnected_ = false;
    std::string err_;
};

// ---------------------------------------------------------------- 一條連線：資源 + 進度引擎 + 資料路徑
class Conn {
public:
    // id 與 cm_ch 屬於呼叫者（它們比 Conn 活得久）；Conn 擁有 verbs 資源
    Conn(rdma_cm_id* id, rdma_event_channel* cm_ch, const TestParams& p, Role role, Stats& stats, SharedRecv* shared = nullptr)
        : p_(p), id_(id), stats_(stats), shared_(shared), res_(id, p, role, shared),
          engine_(res_.cq, res_.comp_ch.get(), cm_ch, p.size, p.timeout_s),
          wait_(p.event ? Wait::EventChannel : Wait::BusyPoll), signal_every_(std::max(1u, p.depth / 4)) {
        // 6. 接收事先貼好（連線之前）：SEND 測試的資料訊息、WRITE_WITH_IMM 通知與控制訊息都要消耗一個接收。
        //    --srq 時接收來自共用佇列，這裡不貼
        for (uint32_t s = 0; !shared_ && s < res_.slots.recv; ++s)
            if (post_recv(s) != Status::Ok) throw call_failed("ibv_post_recv", post_errno_, "");
    }
    ~Conn() { if (shared_) return_srq_bufs(); }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    uint64_t local_addr() const { return reinterpret_cast<uint64_t>(p_.test == Test::Read ? res_.tx(0) : res_.rx(0)); }
    uint32_t rkey() const { return res_.mr->rkey; }
    int access() const { return res_.access; }
    uint32_t inline_cap() const { return res_.inline_cap; }
    void set_remote(uint64_t addr, uint32_t rkey) { raddr_ = addr; rkey_ = rkey; }
    const std::string& error() const { return engine_.error(); }
    bool disconnected() const { return engine_.disconnected(); }
    bool data_ok() const { return data_ok_; }
    uint8_t peer_read_verdict() const { return peer_read_verdict_; }   // READ --bidir：server 的 BW_DONE 帶來的值（client_bw 裡收）
    uint64_t reads_verified() const { return reads_verified_; }        // READ --bidir 的 server：讀回並核對了幾個

    // ---- client 端的各階段
    Status client_lat(std::vector<uint64_t>& samples);
    Status client_bw(double& seconds);
    Status wait_ctrl(Ctrl want, uint8_t& value);
    Status send_ctrl(Ctrl c, uint8_t value);
    Status atomic_lat(bool cas, std::vector<uint64_t>& samples);
    Status atomic_rate(bool cas, double& seconds);

    // ---- server 端的各階段
    Status server_lat();
    Status server_bw();
    bool check_written(const RecvDone& r);
    Status send_both_ways();
    Status server_atomic();
    Status server_read_back();
    uint64_t atomic_counter(uint32_t offset) const { return load_u64(rx(0) + offset); }   // server：計數器（0）與 CAS 值（8）

private:
    std::byte* rx(uint32_t s) const { return res_.rx(s); }
    // SEND 收到的資料在哪裡：自己的接收區，或 --srq 時共用池子的那個緩衝區（slot = 池子裡的編號）
    const std::byte* recv_buf(uint32_t slot) const { return shared_ ? shared_->buf(slot) : rx(slot); }
    // --srq：連線結束前把它從池子拿走、還沒貼回的緩衝區都貼回去，否則每個中途離開的 client 都讓池子少幾個。
    // 先銷毀 QP（之後不會再有新的接收完成），再收完 CQ 裡剩下的接收完成、佇列裡還沒處理的、處理到一半的那一個
    void return_srq_bufs() noexcept {
        if (id_->qp) rdma_destroy_qp(id_);
        std::array<ibv_wc, kPollBatch> wc;
        for (int n; (n = ibv_poll_cq(res_.cq.cq, kPollBatch, wc.data())) > 0;)
            for (int k = 0; k < n; ++k)
                if (wr_kind(wc[k].wr_id) == Wr::Recv) { shared_->taken(); (void)shared_->post(wr_value(wc[k].wr_id)); }
        while (engine_.has_recv()) { shared_->taken(); (void)shared_->post(engine_.pop_recv().slot); }
        if (repost_pending_) (void)shared_->post(repost_slot_);
        repost_pending_ = false;
    }
    std::byte* tx(uint32_t s) const { return res_.tx(s); }
    uint64_t remote(uint32_t s) const { return raddr_ + static_cast<uint64_t>(s) * p_.size; }
    uint32_t size() const { return p_.size; }

    // 8< post
    Status post_recv(uint32_t slot) {
        if (shared_) [[unlikely]] {                  // --srq：把池子的緩衝區貼回共用佇列
            int rc = shared_->post(slot);
            return rc == 0 ? Status::Ok : post_failed("ibv_post_srq_recv", rc);
        }
        ibv_sge sge{reinterpret_cast<uint64_t>(rx(slot)), size(), res_.mr->lkey};
        ibv_recv_wr wr{};
        wr.wr_id = wr_id(Wr::Recv, slot);
        // 只有 SEND 測試的資料需要緩衝區；WRITE_WITH_IMM 與控制訊息長度為 0
        if (p_.test == Test::Send) { wr.sg_list = &sge; wr.num_sge = 1; }
        ibv_recv_wr* bad = nullptr;
        int rc = ibv_post_recv(id_->qp, &wr, &bad);
        if (rc != 0) [[unlikely]] return post_failed("ibv_post_recv", rc);
        return Status::Ok;
    }

    // SEND / WRITE / READ 的 WR：來源（或 READ 的目的地）一個 sge，交給 post_wr 排進視窗
    Status post_send(Wr kind, ibv_wr_opcode op, const std::byte* src, uint32_t len, uint64_t raddr,
                     uint32_t imm, bool force_signal, uint32_t window) {
        ibv_sge sge{reinterpret_cast<uint64_t>(src), len, res_.mr->lkey};
        ibv_send_wr wr{};
        wr.opcode = op;
        wr.sg_list = len ? &sge : nullptr;
        wr.num_sge = len ? 1 : 0;
        if (res_.use_inline && len && op != IBV_WR_RDMA_READ) wr.send_flags |= IBV_SEND_INLINE;
        if (op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_RDMA_WRITE_WITH_IMM) wr.imm_data = htonl(imm);
        if (op != IBV_WR_SEND && op != IBV_WR_SEND_WITH_IMM) {
            wr.wr.rdma.remote_addr = raddr;
            wr.wr.rdma.rkey = rkey_;
        }
        return post_wr(wr, kind, op == IBV_WR_RDMA_READ, force_signal, window);
    }

    // atomic 的 WR：對端 raddr 上 8 bytes 對齊的值做讀改寫，舊值放進本地的 dst（8 bytes）。
    // FETCH_AND_ADD：加上 compare_add；CMP_AND_SWP：等於 compare_add 時才換成 swap。兩者都回傳舊值。
    Status post_atomic(bool cas, std::byte* dst, uint64_t raddr, uint64_t compare_add, uint64_t swap, bool force_signal,
                       uint32_t window) {
        ibv_sge sge{reinterpret_cast<uint64_t>(dst), 8, res_.mr->lkey};
        ibv_send_wr wr{};
        wr.opcode = cas ? IBV_WR_ATOMIC_CMP_AND_SWP : IBV_WR_ATOMIC_FETCH_AND_ADD;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.wr.atomic.remote_addr = raddr;
        wr.wr.atomic.compare_add = compare_add;
        wr.wr.atomic.swap = swap;
        wr.wr.atomic.rkey = rkey_;
        return post_wr(wr, cas ? Wr::Cas : Wr::Faa, true, force_signal, window);
    }

    // 貼一個傳送端 WR。window = 最多幾個尚未確認完成；每 signal_every 個（或 force）才要求完成事件，
    // 完成事件的 wr_id 記著它涵蓋幾個 WR、其中幾個會帶回資料（READ、atomic）——RC 依序完成，一個完成代表它之前的都完成了。
    Status post_wr(ibv_send_wr& wr, Wr kind, bool returns_data, bool force_signal, uint32_t window) {
        while (engine_.unacked() >= window) {
            Status st = engine_.progress(wait_);
            if (st != Status::Ok) [[unlikely]] return st;
        }
        ++batch_;
        if (returns_data) ++batch_reads_;
        bool sig = force_signal || batch_ >= signal_every_;
        wr.wr_id = wr_id(kind, batch_, batch_reads_);
        if (sig) wr.send_flags |= IBV_SEND_SIGNALED;
        ibv_send_wr* bad = nullptr;
        int rc = ibv_post_send(id_->qp, &wr, &bad);
        if (rc != 0) [[unlikely]] return post_failed("ibv_post_send", rc);
        engine_.posted_send();
        if (sig) batch_ = batch_reads_ = 0;
        return Status::Ok;
    }
    // >8 post

    Status post_failed(const char* call, int rc) {
        post_errno_ = rc;
        engine_.set_error(std::string(call) + " 失敗：" + std::strerror(rc) + "（QP 已進入錯誤狀態？對端可能已離線）");
        return Status::PostError;
    }

    // 等下一個接收完成（依序）。上一次交出去的 slot 這時才補貼回去：呼叫者已經驗證完它的內容，
    // 若在驗證前就補貼，下一則訊息可能蓋掉還沒檢查的資料。
    Status next_recv(RecvDone& out, Wait wait) {
        if (repost_pending_) {
            repost_pending_ = false;
            Status st = post_recv(repost_slot_);
            if (st != Status::Ok) [[unlikely]] return st;
        }
        for (;;) {
            while (!engine_.has_recv()) {
                Status st = engine_.progress(wait);
                if (st != Status::Ok) [[unlikely]] return st;
            }
            out = engine_.pop_recv();
            if (shared_) shared_->taken();
            // PROGRESS 只表示「client 還在進行」：馬上補貼接收，繼續等（progress() 重新開始計算 --timeout）
            if (!is_ctrl(out, Ctrl::Progress)) [[likely]] break;
            if (Status st = post_recv(out.slot); st != Status::Ok) return st;
        }
        repost_pending_ = true;
        repost_slot_ = out.slot;
        return Status::Ok;
    }
    static bool is_ctrl(const RecvDone& r, Ctrl c) {
        return r.with_imm && r.opcode == IBV_WC_RECV && (r.imm >> 16) == kCtrlTag && ((r.imm >> 8) & 0xFF) == static_cast<uint32_t>(c);
    }
    // client：server 看不到完成的階段（READ、WRITE 頻寬），統計執行緒每 0.5 秒要求送一個 PROGRESS。
    // 快的路徑上只多一次 relaxed 的 atomic 讀取。
    Status maybe_progress() {
        if (!stats_.progress_due.load(std::memory_order_relaxed)) [[likely]] return Status::Ok;
        stats_.progress_due.store(false, std::memory_order_relaxed);
        return post_send(Wr::Ctrl, IBV_WR_SEND_WITH_IMM, nullptr, 0, 0, ctrl_imm(Ctrl::Progress, 0), true, res_.slots.send);
    }
    // 等所有傳送端 WR 都確認完成
    Status drain() {
        while (engine_.unacked() > 0) {
            Status st = engine_.progress(wait_);
            if (st != Status::Ok) [[unlikely]] return st;
        }
        return Status::Ok;
    }
    // 第四種等待：忙碌輪詢記憶體，直到 slot 0 的尾端戳記等於 n（write 延遲測試，不用 --event 時）
    Status spin_tail(uint64_t n) {
        uint32_t spins = 0;
        uint64_t start = 0;
        while (load_tail(rx(0), size()) != n) {
            if ((++spins & kSpinCheckMask) == 0) [[unlikely]] {
                // 順便收傳送端的完成（post_send 在 send queue 快滿時也會收）
                Status st = engine_.poll_once();
                if (st == Status::Ok) st = engine_.check_alive(start);
                if (st != Status::Ok) return st;
            }
        }
        return Status::Ok;
    }
    Status bad_data(const std::string& what) {
        data_ok_ = false;
        engine_.note_error(what);
        return Status::BadData;
    }
    void count_op(uint64_t ops, uint64_t bytes) {
        stats_.ops.store(ops, std::memory_order_relaxed);
        stats_.bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
    Status pp_send(uint64_t n, bool last);
    Status pp_recv(uint64_t n, bool full_check);
    Status read_once(uint32_t i, bool full);
    Status verify_reads(uint64_t& verified_upto, bool check_last_body);
    Status client_bw_post(uint32_t i, uint64_t& verified_upto);
    Status verify_atomics(bool cas, uint64_t base, uint64_t& verified_upto);
    uint64_t atomic_expect(bool cas, uint64_t k) const { return cas ? cas_value(k) : k * kAtomicAdd; }   // 第 k+1 次之前的值

    TestParams p_;
    rdma_cm_id* id_;
    Stats& stats_;
    SharedRecv* shared_;            // --srq 的共用接收池（server；nullptr = 自己貼接收）
    ConnResources res_;             // 先建資源……
    ProgressEngine engine_;         // ……引擎只借用它們的 CQ 與 channel
    Wait wait_;                     // 量測路徑的等待方式：--event → EventChannel，否則 BusyPoll
    uint32_t signal_every_;
    uint64_t raddr_ = 0;            // 對方的緩衝區與 rkey（來自 private data）
    uint32_t rkey_ = 0;
    uint32_t batch_ = 0, batch_reads_ = 0;   // 上一個 signalled WR 之後貼了幾個（其中幾個是 READ）
    bool repost_pending_ = false;
    uint32_t repost_slot_ = 0;
    bool data_ok_ = true;
    uint8_t peer_read_verdict_ = 1;
    uint64_t reads_verified_ = 0;
    int post_errno_ = 0;
    uint64_t faa_done_ = 0, cas_done_ = 0;   // atomic：已經完成並驗證的 fetch-and-add 與 compare-and-swap 次數
};

// ping-pong 的一步：送出第 n 則訊息（send 或 write）。最後一則一定要求完成（last）：否則 --iters 不是
// depth/4 的倍數時，最後幾個 WR 沒有任何完成涵蓋，之後的 drain() 會一直等到 --timeout
Status Conn::pp_send(uint64_t n, bool last) {
    put_stamp(tx(0), size(), n);
    uint32_t window = res_.slots.send - 1;
    if (p_.test == Test::Send)
        return post_send(Wr::Send, IBV_WR_SEND, tx(0), size(), 0, 0, last, window);
    if (p_.event)   // 對端睡在 completion channel 上：用 WRITE_WITH_IMM 讓它收到一個接收完成
        return post_send(Wr::WriteImm, IBV_WR_RDMA_WRITE_WITH_IMM, tx(0), size(), remote(0), static_cast<uint32_t>(n), last, window);
    return post_send(Wr::Write, IBV_WR_RDMA_WRITE, tx(0), size(), remote(0), 0, last, window);
}

// ping-pong 的一步：等第 n 則訊息到達並驗證
Status Conn::pp_recv(uint64_t n, bool full_check) {
    const std::byte* msg = rx(0);
    if (p_.test == Test::Send || p_.event) {
        RecvDone r{};
        Status st = next_recv(r, wait_);
        if (st != Status::Ok) return st;
        if (r.with_imm && p_.test == Test::Send) return bad_data("延遲測試中收到非預期的控制訊息");
        if (p_.test == Test::Send) msg = recv_buf(r.slot);
        else if (r.imm != static_cast<uint32_t>(n)) return bad_data("WRITE_WITH_IMM 的 imm 與迭代次數不符");
    } else {
        Status st = spin_tail(n);
        if (st != Status::Ok) return st;
    }
    if (!stamp_ok(msg, size(), n)) [[unlikely]] return bad_data("第 " + std::to_string(n) + " 則訊息的戳記不符（遺失或亂序）");
    if (full_check && !body_ok(msg, size())) [[unlikely]] return bad_data("第 " + std::to_string(n) + " 則訊息的內容不符");
    return Status::Ok;
}

// READ 延遲的一次：清掉目的地的戳記，讀 server 的 slot（i % depth），完成後檢查戳記
Status Conn::read_once(uint32_t i, bool full) {
    uint32_t s = i % p_.depth;
    clear_stamp(rx(s), size());
    Status st = post_send(Wr::Read, IBV_WR_RDMA_READ, rx(s), size(), remote(s), 0, true, 1);
    if (st == Status::Ok) st = drain();
    if (st == Status::Ok && !stamp_ok(rx(s), size(), s + 1)) st = bad_data("RDMA READ 讀回的戳記不符");
    if (st == Status::Ok && full && !body_ok(rx(s), size())) st = bad_data("RDMA READ 讀回的內容不符");
    return st;
}

// ---------------------------------------------------------------- client 的各階段
// 8< client_lat
Status Conn::client_lat(std::vector<uint64_t>& samples) {
    stats_.phase = 0;
    for (uint32_t i = 0; i < p_.iters; ++i) {
        uint64_t n = i + 1;
        bool full = (i == 0 || i + 1 == p_.iters);
        if (p_.test == Test::Read) {    // server 看不到 READ：偶爾告訴它還在進行（在計時之外）
            Status sp = maybe_progress();
            if (sp == Status::Ok) sp = drain();
            if (sp != Status::Ok) [[unlikely]] return sp;
        }
        uint64_t t0 = now_ns();
        Status st = Status::Ok;
        if (p_.test == Test::Read) {
            st = read_once(i, full);
        } else {
            st = pp_send(n, i + 1 == p_.iters);
            if (st == Status::Ok) st = pp_recv(n, full);
        }
        if (st != Status::Ok) [[unlikely]] return st;
        samples[i % samples.size()] = now_ns() - t0;
        count_op(i + 1, size());
    }
    return drain();
}
// >8 client_lat

// READ 頻寬：依序驗證所有已完成的 READ（check_last_body：最後一個再逐 byte 檢查內容）
Status Conn::verify_reads(uint64_t& verified_upto, bool check_last_body) {
    for (; verified_upto < engine_.reads_done(); ++verified_upto) {
        uint32_t vs = static_cast<uint32_t>(verified_upto % p_.depth);
        if (!stamp_ok(rx(vs), size(), vs + 1)) return bad_data("RDMA READ 讀回的戳記不符");
        if (check_last_body && verified_upto + 1 == engine_.reads_done() && !body_ok(rx(vs), size()))
            return bad_data("RDMA READ 讀回的內容不符");
    }
    return Status::Ok;
}

// 8< client_bw
// 頻寬階段的第 i 個 WR（視窗已經有空位）
Status Conn::client_bw_post(uint32_t i, uint64_t& verified_upto) {
    uint32_t s = i % p_.depth;
    bool last = (i + 1 == p_.iters);
    switch (p_.test) {
    case Test::Send:
        put_stamp(tx(s), size(), i + 1);
        return post_send(Wr::Send, IBV_WR_SEND, tx(s), size(), 0, 0, last, p_.depth);
    case Test::Write:
        // 最後一個用 WRITE_WITH_IMM：imm = 總次數，server 收到即知道全部資料已經放好
        put_stamp(tx(s), size(), i + 1);
        return last ? post_send(Wr::WriteImm, IBV_WR_RDMA_WRITE_WITH_IMM, tx(s), size(), remote(s), p_.iters, true, p_.depth)
                    : post_send(Wr::Write, IBV_WR_RDMA_WRITE, tx(s), size(), remote(s), 0, false, p_.depth);
    default: {
        // 第 i-depth 個 READ 已經完成（呼叫者等過視窗）：先依序驗證所有已完成的 READ，再清掉戳記重用 slot
        Status st = verify_reads(verified_upto, false);
        if (st != Status::Ok) return st;
        clear_stamp(rx(s), size());
        return post_send(Wr::Read, IBV_WR_RDMA_READ, rx(s), size(), remote(s), 0, last, p_.depth);
    }
    }
}

Status Conn::client_bw(double& seconds) {
    stats_.phase = 1;
    stats_.ops.store(0, std::memory_order_relaxed);
    uint64_t verified_upto = 0;           // READ：已驗證到第幾個
    engine_.reset_reads();                // 延遲階段的 READ 不算（它們已經 drain 並驗證過）
    if (p_.bidir)                         // 兩邊一起起跑；也讓 server 不會在延遲階段驗證完之前寫進 client 的接收區
        if (Status st = send_ctrl(Ctrl::BwStart, 0); st != Status::Ok) return st;
    uint64_t t0 = now_ns();
    if (p_.bidir && p_.test == Test::Send) {   // SEND 的兩個方向：一邊送一邊收（send_both_ways）
        Status st = send_both_ways();
        seconds = static_cast<double>(now_ns() - t0) / 1e9;
        return st;
    }
    for (uint32_t i = 0; i < p_.iters; ++i) {
        Status st = Status::Ok;
        // server 看不到 WRITE / READ 的完成：偶爾告訴它還在進行（--bidir 時 server 自己也在寫，看得到自己的完成）
        if (p_.test != Test::Send && !p_.bidir) st = maybe_progress();
        // 視窗 = depth：先等到第 i-depth 個（同一個 slot）完成，才改寫這個 slot（SEND / WRITE 的來源、READ 的目的地）。
        // 寫入戳記之後才等是錯的：還在傳的第 i-depth 個可能帶著第 i 個的戳記出去
        while (st == Status::Ok && engine_.unacked() >= p_.depth) st = engine_.progress(wait_);
        if (st == Status::Ok) st = client_bw_post(i, verified_upto);
        if (st != Status::Ok) [[unlikely]] return st;
        count_op(i + 1, size());
    }
    Status st = drain();
    RecvDone last{};
    // --bidir：等另一個方向也完成——WRITE 是 server 的最後一個 WRITE_WITH_IMM，READ 是 server 讀完、驗證完送來的 BW_DONE
    if (st == Status::Ok && p_.bidir && p_.test == Test::Write) st = next_recv(last, wait_);
    if (st == Status::Ok && p_.bidir && p_.test == Test::Read) st = wait_ctrl(Ctrl::BwDone, peer_read_verdict_);
    seconds = static_cast<double>(now_ns() - t0) / 1e9;
    if (st == Status::Ok && p_.bidir && p_.test == Test::Write) check_written(last);
    if (st != Status::Ok || p_.test != Test::Read) return st;
    return verify_reads(verified_upto, true);
}
// >8 client_bw

Status Conn::send_ctrl(Ctrl c, uint8_t value) {
    Status st = post_send(Wr::Ctrl, IBV_WR_SEND_WITH_IMM, nullptr, 0, 0, ctrl_imm(c, value), true, res_.slots.send);
    return st == Status::Ok ? drain() : st;
}
// 等控制訊息：不在量測路徑上，睡在 completion channel 上
Status Conn::wait_ctrl(Ctrl want, uint8_t& value) {
    RecvDone r{};
    Status st = next_recv(r, Wait::EventChannel);
    if (st != Status::Ok) return st;
    if (!r.with_imm || (r.imm >> 16) != kCtrlTag || ((r.imm >> 8) & 0xFF) != static_cast<uint32_t>(want))
        return bad_data("預期控制訊息，卻收到其他訊息（協定不同步）");
    value = static_cast<uint8_t>(r.imm & 0xFF);
    return Status::Ok;
}

// ---------------------------------------------------------------- atomic（client）
// 8< atomic
// 延遲：一次只有一個 atomic 在途（ping-pong 式，與 ib_atomic_lat 相同），量「貼出到完成」的時間。
// 每一次都檢查回傳的舊值：FAA 的第 k 次必須看到 (k-1)·增量；CAS 的第 k 次比較 cas_value(k-1)，舊值必須相等（= 成功）。
Status Conn::atomic_lat(bool cas, std::vector<uint64_t>& samples) {
    stats_.phase = 0;
    uint64_t& done = cas ? cas_done_ : faa_done_;
    uint64_t raddr = raddr_ + (cas ? 8 : 0);
    for (uint32_t i = 0; i < p_.iters; ++i) {
        Status st = maybe_progress();             // server 看不到 atomic：偶爾告訴它還在進行（在計時之外）
        if (st == Status::Ok) st = drain();
        if (st != Status::Ok) [[unlikely]] return st;
        uint64_t want = atomic_expect(cas, done);
        store_u64(tx(0), ~want);                  // 不可能的舊值：沒被寫回就對不上
        uint64_t t0 = now_ns();
        st = post_atomic(cas, tx(0), raddr, cas ? want : kAtomicAdd, cas ? cas_value(done + 1) : 0, true, 1);
        if (st == Status::Ok) st = drain();
        if (st != Status::Ok) [[unlikely]] return st;
        samples[i % samples.size()] = now_ns() - t0;
        if (uint64_t old = load_u64(tx(0)); old != want) [[unlikely]]
            return bad_data(std::string(cas ? "CMP_AND_SWP" : "FETCH_AND_ADD") + " 第 " + std::to_string(done + 1) +
                            " 次回傳的舊值 " + std::to_string(old) + " 不是預期的 " + std::to_string(want) +
                            (cas ? "（CAS 沒有成功：計數器被別人改過或操作遺失）" : "（有操作遺失或重複）"));
        ++done;
        count_op(i + 1, 8);
    }
    return Status::Ok;
}

// 依序驗證已完成的 atomic 帶回的舊值（第 base + upto 次之前的值）
Status Conn::verify_atomics(bool cas, uint64_t base, uint64_t& verified_upto) {
    for (; verified_upto < engine_.reads_done(); ++verified_upto) {
        uint64_t want = atomic_expect(cas, base + verified_upto);
        if (load_u64(tx(static_cast<uint32_t>(verified_upto % p_.depth))) != want)
            return bad_data(std::string(cas ? "CMP_AND_SWP" : "FETCH_AND_ADD") + " 第 " + std::to_string(base + verified_upto + 1) +
                            " 次回傳的舊值不是預期的 " + std::to_string(want) + "（速率階段：遺失、重複或沒有依序執行）");
    }
    return Status::Ok;
}

// 速率：最多 --depth 個 atomic 在途（與 ib_atomic_bw 相同）。同一條 RC 連線上的 atomic 依序執行，
// 所以連續貼出的 CAS 也能每個都比較「上一個寫入的值」而成功。slot i % depth 收第 i 個的舊值，重用前先驗證。
Status Conn::atomic_rate(bool cas, double& seconds) {
    stats_.phase = 1;
    stats_.ops.store(0, std::memory_order_relaxed);
    uint64_t& done = cas ? cas_done_ : faa_done_;
    uint64_t base = done, verified_upto = 0, raddr = raddr_ + (cas ? 8 : 0);
    engine_.reset_reads();
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < p_.iters; ++i) {
        Status st = maybe_progress();
        while (st == Status::Ok && engine_.unacked() >= p_.depth) st = engine_.progress(wait_);
        if (st == Status::Ok) st = verify_atomics(cas, base, verified_upto);
        if (st != Status::Ok) [[unlikely]] return st;
        uint64_t k = base + i;
        std::byte* dst = tx(i % p_.depth);
        store_u64(dst, ~atomic_expect(cas, k));
        st = post_atomic(cas, dst, raddr, cas ? cas_value(k) : kAtomicAdd, cas ? cas_value(k + 1) : 0, i + 1 == p_.iters, p_.depth);
        if (st != Status::Ok) [[unlikely]] return st;
        count_op(i + 1, 8);
    }
    Status st = drain();
    seconds = static_cast<double>(now_ns() - t0) / 1e9;
    if (st == Status::Ok) st = verify_atomics(cas, base, verified_upto);
    if (st == Status::Ok) done = base + p_.iters;
    return st;
}
// >8 atomic

// ---------------------------------------------------------------- server 的各階段（client 的鏡像）
Status Conn::server_lat() {
    stats_.phase = 0;
    if (p_.test == Test::Read) return Status::Ok;      // READ 不需要 server 的 CPU
    for (uint32_t i = 0; i < p_.iters; ++i) {
        uint64_t n = i + 1;
        Status st = pp_recv(n, i == 0 || i + 1 == p_.iters);
        if (st == Status::Ok) st = pp_send(n, n == p_.iters);
        if (st != Status::Ok) [[unlikely]] return st;
        count_op(n, size());
    }
    return drain();
}

// atomic：server 的 CPU 不參與；等 client 的 ATOMIC_DONE，再檢查計數器與 CAS 的最後一個值，以 BW_DONE 回報
Status Conn::server_atomic() {
    uint8_t v = 0;
    Status st = wait_ctrl(Ctrl::AtomicDone, v);
    if (st != Status::Ok) return st;
    uint64_t n = static_cast<uint64_t>(p_.iters) * ((has_lat(p_.mode) ? 1 : 0) + (has_bw(p_.mode) ? 1 : 0));
    bool ok = atomic_counter(0) == n * kAtomicAdd && atomic_counter(8) == cas_value(n);
    if (!ok)
        bad_data("atomic 計數器是 " + std::to_string(atomic_counter(0)) + "，預期 " + std::to_string(n) + " 次 × 增量 = " +
                 std::to_string(n * kAtomicAdd) + (atomic_counter(8) == cas_value(n) ? "" : "；CAS 的最後一個值也不符"));
    count_op(2 * n, 16 * n);
    return send_ctrl(Ctrl::BwDone, ok ? 1 : 0);
}

// 8< server_bw
Status Conn::server_bw() {
    stats_.phase = 1;
    stats_.ops.store(0, std::memory_order_relaxed);
    if (p_.test == Test::Read && !p_.bidir) return Status::Ok;
    if (p_.test == Test::Read) return server_read_back();
    bool ok = true;
    if (p_.test == Test::Send && p_.bidir) {
        uint8_t v = 0;
        Status st = wait_ctrl(Ctrl::BwStart, v);
        if (st == Status::Ok) st = send_both_ways();
        if (st != Status::Ok) return st;
        ok = data_ok_;                   // send_both_ways 已經逐則計數
    } else if (p_.test == Test::Send) {
        // 每則訊息依序到達：第 i 則的戳記必須是 i+1
        for (uint32_t i = 0; i < p_.iters; ++i) {
            RecvDone r{};
            Status st = next_recv(r, wait_);
            if (st != Status::Ok) return st;
            if (r.with_imm || r.len != size() || !stamp_ok(recv_buf(r.slot), size(), i + 1) ||
                ((i == 0 || i + 1 == p_.iters) && !body_ok(recv_buf(r.slot), size()))) [[unlikely]] {
                ok = false;
                bad_data("SEND 第 " + std::to_string(i + 1) + " 則訊息驗證失敗（遺失、亂序或內容錯誤）");
            }
            count_op(i + 1, size());
        }
    } else {
        // 8< bidir
        // --bidir：client 寫過來的同時，server 也對 client 的接收區做同樣的 iters 次 WRITE（最後一個帶 imm），視窗同樣是 depth，
        // 等待方式跟著 client 的 --event（perftest 的兩端都忙碌輪詢；試過視窗滿時改睡在 completion channel 上，沒有比較快）
        if (p_.bidir) {
            uint64_t unused = 0;
            uint8_t v = 0;
            if (Status st = wait_ctrl(Ctrl::BwStart, v); st != Status::Ok) return st;
            for (uint32_t i = 0; i < p_.iters; ++i) {
                Status st = Status::Ok;
                while (st == Status::Ok && engine_.unacked() >= p_.depth) st = engine_.progress(wait_);
                if (st == Status::Ok) st = client_bw_post(i, unused);
                if (st != Status::Ok) [[unlikely]] return st;
            }
            if (Status st = drain(); st != Status::Ok) return st;
        }
        // >8 bidir
        // WRITE：等最後一個 WRITE_WITH_IMM（imm = 總次數），再檢查每個 slot 留下的是最後寫入它的那一次。
        // 這段等待不忙碌輪詢（Wait::EventChannel）：server 的 CPU 不參與 RDMA WRITE，讓出來給 rxe（perftest 的 server 也是閒著）
        RecvDone r{};
        Status st = next_recv(r, Wait::EventChannel);
        if (st != Status::Ok) return st;
        ok = check_written(r);
        count_op(p_.iters, static_cast<uint64_t>(size()) * p_.iters * (p_.bidir ? 2 : 1));
    }
    return send_ctrl(Ctrl::BwDone, ok ? 1 : 0);
}

// 8< bidir-read
// READ 的 --bidir：client 從 server 讀的同時，server 也從 client 的傳送區讀同樣的 iters 次（視窗 depth），
// 依序驗證每個讀回的戳記、最後一個再逐 byte 檢查（和 client 的 READ 頻寬同一段程式：client_bw_post、verify_reads），
// 讀完以 BW_DONE 回報結果——client 等到它才停錶，所以頻寬涵蓋兩個方向都完成的時間
Status Conn::server_read_back() {
    uint8_t v = 0;
    if (Status st = wait_ctrl(Ctrl::BwStart, v); st != Status::Ok) return st;
    engine_.reset_reads();
    uint64_t verified_upto = 0;
    Status st = Status::Ok;
    for (uint32_t i = 0; i < p_.iters && st == Status::Ok; ++i) {
        while (st == Status::Ok && engine_.unacked() >= p_.depth) st = engine_.progress(wait_);
        if (st == Status::Ok) st = client_bw_post(i, verified_upto);
        if (st == Status::Ok) count_op(i + 1, size());
    }
    if (st == Status::Ok) st = drain();
    if (st == Status::Ok) st = verify_reads(verified_upto, true);
    reads_verified_ = verified_upto;                              // [結果] 的 reads_verified：server 真的讀回、核對了幾個
    if (st != Status::Ok && st != Status::BadData) return st;   // 讀到錯的資料照樣回報（BW_DONE 0），其他錯誤就是斷了
    return send_ctrl(Ctrl::BwDone, st == Status::Ok ? 1 : 0);
}
// >8 bidir-read

// 8< bidir-send
// --bidir 的 SEND（兩端都跑這個）：一邊貼自己的 iters 個 SEND（視窗 depth），一邊收對方的 iters 個——依序驗證戳記、
// 馬上補貼接收（不補的話對方會吃 RNR NAK 的等待）。兩個方向都完成才回來。控制訊息（對方的 BW_DONE）留在佇列裡給 wait_ctrl
Status Conn::send_both_ways() {
    if (repost_pending_) {                // BW_START 用掉的接收還沒補
        repost_pending_ = false;
        if (Status st = post_recv(repost_slot_); st != Status::Ok) return st;
    }
    uint32_t sent = 0, got = 0;
    uint64_t unused = 0;
    while (sent < p_.iters || got < p_.iters) {
        if (sent < p_.iters && engine_.unacked() < p_.depth) {
            if (Status st = client_bw_post(sent, unused); st != Status::Ok) return st;
            count_op(++sent + got, size());
            continue;
        }
        if (!engine_.has_recv() || engine_.front_recv().with_imm) {
            if (got == p_.iters) {            // 只剩自己的傳送在等完成
                if (Status st = engine_.progress(wait_); st != Status::Ok) return st;
                continue;
            }
            if (engine_.has_recv()) return bad_data("SEND 的頻寬階段收到非預期的控制訊息（對方提早結束？）");
            if (Status st = engine_.progress(wait_); st != Status::Ok) return st;
            continue;
        }
        RecvDone r = engine_.pop_recv();
        if (shared_) shared_->taken();
        if (r.len != size() || !stamp_ok(recv_buf(r.slot), size(), got + 1) ||
            ((got == 0 || got + 1 == p_.iters) && !body_ok(recv_buf(r.slot), size()))) [[unlikely]]
            bad_data("SEND 第 " + std::to_string(got + 1) + " 則訊息驗證失敗（遺失、亂序或內容錯誤）");
        if (Status st = post_recv(r.slot); st != Status::Ok) return st;
        count_op(sent + ++got, size());
    }
    return drain();
}
// >8 bidir-send

// WRITE 頻寬階段的接收端（server；--bidir 時 client 也是）：最後一個 WRITE_WITH_IMM 的 imm 必須是總次數，
// 每個 slot 留下的必須是最後寫入它的那一次（戳記與內容）
bool Conn::check_written(const RecvDone& r) {
    if (r.opcode != IBV_WC_RECV_RDMA_WITH_IMM || r.imm != p_.iters) {
        bad_data("WRITE_WITH_IMM 的 imm 與總次數不符");
        return false;
    }
    for (uint32_t s = 0; s < std::min(p_.depth, p_.iters); ++s) {
        uint32_t last_i = s + p_.depth * ((p_.iters - 1 - s) / p_.depth);
        if (!stamp_ok(rx(s), size(), last_i + 1) || !body_ok(rx(s), size())) {
            bad_data("RDMA WRITE slot " + std::to_string(s) + " 的內容不是第 " + std::to_string(last_i + 1) + " 次寫入的資料");
            return false;
        }
    }
    return true;
}
// >8 server_bw

// ---------------------------------------------------------------- rdma_cm 事件
struct CmEvent {
    rdma_cm_event_type type{};
    int status = 0;
    rdma_cm_id* id = nullptr;
    std::array<uint8_t, 64> pdata{};
    uint8_t pdata_len = 0;
    uint8_t initiator_depth = 0, responder_resources = 0;
    ibv_ah_attr ud_ah{};           // --qp ud（RDMA_PS_UDP）的 ESTABLISHED：對方的位址、QPN 與 Q_Key（SIDR REP 帶來的）
    uint32_t ud_qpn = 0, ud_qkey = 0;
};

// 等 channel 上的下一個事件（最多 timeout_ms）；逾時或收到停止信號時回傳 false
bool next_cm_event(rdma_event_channel* ch, int timeout_ms, CmEvent& out) {
    uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
    for (;;) {
        rdma_cm_event* ev = nullptr;
        if (rdma_get_cm_event(ch, &ev) == 0) {
            out.type = ev->event;
            out.status = ev->status;
            out.id = ev->id;
            out.pdata_len = static_cast<uint8_t>(std::min<size_t>(ev->param.conn.private_data_len, out.pdata.size()));
            if (ev->param.conn.private_data && out.pdata_len)
                std::memcpy(out.pdata.data(), ev->param.conn.private_data, out.pdata_len);
            out.initiator_depth = ev->param.conn.initiator_depth;
            out.responder_resources = ev->param.conn.responder_resources;
            if (ev->id && ev->id->ps == RDMA_PS_UDP) {   // param 是 union：UD 的事件讀 param.ud
                out.ud_ah = ev->param.ud.ah_attr;
                out.ud_qpn = ev->param.ud.qp_num;
                out.ud_qkey = ev->param.ud.qkey;
            }
            rdma_ack_cm_event(ev);
            return true;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) throw call_failed("rdma_get_cm_event", errno, "");
        if (g_stop.load()) return false;
        uint64_t now = now_ns();
        if (now >= deadline) return false;
        pollfd pfd{ch->fd, POLLIN, 0};
        int wait = static_cast<int>(std::min<uint64_t>((deadline - now) / 1'000'000 + 1, 200));
        (void)poll(&pfd, 1, wait);
    }
}

std::string cm_status_text(const CmEvent& ev) {
    std::string s = rdma_event_str(ev.type);
    if (ev.status < 0) s += "，" + std::string(std::strerror(-ev.status));
    else if (ev.status > 0) s += "，status " + std::to_string(ev.status);
    return s;
}

// 沒有任何 RDMA 裝置 → 77；指定的 --dev 不存在 → 77
void check_devices(const Config& cfg) {
    int n = 0;
    DeviceList list(ibv_get_device_list(&n));
    if (!list || n == 0) throw Failure(kExitNoDevice, std::string("找不到任何 RDMA 裝置（ibv_get_device_list 回傳 0 個）。\n  提示：") + kNoDeviceHint);
    if (cfg.dev.empty()) return;
    std::string names;
    for (int i = 0; i < n; ++i) {
        const char* name = ibv_get_device_name(list.get()[i]);
        if (cfg.dev == name) return;
        names += std::string(names.empty() ? "" : "、") + name;
    }
    throw Failure(kExitNoDevice, "找不到 RDMA 裝置「" + cfg.dev + "」；這台機器有：" + names + "（ibv_devices 可列出）");
}

EventChannel make_channel() {
    EventChannel ch(rdma_create_event_channel());
    if (!ch) {
        int e = errno;
        if (e == ENODEV || e == ENOENT) throw call_failed("rdma_create_event_channel", e, kNoDeviceHint, kExitNoDevice);
        throw call_failed("rdma_create_event_channel", e, "需要 /dev/infiniband/rdma_cm（核心模組 rdma_ucm）");
    }
    set_nonblock(ch->fd, "fcntl(rdma_cm channel)");
    return ch;
}

sockaddr_in make_addr(const std::string& ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (!ip.empty()) inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    return a;
}

uint8_t rd_atomic(ibv_context* ctx, uint32_t depth, bool initiator) {
    ibv_device_attr attr{};
    if (ibv_query_device(ctx, &attr) != 0) return 1;
    int lim = initiator ? attr.max_qp_init_rd_atom : attr.max_qp_rd_atom;
    return static_cast<uint8_t>(std::clamp<int>(std::min<int>(lim, static_cast<int>(depth)), 1, 255));
}

// --test atomic 需要裝置支援 atomic（ibv_devinfo -v 的 atomic_cap；rxe 是 ATOMIC_HCA）
void check_atomic_cap(ibv_context* ctx, const char* devname) {
    ibv_device_attr attr{};
    if (int rc = ibv_query_device(ctx, &attr); rc != 0) throw call_failed("ibv_query_device", rc, "");
    if (attr.atomic_cap == IBV_ATOMIC_NONE)
        throw Failure(kExitNoDevice, std::string("RDMA 裝置 ") + devname +
                                         " 不支援 atomic 操作（atomic_cap = ATOMIC_NONE，見 ibv_devinfo -v）；--test atomic 需要支援 atomic 的裝置");
}

std::string access_text(int a) {
    if (a == 0) return "0（只當本地來源，用 lkey）";
    std::string s;
    auto add = [&](int bit, const char* name) { if (a & bit) s += std::string(s.empty() ? "" : "|") + name; };
    add(IBV_ACCESS_LOCAL_WRITE, "LOCAL_WRITE");
    add(IBV_ACCESS_REMOTE_WRITE, "REMOTE_WRITE");
    add(IBV_ACCESS_REMOTE_READ, "REMOTE_READ");
    add(IBV_ACCESS_REMOTE_ATOMIC, "REMOTE_ATOMIC");
    return s;
}

// 測試用（RDMA_COMM_HOSTILE）：故意送出不合理的 Hello。rkey 與 oversend 在連線之後才作怪。
void apply_hostile(const Config& cfg, Hello& h) {
    std::fprintf(stderr, "[注意] 測試用的敵意模式 RDMA_COMM_HOSTILE=%s：這個 client 會故意違反協定\n", cfg.hostile.c_str());
    if (cfg.hostile == "size") h.size = 0x7FFFFFF0u;            // 2 GiB 的訊息
    else if (cfg.hostile == "iters") h.iters = 0xFFFFFFFFu;     // 超過 --iters 的上限
    else if (cfg.hostile == "oversend") h.size = 64;            // 說 64 bytes，實際送 --size bytes
}

// ---------------------------------------------------------------- client：一個測試 = 一條連線
// QP 的狀態機（rc_pingpong 用 ibv_modify_qp 一步一步走的；這裡由 rdma_cm 代勞，見 run_client_test 與 serve_one）：
//
//   RESET ──ibv_modify_qp(INIT)──> INIT ──ibv_modify_qp(RTR)──> RTR ──ibv_modify_qp(RTS)──> RTS
//           pkey、port、存取旗標          對方的 QPN 與起始 PSN、路徑（GID）、     自己的 PSN、逾時、retry_cnt、
//                                         max_dest_rd_atomic（= responder_resources） rnr_retry、max_rd_atomic（= initiator_depth）
//
//   rc_pingpong 在這之前先用 TCP 交換 QPN、PSN、GID；rdma_cm 把交換放進 REQ / REP，並在下面標出的地方替我們呼叫 ibv_modify_qp：
//     rdma_create_qp        ：RESET → INIT（ConnResources 的第 5 步）
//     server 的 rdma_accept ：INIT → RTR → RTS，然後送出 REP
//     client 收到 REP       ：librdmacm 把 QP 推到 RTR → RTS，送出 RTU，之後才交出 ESTABLISHED 事件
//     rdma_disconnect 或傳輸錯誤：→ ERROR，尚未完成的 WR 以 IBV_WC_WR_FLUSH_ERR 完成

// 8< client_connect
// 1–3. event channel 與 cm_id（RDMA_PS_TCP = 可靠連線），位址與路由解析；回傳使用的 RDMA 裝置名稱
const char* resolve_server(const Config& cfg, rdma_event_channel* ch, rdma_cm_id* id) {
    const int timeout_ms = cfg.timeout_s * 1000;
    // 2. 位址解析：決定用哪個 RDMA 裝置（路由到該位址的那個 netdev 上的 RDMA 裝置）
    sockaddr_in dst = make_addr(cfg.address, cfg.port);
    if (rdma_resolve_addr(id, nullptr, reinterpret_cast<sockaddr*>(&dst), timeout_ms) != 0)
        throw call_failed("rdma_resolve_addr", errno,
                          "沒有任何 RDMA 裝置的網路介面能路由到 " + cfg.address + "：用 `ip route get " + cfg.address +
                              "` 看走哪個介面，`rdma link` 看哪些介面有 RDMA 裝置");
    CmEvent ev;
    if (!next_cm_event(ch, timeout_ms, ev)) {
        if (g_stop) throw Failure(kExitRuntime, "收到停止信號，放棄連線");
        throw Failure(kExitRuntime, "位址解析逾時（" + std::to_string(cfg.timeout_s) + " 秒）：" + cfg.address + " 沒有回應 ARP");
    }
    if (ev.type != RDMA_CM_EVENT_ADDR_RESOLVED)
        throw Failure(kExitRuntime, "無法解析位址 " + cfg.address + "（" + cm_status_text(ev) +
                                        "）\n  提示：沒有 RDMA 裝置能路由到這個位址，或對方不存在；用 `ip route get " +
                                        cfg.address + "` 與 `rdma link` 檢查");
    const char* devname = ibv_get_device_name(id->verbs->device);
    if (!cfg.dev.empty() && cfg.dev != devname)
        throw Failure(kExitRuntime, "位址 " + cfg.address + " 經由 RDMA 裝置 " + devname + "，不是 --dev 指定的 " + cfg.dev);

    // 3. 路由解析（RoCE：決定 GID 與來源位址）
    if (rdma_resolve_route(id, timeout_ms) != 0) throw call_failed("rdma_resolve_route", errno, "");
    if (!next_cm_event(ch, timeout_ms, ev) || ev.type != RDMA_CM_EVENT_ROUTE_RESOLVED)
        throw Failure(kExitRuntime, "路由解析失敗（" +
                                        (ev.type == RDMA_CM_EVENT_ROUTE_ERROR ? cm_status_text(ev) : std::string("逾時")) + "）");
    return devname;
}

// 5. 連線：private data 帶測試參數與自己的緩衝區位址、rkey；回傳 server 的 Reply
Reply connect_to_server(const Config& cfg, const TestParams& p, rdma_event_channel* ch, rdma_cm_id* id, const Conn& conn) {
    Hello hello{kMagic, kProtoVersion, static_cast<uint8_t>(p.test), static_cast<uint8_t>(p.mode),
                static_cast<uint8_t>((p.event ? 1 : 0) | (p.want_inline ? 2 : 0) | (p.bidir ? 4 : 0)), p.size, p.iters, p.depth,
                conn.local_addr(), conn.rkey(), 0};
    if (!cfg.hostile.empty()) apply_hostile(cfg, hello);
    rdma_conn_param param{};
    param.private_data = &hello;
    param.private_data_len = cfg.hostile == "short" ? 8 : sizeof hello;
    param.initiator_depth = rd_atomic(id->verbs, p.depth, true);       // RTS 的 max_rd_atomic
    param.responder_resources = rd_atomic(id->verbs, p.depth, false);  // RTR 的 max_dest_rd_atomic
    param.retry_count = kRetryCount;                                    // RTS 的 retry_cnt
    param.rnr_retry_count = kRnrRetry;                                  // RTS 的 rnr_retry
    // QP 狀態：這裡仍在 INIT。收到 server 的 REP 時 librdmacm 把它推到 RTR → RTS 並回 RTU，然後才有 ESTABLISHED
    if (rdma_connect(id, &param) != 0) throw call_failed("rdma_connect", errno, "");
    CmEvent ev;
    if (!next_cm_event(ch, cfg.timeout_s * 1000, ev)) {
        if (g_stop) throw Failure(kExitRuntime, "收到停止信號，放棄連線");
        throw Failure(kExitRuntime, "連線逾時（" + std::to_string(cfg.timeout_s) + " 秒）：" + cfg.address + ":" +
                                        std::to_string(cfg.port) + " 沒有回應\n  提示：server 有在執行嗎？（./rdma_communication server --port " +
                                        std::to_string(cfg.port) + "）");
    }
    if (Reject rj{}; ev.type == RDMA_CM_EVENT_REJECTED && ev.pdata_len >= sizeof rj &&
                     (std::memcpy(&rj, ev.pdata.data(), sizeof rj), rj.magic == kMagic))
        throw Failure(kExitRuntime, "server 拒絕連線（reason=" + std::string(reason_key(static_cast<Reason>(rj.reason))) + "）：" +
                                        reason_text(static_cast<Reason>(rj.reason), rj.asked, rj.limit));
    if (ev.type == RDMA_CM_EVENT_REJECTED)
        throw Failure(kExitRuntime, "連線被拒絕（" + cm_status_text(ev) + "）：" + cfg.address + ":" + std::to_string(cfg.port) +
                                        " 沒有 server 在聽，或 server 不接受這些參數\n  提示：先啟動 ./rdma_communication server --port " +
                                        std::to_string(cfg.port));
    if (ev.type != RDMA_CM_EVENT_ESTABLISHED)
        throw Failure(kExitRuntime, "連線失敗（" + cm_status_text(ev) + "）：server 不存在或無法到達 " + cfg.address);
    Reply reply{};
    std::memcpy(&reply, ev.pdata.data(), std::min<size_t>(sizeof reply, ev.pdata_len));
    if (ev.pdata_len < sizeof reply || reply.magic != kMagic || reply.status != 0)
        throw Failure(kExitRuntime, "server 的回覆不正確（private data 長度 " + std::to_string(ev.pdata_len) + "）");
    return reply;
}
// >8 client_connect

// atomic 的量測：FAA 與 CAS 的延遲（一次一個）→ 速率（--depth 個在途）→ ATOMIC_DONE → server 檢查計數器後回 BW_DONE
Status measure_atomic(Conn& conn, const TestParams& p, TestResult& res, bool& server_ok) {
    Status st = Status::Ok;
    if (has_lat(p.mode)) {
        std::vector<uint64_t> samples(std::min(p.iters, kMaxSamples));
        st = conn.atomic_lat(false, samples);
        if (st == Status::Ok) {
            Percentiles pc = percentiles(samples, 1.0);   // 一次 atomic 的完成時間（與 ib_atomic_lat 相同，不除以 2）
            keep_latency(res, pc);
            st = conn.atomic_lat(true, samples);
        }
        if (st == Status::Ok) {
            Percentiles pc = percentiles(samples, 1.0);
            res.cas_p50 = pc.p50, res.cas_p99 = pc.p99;
            res.bytes += 16ull * p.iters;
        }
    }
    if (st == Status::Ok && has_bw(p.mode)) {
        double faa_s = 0, cas_s = 0;
        st = conn.atomic_rate(false, faa_s);
        if (st == Status::Ok) st = conn.atomic_rate(true, cas_s);
        if (st == Status::Ok) {
            res.faa_mops = p.iters / faa_s / 1e6;
            res.cas_mops = p.iters / cas_s / 1e6;
            res.bw_mbps = 8.0 * p.iters / faa_s / 1e6;    // 與 perftest 相同：一次 atomic 算 8 bytes
            res.bw_gbps = res.bw_mbps * 8 / 1e3;
            res.bytes += 16ull * p.iters;
        }
    }
    uint8_t v = 0;
    if (st == Status::Ok) st = conn.send_ctrl(Ctrl::AtomicDone, 0);
    if (st == Status::Ok) st = conn.wait_ctrl(Ctrl::BwDone, v);
    server_ok = (v == 1);
    return st;
}

// 6. 量測：延遲 → 頻寬 → 收 server 的驗證結果 → BYE
void measure(Conn& conn, const TestParams& p, TestResult& res) {
    Status st = Status::Ok;
    bool server_ok = true;
    if (p.test == Test::Atomic) {
        st = measure_atomic(conn, p, res, server_ok);
    } else if (has_lat(p.mode)) {
        std::vector<uint64_t> samples(std::min(p.iters, kMaxSamples));
        st = conn.client_lat(samples);
        if (st == Status::Ok) {
            // send / write 是 ping-pong：回報往返的一半；read 是一次 READ 的完整時間（與 perftest 相同）
            Percentiles pc = percentiles(samples, p.test == Test::Read ? 1.0 : 0.5);
            keep_latency(res, pc);
            res.bytes += static_cast<uint64_t>(p.size) * p.iters * (p.test == Test::Read ? 1 : 2);
        }
    }
    if (st == Status::Ok && has_bw(p.mode) && p.test != Test::Atomic) {
        double secs = 0;
        st = conn.client_bw(secs);
        uint8_t v = 1;
        if (st == Status::Ok && p.test != Test::Read) {
            st = conn.wait_ctrl(Ctrl::BwDone, v);
            server_ok = (v == 1);
        } else if (st == Status::Ok && p.bidir) {
            server_ok = conn.peer_read_verdict() == 1;   // READ --bidir：client_bw 已經收到 server 的 BW_DONE
        }
        if (st == Status::Ok) {
            double bytes = static_cast<double>(p.size) * p.iters * (p.bidir ? 2 : 1);   // --bidir：兩個方向
            res.bw_mbps = bytes / secs / 1e6;
            res.bw_gbps = bytes * 8 / secs / 1e9;
            res.bytes += static_cast<uint64_t>(bytes);
        }
    }
    bool mine = conn.data_ok();
    if (st == Status::Ok) st = conn.send_ctrl(Ctrl::Bye, mine && server_ok ? 1 : 0);
    res.ok = (st == Status::Ok);
    res.verified = res.ok && mine && server_ok;
    if (!res.ok) res.error = conn.error();
    else if (!server_ok) res.error = "server 端的資料驗證失敗";
}

// --qps：所有連線都連上之後才一起開始量測。還沒走到起跑線就失敗（例外）的連線也要放行其他人，不然它們會永遠等下去
struct StartLine {
    std::latch* latch;
    bool arrived = false;
    void arrive() { if (latch && !arrived) { arrived = true; latch->arrive_and_wait(); } }
    ~StartLine() { if (latch && !arrived) latch->count_down(); }
};

TestResult run_client_test(const Config& cfg, Test test, Stats& stats, std::latch* start = nullptr) {
    StartLine line{start};
    TestResult res;
    res.test = test;
    uint64_t t_start = now_ns();
    TestParams p = params_from_config(cfg, test);

    // 1. event channel 與 cm_id（RDMA_PS_TCP = 可靠連線）
    EventChannel ch = make_channel();
    rdma_cm_id* raw = nullptr;
    if (rdma_create_id(ch.get(), &raw, nullptr, RDMA_PS_TCP) != 0) throw call_failed("rdma_create_id", errno, "");
    CmId id(raw);
    // 2–3. 位址與路由解析
    const char* devname = resolve_server(cfg, ch.get(), id.get());
    if (test == Test::Atomic) check_atomic_cap(id->verbs, devname);
    // 4. PD / CQ / MR / QP（INIT），並貼好接收
    Conn conn(id.get(), ch.get(), p, Role::Client, stats);
    std::printf("[資訊] test=%s 裝置 %s，MR 存取旗標 %s%s\n", test_name(test), devname, access_text(conn.access()).c_str(),
                cfg.use_inline ? (" ，inline 上限 " + std::to_string(conn.inline_cap()) + " bytes").c_str() : "");
    // 5. 連線（QP → RTR → RTS），記下 server 的位址與 rkey
    Reply reply = connect_to_server(cfg, p, ch.get(), id.get(), conn);
    conn.set_remote(reply.addr, cfg.hostile == "rkey" ? reply.rkey ^ 0x00A5A500u : reply.rkey);
    line.arrive();   // --qps：等其他連線也連上
    // 6. 量測
    stats.active = 1 + static_cast<uint32_t>(test);
    measure(conn, p, res);
    stats.active = 0;
    // 7. 斷線（對端已離開時不用等）
    if (!conn.disconnected()) {
        rdma_disconnect(id.get());
        CmEvent dev;
        (void)next_cm_event(ch.get(), 2000, dev);
    }
    res.seconds = static_cast<double>(now_ns() - t_start) / 1e9;
    return res;
    // 離開時依反向順序釋放：conn（QP → MR → 緩衝區 → CQ → channel → PD）→ cm_id → event channel
}

// 8< histogram
// --histogram：一個延遲階段的完整分佈（每個 2 的冪次區間的次數、比例、累積），加上 perftest（ib_*_lat）那張表的同一組欄位，
// 可以直接和 ib_send_lat -H 的輸出對照。atomic 的分佈是 fetch-and-add 的。
void print_histogram(const Config& cfg, const TestResult& r) {
    if (r.hist.empty()) return;
    uint64_t n = 0, cum = 0;
    for (uint64_t c : r.hist) n += c;
    const bool one_way = r.test == Test::Read || r.test == Test::Atomic;
    std::printf("[分佈] test=%s 樣本 %" PRIu64 " 個，單位 µs（%s）\n", test_name(r.test), n, one_way ? "一次操作的完成時間" : "往返的一半");
    for (size_t i = 0; i < r.hist.size(); ++i) {
        if (r.hist[i] == 0) continue;
        cum += r.hist[i];
        const std::string range = i == 0 ? "[0, 1)" : "[" + std::to_string(1ull << (i - 1)) + ", " + std::to_string(1ull << i) + ")";
        std::printf("[分佈] %-14s %9" PRIu64 " 次 %6.2f%%  累積 %6.2f%%\n", range.c_str(), r.hist[i],
                    100.0 * static_cast<double>(r.hist[i]) / static_cast<double>(n), 100.0 * static_cast<double>(cum) / static_cast<double>(n));
    }
    std::printf("[perftest] #bytes #iterations t_min[usec] t_max[usec] t_typical[usec] t_avg[usec] t_stdev[usec] 99%%[usec] 99.9%%[usec]\n");
    std::printf("[perftest] %u %" PRIu64 " %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n", r.test == Test::Atomic ? 8u : cfg.size, n,
                r.lat_min, r.lat_max, r.lat_p50, r.lat_avg, r.lat_stdev, r.lat_p99, r.lat_p999);
}
// >8 histogram

// 8< qps
// --qps N：同一個頻寬測試用 N 條 RC 連線（各自的 QP、CQ、MR）同時跑，每條一個執行緒；server 端本來就每個 client 一個執行緒。
// 全部連上之後才一起起跑（StartLine），總頻寬 = 全部的 bytes ÷ 最慢那條的時間（保守：不拿各條的速率相加）。
// perftest 的 -q 是一個執行緒輪流貼到 N 個 QP；這裡每個 QP 一個執行緒，兩者都讓好幾個 QP 同時在網卡（這裡是 rxe）上排隊。
TestResult run_multi_qp(const Config& cfg, Test test, Stats& stats) {
    std::latch start(cfg.qps);
    std::vector<TestResult> parts(cfg.qps);
    std::vector<std::optional<Failure>> errors(cfg.qps);
    {
        std::vector<std::jthread> threads;
        for (uint32_t q = 0; q < cfg.qps; ++q)
            threads.emplace_back([&, q] {
                try {
                    parts[q] = run_client_test(cfg, test, stats, &start);
                } catch (const Failure& f) {
                    errors[q] = f;
                } catch (const std::exception& e) {
                    errors[q] = Failure(kExitRuntime, e.what());
                }
            });
    }   // jthread 在這裡 join
    TestResult total;
    total.test = test;
    total.qps = cfg.qps;
    total.ok = total.verified = true;
    double slowest = 0;
    for (uint32_t q = 0; q < cfg.qps; ++q) {
        if (errors[q]) {
            if (errors[q]->code == kExitNoDevice) throw *errors[q];
            throw Failure(errors[q]->code, "第 " + std::to_string(q + 1) + " 條連線：" + errors[q]->what());
        }
        const TestResult& r = parts[q];
        total.ok = total.ok && r.ok;
        total.verified = total.verified && r.verified;
        if (!r.error.empty() && total.error.empty()) total.error = "第 " + std::to_string(q + 1) + " 條連線：" + r.error;
        total.bytes += r.bytes;
        total.seconds = std::max(total.seconds, r.seconds);
        if (r.bw_mbps > 0) {
            slowest = std::max(slowest, static_cast<double>(r.bytes) / (r.bw_mbps * 1e6));
            total.qp_min_mbps = total.qp_min_mbps < 0 ? r.bw_mbps : std::min(total.qp_min_mbps, r.bw_mbps);
        }
    }
    if (total.ok && slowest > 0) {
        total.bw_mbps = static_cast<double>(total.bytes) / slowest / 1e6;
        total.bw_gbps = total.bw_mbps * 8 / 1e3;
    }
    return total;
}
// >8 qps

// 一個測試的 key=value 行（[結果] 或 --test 只有一個時的 [摘要]）
void print_result(const char* tag, const Config& cfg, const TestResult& r) {
    Summary line(tag);
    line.add("test", test_name(r.test)).add("size", r.test == Test::Atomic ? 8u : cfg.size).add("iters", cfg.iters).add("depth", cfg.depth)
        .add("mode", mode_name(cfg.mode)).add("event", cfg.event).add("inline", cfg.use_inline)
        .add("lat_p50_us", fmt_num(r.lat_p50)).add("lat_p99_us", fmt_num(r.lat_p99)).add("lat_max_us", fmt_num(r.lat_max))
        .add("bw_mbps", fmt_num(r.bw_mbps)).add("bw_gbps", fmt_num(r.bw_gbps, 3)).add("verified", r.verified)
        .add("seconds", r.seconds, 3)
        .add("lat_p90_us", fmt_num(r.lat_p90)).add("lat_p999_us", fmt_num(r.lat_p999))    // 新的 key 附在行尾
        .add("lat_min_us", fmt_num(r.lat_min)).add("lat_avg_us", fmt_num(r.lat_avg)).add("lat_stdev_us", fmt_num(r.lat_stdev))
        .add("qps", r.qps).add("qp_min_mbps", fmt_num(r.qp_min_mbps)).add("bidir", cfg.bidir).add("qp", cfg.ud ? "ud" : "rc");
    if (cfg.ud)
        line.add("ud_pings", r.ud_pings).add("ud_lat_lost", r.ud_lat_lost).add("ud_sent", r.ud_sent).add("ud_received", r.ud_received)
            .add("ud_lost", r.ud_sent - std::min(r.ud_sent, r.ud_received)).add("ud_bad", r.ud_bad)
            .add("ud_sent_mbps", fmt_num(r.ud_sent_mbps)).add("grh", r.ud_grh);
    if (r.test == Test::Atomic)
        line.add("faa_mops", fmt_num(r.faa_mops, 4)).add("cas_lat_p50_us", fmt_num(r.cas_p50)).add("cas_lat_p99_us", fmt_num(r.cas_p99))
            .add("cas_mops", fmt_num(r.cas_mops, 4));
    line.print();
}

// --test all：最後一行 [摘要] 彙總三個測試——延遲取最差（最大），頻寬取最低，三個都驗證通過才是 yes；
// 另外附上每個測試自己的數字（send_lat_p50_us ...）
void print_all_summary(const Config& cfg, const std::vector<TestResult>& results, size_t tests, bool all_ok, double secs) {
    double p50 = -1, p90 = -1, p99 = -1, p999 = -1, pmax = -1, bw = -1;
    for (const TestResult& r : results) {
        p50 = std::max(p50, r.lat_p50);
        p90 = std::max(p90, r.lat_p90);
        p99 = std::max(p99, r.lat_p99);
        p999 = std::max(p999, r.lat_p999);
        pmax = std::max(pmax, r.lat_max);
        if (r.bw_mbps >= 0) bw = bw < 0 ? r.bw_mbps : std::min(bw, r.bw_mbps);
    }
    size_t passed = static_cast<size_t>(std::count_if(results.begin(), results.end(), [](const TestResult& r) { return r.verified; }));
    Summary sum;
    sum.add("test", "all").add("size", cfg.size).add("iters", cfg.iters).add("depth", cfg.depth).add("mode", mode_name(cfg.mode))
        .add("event", cfg.event).add("lat_p50_us", fmt_num(p50)).add("lat_p99_us", fmt_num(p99)).add("bw_mbps", fmt_num(bw))
        .add("tests", tests).add("passed", passed);
    for (const TestResult& r : results) {
        std::string n = test_name(r.test);
        sum.add(n + "_lat_p50_us", fmt_num(r.lat_p50)).add(n + "_bw_mbps", fmt_num(r.bw_mbps)).add(n + "_verified", r.verified);
    }
    sum.add("verified", all_ok).add("seconds", secs, 3)
        .add("lat_p90_us", fmt_num(p90)).add("lat_p999_us", fmt_num(p999)).add("lat_max_us", fmt_num(pmax)).add("qps", cfg.qps).print();
}

int run_client(const Config& cfg) {
    check_devices(cfg);
    Stats stats;
    std::jthread stats_thread(stats_loop, std::ref(stats), cfg.role);
    std::vector<Test> tests;
    if (cfg.test == Test::All) tests = {Test::Send, Test::Write, Test::Read};
    else tests = {cfg.test};

    std::vector<TestResult> results;
    uint64_t t0 = now_ns();
    int code = kExitOk;
    for (Test t : tests) {
        if (g_stop) break;
        TestResult r;
        bool setup_failed = false;
        try {
            r = cfg.qps > 1 ? run_multi_qp(cfg, t, stats) : run_client_test(cfg, t, stats);
        } catch (const Failure& f) {
            stats.active = 0;
            if (f.code == kExitNoDevice) throw;
            r.test = t;
            r.error = f.what();
            setup_failed = true;
            code = kExitRuntime;
        }
        if (!r.error.empty()) std::fprintf(stderr, "[錯誤] %s：%s\n", test_name(t), r.error.c_str());
        std::printf("%s：延遲 p50 %s µs、p99 %s µs、最大 %s µs；頻寬 %s MB/s（%s Gbit/s）；資料驗證%s\n", test_name(t),
                    fmt_num(r.lat_p50).c_str(), fmt_num(r.lat_p99).c_str(), fmt_num(r.lat_max).c_str(),
                    fmt_num(r.bw_mbps).c_str(), fmt_num(r.bw_gbps, 3).c_str(), r.verified ? "通過" : "失敗");
        if (cfg.histogram) print_histogram(cfg, r);
        if (tests.size() > 1) print_result("[結果]", cfg, r);
        results.push_back(r);
        if (setup_failed) break;   // 連不上 server 或建不起資源：後面的測試也一樣，不必再試
    }
    stats_thread.request_stop();
    stats_thread.join();

    bool all_ok = !results.empty() && results.size() == tests.size() &&
                  std::all_of(results.begin(), results.end(), [](const TestResult& r) { return r.verified; });
    if (!all_ok) code = kExitRuntime;
    double secs = static_cast<double>(now_ns() - t0) / 1e9;
    if (tests.size() > 1) {
        print_all_summary(cfg, results, tests.size(), all_ok, secs);
        return code;
    }
    TestResult r = results.empty() ? TestResult{} : results[0];
    r.test = tests[0];
    r.seconds = secs;
    print_result("[摘要]", cfg, r);
    return code;
}

// ---------------------------------------------------------------- server
// 一個 client 的工作階段：由接受連線的執行緒（main）建立，在自己的執行緒裡跑完。
struct Session {
    std::atomic<bool> done{false};     // 執行緒最後一件事；main 看到它才 join 並歸還記憶體額度
    uint64_t region = 0;               // 這個 client 佔用的 --max-total 額度（bytes）
    std::jthread thread;               // 最後宣告：解構時先 join，其他成員才消失
};

struct ServerCounts {
    std::atomic<uint64_t> served{0}, good{0}, bad{0}, rejected{0};
};

const char* status_key(Status st) {
    switch (st) {
    case Status::Ok: return "ok";
    case Status::PeerGone: case Status::WcError: case Status::PostError: return "peer_lost";
    case Status::Protocol: return "protocol_error";
    case Status::Stopped: return "stopped";
    case Status::Timeout: return "timeout";
    case Status::BadData: return "bad_data";
    }
    return "error";
}

// 檢查 Hello 與上限（在 rdma_accept 之前，main 執行緒裡）；回傳 0 = 接受，否則是拒絕的原因
struct Admission { Reason reason{}; bool ok = false; uint64_t region = 0, asked = 0, limit = 0; };
Admission admit(const Config& cfg, const CmEvent& req, const Hello& h, const char* devname, uint64_t reserved,
                size_t active) {
    Admission a;
    bool sane = req.pdata_len >= sizeof h && h.magic == kMagic && h.version == kProtoVersion &&
                (h.test <= 2 || h.test == static_cast<uint8_t>(Test::Atomic)) &&
                h.mode >= 1 && h.mode <= 3 && h.size >= kMinSize && h.size <= kMaxSize && h.iters >= 1 &&
                h.iters <= kMaxIters && h.depth >= 1 && h.depth <= kMaxDepth &&
                (!(h.flags & 4) || (bidir_test(static_cast<Test>(h.test)) && has_bw(static_cast<Mode>(h.mode))));
    if (!sane) { a.reason = Reason::BadHello; return a; }
    if (!cfg.dev.empty() && cfg.dev != devname) { a.reason = Reason::WrongDev; return a; }
    a.region = conn_region(static_cast<Test>(h.test), h.size, h.depth);
    if (a.region > cfg.max_region) { a.reason = Reason::RegionTooBig; a.asked = a.region; a.limit = cfg.max_region; return a; }
    if (reserved + a.region > cfg.max_total) {   // limit = 還剩多少
        a.reason = Reason::TotalMemory; a.asked = a.region; a.limit = cfg.max_total - reserved; return a;
    }
    if (active >= cfg.max_clients) { a.reason = Reason::Busy; a.asked = active; a.limit = cfg.max_clients; return a; }
    a.ok = true;
    return a;
}

// [結果] 行的開頭：role=server peer=... test=... size=... iters=...
Summary server_result(const std::string& peer, const char* test, uint32_t size, uint32_t iters) {
    Summary r("[結果]");
    r.add("role", "server").add("peer", peer).add("test", test).add("size", size).add("iters", iters);
    return r;
}

// 8< serve_one
// 服務一個 client（在它自己的執行緒裡）：建立資源、accept、跑鏡像的各階段、等斷線。
// ch 與 id 已經由 main 移轉給這個 client（rdma_migrate_id），這裡擁有它們。
bool serve_one(const Config& cfg, EventChannel ch_in, CmId id_in, const CmEvent& req, const Hello& h,
               const std::string& peer, Stats& stats, SharedRecv* shared) {
    // 宣告順序：event channel 在 cm_id 之前，所以 cm_id 先被銷毀（rdma_destroy_id 需要它的 channel）
    EventChannel ch = std::move(ch_in);
    CmId id = std::move(id_in);
    TestParams p = params_from_hello(h, cfg.timeout_s);   // 測試參數由 client 決定；逾時是 server 自己的
    std::printf("[連線] client %s：test=%s size=%u iters=%u depth=%u mode=%s%s%s%s%s（裝置 %s，註冊 %" PRIu64 " KiB）\n", peer.c_str(),
                test_name(p.test), p.size, p.iters, p.depth, mode_name(p.mode), p.event ? " --event" : "",
                p.want_inline ? " --inline" : "", p.bidir ? " --bidir" : "", shared ? "，接收來自共用的 SRQ" : "", ibv_get_device_name(id->verbs->device), conn_region(p.test, p.size, p.depth) >> 10);

    uint64_t t0 = now_ns();
    Conn conn(id.get(), ch.get(), p, Role::Server, stats, shared);   // QP 在 INIT，接收已貼好（或來自 --srq 的池子）
    conn.set_remote(h.addr, h.rkey);
    Reply reply{kMagic, 0, conn.local_addr(), conn.rkey(), h.size * h.depth};
    rdma_conn_param param{};
    param.private_data = &reply;
    param.private_data_len = sizeof reply;
    param.responder_resources = std::min(req.initiator_depth, rd_atomic(id->verbs, p.depth, false));   // RTR 的 max_dest_rd_atomic
    param.initiator_depth = std::min(req.responder_resources, rd_atomic(id->verbs, p.depth, true));     // RTS 的 max_rd_atomic
    param.retry_count = kRetryCount;
    param.rnr_retry_count = kRnrRetry;
    // QP 狀態：rdma_accept 把 QP 從 INIT 推到 RTR（對方的 QPN、PSN、路徑來自 REQ）再到 RTS，然後送出 REP
    if (rdma_accept(id.get(), &param) != 0) throw call_failed("rdma_accept", errno, "");
    CmEvent ev;
    if (!next_cm_event(ch.get(), cfg.timeout_s * 1000, ev) || ev.type != RDMA_CM_EVENT_ESTABLISHED) {
        server_result(peer, test_name(p.test), p.size, p.iters).add("status", "connect_failed")
            .add("verified", "no（" + (g_stop ? std::string("停止") : cm_status_text(ev)) + "）").print();
        return false;
    }
    stats.clients.fetch_add(1);

    // 逾時是「--timeout 秒沒有任何進展」：每個完成（含 client 的 PROGRESS）都重新計算
    Status st = Status::Ok;
    if (p.test == Test::Atomic) {
        st = conn.server_atomic();
    } else {
        if (has_lat(p.mode)) st = conn.server_lat();
        if (st == Status::Ok && has_bw(p.mode)) st = conn.server_bw();
    }
    uint8_t client_ok = 0;
    if (st == Status::Ok) st = conn.wait_ctrl(Ctrl::Bye, client_ok);
    bool verified = st == Status::Ok && client_ok == 1 && conn.data_ok();
    double secs = static_cast<double>(now_ns() - t0) / 1e9;
    if (st != Status::Ok)
        std::fprintf(stderr, "[錯誤] client %s 的 %s 測試中斷：%s；繼續服務其他 client\n", peer.c_str(), test_name(p.test),
                     conn.error().c_str());
    else if (!conn.data_ok())   // 測試跑完了，但 server 這一端的驗證失敗（例如 atomic 的計數器不符）：說出哪裡不對
        std::fprintf(stderr, "[錯誤] client %s 的 %s 測試資料驗證失敗：%s\n", peer.c_str(), test_name(p.test), conn.error().c_str());
    if (!conn.disconnected()) {
        if (st != Status::Ok) rdma_disconnect(id.get());
        CmEvent dev;   // 等 client 的 DREQ（最多 2 秒）
        (void)next_cm_event(ch.get(), 2000, dev);
    }
    // [結果] 在斷線之後才印：看到它時，這個 client 的名額與記憶體額度已經（幾乎）歸還
    Summary line = server_result(peer, test_name(p.test), p.size, p.iters);
    line.add("status", status_key(st)).add("verified", verified).add("seconds", secs, 3).add("srq", shared != nullptr);
    if (p.test == Test::Atomic)   // server 自己看到的計數器與 CAS 值（client 做了幾次、是否每個 CAS 都成功）
        line.add("faa_counter", conn.atomic_counter(0)).add("cas_value", conn.atomic_counter(8));
    if (p.test == Test::Read && p.bidir) line.add("reads_verified", conn.reads_verified());   // 另一個方向：server 讀回的
    line.print();
    return verified;
    // 反向釋放：conn（QP → MR → 緩衝區 → CQ → completion channel → PD）→ cm_id → event channel
}
// >8 serve_one

// 工作階段執行緒的本體：任何例外都在這裡結束（資源已由解構子依反向順序釋放），印出 [結果]，不會 terminate
void session_main(const Config& cfg, EventChannel ch, CmId id, CmEvent req, Hello h, std::string peer, Stats& stats,
                  ServerCounts& counts, Session& self, SharedRecv* shared) noexcept {
    bool ok = false;
    stats.sessions.fetch_add(1);
    auto error_result = [&] {
        server_result(peer, test_name(static_cast<Test>(h.test)), h.size, h.iters).add("status", "error").add("verified", false).print();
    };
    try {
        ok = serve_one(cfg, std::move(ch), std::move(id), req, h, peer, stats, shared);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "[錯誤] 服務 client %s 時失敗：%s；繼續服務其他 client\n", peer.c_str(), e.what());
        error_result();
    } catch (...) {
        std::fprintf(stderr, "[錯誤] 服務 client %s 時發生未知的例外；繼續服務其他 client\n", peer.c_str());
        error_result();
    }
    (ok ? counts.good : counts.bad).fetch_add(1);
    stats.sessions.fetch_sub(1);
    self.done.store(true, std::memory_order_release);
}

// 一個連線請求：檢查 → 拒絕（附原因）或移轉到自己的 event channel 並開一個執行緒
void on_connect_request(const Config& cfg, const CmEvent& req, std::list<Session>& sessions, uint64_t& reserved,
                        Stats& stats, ServerCounts& counts, std::unique_ptr<SharedRecv>& shared) {
    CmId id(req.id);   // 擁有這個連線的 cm_id：拒絕或出錯時由它 rdma_destroy_id
    counts.served.fetch_add(1);
    Hello h{};
    std::memcpy(&h, req.pdata.data(), std::min<size_t>(sizeof h, req.pdata_len));
    char peer[INET_ADDRSTRLEN] = "?";
    auto* sa = reinterpret_cast<sockaddr_in*>(rdma_get_peer_addr(id.get()));
    if (sa && sa->sin_family == AF_INET) inet_ntop(AF_INET, &sa->sin_addr, peer, sizeof peer);
    const char* devname = ibv_get_device_name(id->verbs->device);

    Admission a = admit(cfg, req, h, devname, reserved, sessions.size());
    if (a.ok && cfg.srq) {                 // --srq：SEND 要放得進池子的緩衝區；池子綁在第一個連線的裝置上
        if (h.test == static_cast<uint8_t>(Test::Send) && h.size > kSrqBufSize) {
            a = {Reason::SrqSize, false, 0, h.size, kSrqBufSize};
        } else if (shared && shared->ctx != id->verbs) {
            a = {Reason::WrongDev, false, 0, 0, 0};
        } else if (!shared) {
            shared = std::make_unique<SharedRecv>(id->verbs, cfg.srq);
            std::printf("[資訊] 建立共用接收佇列（SRQ）：%u 個 %u KiB 的緩衝區，裝置 %s\n", cfg.srq, kSrqBufSize >> 10, devname);
        }
    }
    if (!a.ok) {
        Reject rj{kMagic, static_cast<uint8_t>(a.reason), {}, a.asked, a.limit};
        std::printf("[警告] 拒絕來自 %s 的連線（rdma_reject，reason=%s）：%s\n", peer, reason_key(a.reason),
                    reason_text(a.reason, a.asked, a.limit).c_str());
        server_result(peer, h.test <= 4 ? test_name(static_cast<Test>(h.test)) : "?", h.size, h.iters)
            .add("status", "rejected").add("reason", reason_key(a.reason)).add("verified", false).print();
        rdma_reject(id.get(), &rj, sizeof rj);
        counts.rejected.fetch_add(1);
        counts.bad.fetch_add(1);
        return;
    }
    // 每條連線一個自己的 event channel：監聽 channel 只收新的連線請求
    EventChannel ch = make_channel();
    if (rdma_migrate_id(id.get(), ch.get()) != 0) throw call_failed("rdma_migrate_id", errno, "");
    Session& s = sessions.emplace_back();
    s.region = a.region;
    try {
        s.thread = std::jthread(session_main, std::cref(cfg), std::move(ch), std::move(id), req, h, std::string(peer),
                                std::ref(stats), std::ref(counts), std::ref(s), shared.get());
    } catch (...) {                    // 開不了執行緒（std::system_error）：不佔額度，交給呼叫者回報
        sessions.pop_back();
        throw;
    }
    reserved += a.region;
}

// 收回已結束的工作階段：join 並歸還記憶體額度
void reap(std::list<Session>& sessions, uint64_t& reserved) {
    for (auto it = sessions.begin(); it != sessions.end();) {
        if (it->done.load(std::memory_order_acquire)) {
            reserved -= it->region;
            it = sessions.erase(it);   // jthread 解構時 join（執行緒已經做完最後一件事）
        } else {
            ++it;
        }
    }
}

// 監聽：rdma_cm 的 event channel 與 cm_id，綁定位址與埠，開始監聽。ch 在 id 之前宣告（呼叫者），id 先被銷毀
CmId listen_on(const Config& cfg, rdma_event_channel* ch) {
    // 8< listen
    rdma_cm_id* raw = nullptr;
    if (rdma_create_id(ch, &raw, nullptr, cfg.ud ? RDMA_PS_UDP : RDMA_PS_TCP) != 0) throw call_failed("rdma_create_id", errno, "");
    CmId listen_id(raw);
    sockaddr_in addr = make_addr(cfg.address, cfg.port);
    if (rdma_bind_addr(listen_id.get(), reinterpret_cast<sockaddr*>(&addr)) != 0) {
        int e = errno;
        // rdma_cm 的埠與 TCP 的埠是分開的兩個空間；埠衝突時核心回 EADDRNOTAVAIL（有時是 EADDRINUSE）
        if (e == EADDRINUSE || (e == EADDRNOTAVAIL && cfg.address.empty()))
            throw Failure(kExitRuntime, "rdma_bind_addr 失敗：rdma_cm 埠 " + std::to_string(cfg.port) + " 已被佔用（" + std::strerror(e) +
                                            "）\n  提示：已經有另一個 server 在這個埠上？換一個 --port，或先結束它");
        if (e == EADDRNOTAVAIL)
            throw call_failed("rdma_bind_addr", e, "位址 " + cfg.address + " 不在任何有 RDMA 裝置的介面上，或埠 " +
                                                       std::to_string(cfg.port) + " 已被佔用（rdma link、ip addr 檢查）");
        throw call_failed("rdma_bind_addr", e, cfg.address.empty() ? "" : "位址 " + cfg.address + " 不在任何有 RDMA 裝置的介面上（rdma link 檢查）");
    }
    if (rdma_listen(listen_id.get(), kListenBacklog) != 0) {
        int e = errno;   // 綁定萬用位址時，埠衝突到 rdma_listen 才會發現
        if (e == EADDRINUSE)
            throw Failure(kExitRuntime, "rdma_listen 失敗：埠 " + std::to_string(cfg.port) + " 已被佔用（" + std::strerror(e) +
                                            "）\n  提示：已經有另一個 server 在這個埠上？換一個 --port，或先結束它");
        throw call_failed("rdma_listen", e, "");
    }
    // >8 listen
    return listen_id;
}

int run_server(const Config& cfg) {
    check_devices(cfg);
    EventChannel ch = make_channel();
    CmId listen_id = listen_on(cfg, ch.get());
    std::printf("[就緒] server 在 %s:%u 等待 RDMA 連線（最多同時 %u 個 client，每個最多註冊 %" PRIu64 " KiB、合計 %" PRIu64
                " KiB；Ctrl-C 結束）\n",
                cfg.address.empty() ? "0.0.0.0" : cfg.address.c_str(), cfg.port, cfg.max_clients, cfg.max_region >> 10,
                cfg.max_total >> 10);

    // 宣告順序：統計與計數在工作階段之前，所以解構時先 join 所有工作階段的執行緒
    Stats stats;
    ServerCounts counts;
    std::jthread stats_thread(stats_loop, std::ref(stats), cfg.role);
    std::unique_ptr<SharedRecv> shared;  // --srq：在工作階段之前宣告，所以所有連線（它們的 QP）都拆掉之後才釋放
    std::list<Session> sessions;       // list：元素的位址不變（執行緒持有自己那個 Session 的參考）
    uint64_t reserved = 0;
    uint64_t t0 = now_ns();
    while (!g_stop) {
        reap(sessions, reserved);
        CmEvent ev;
        if (!next_cm_event(ch.get(), 200, ev)) continue;
        if (ev.type != RDMA_CM_EVENT_CONNECT_REQUEST) continue;
        reap(sessions, reserved);
        try {
            on_connect_request(cfg, ev, sessions, reserved, stats, counts, shared);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "[錯誤] 接受 client 時失敗：%s；繼續等待下一個 client\n", e.what());
            Summary("[結果]").add("role", "server").add("peer", "?").add("status", "error").add("verified", false).print();
            counts.bad.fetch_add(1);
        }
    }
    sessions.clear();                  // 每個工作階段看到停止旗標後結束；這裡 join 它們
    stats_thread.request_stop();
    stats_thread.join();
    uint64_t bad = counts.bad.load();
    Summary().add("role", "server").add("port", cfg.port).add("clients", counts.served.load())
        .add("verified_ok", counts.good.load()).add("failed", bad).add("rejected", counts.rejected.load())
        .add("bytes", stats.bytes.load()).add("verified", bad == 0).add("seconds", static_cast<double>(now_ns() - t0) / 1e9, 3)
        .add("srq_bufs", cfg.srq).add("srq_recvs", shared ? shared->recvs.load() : 0)
        .add("srq_posted", shared ? shared->posted.load() : 0).print();   // srq_posted = srq_bufs：沒有緩衝區遺失
    return kExitOk;
}

// ============================================================================
// UD：unreliable datagram（--qp ud）
// ============================================================================
// 8< ud
// 沒有連線：一個 UD QP 可以和任何 QP 收送，每個 SEND 自己帶著「送到哪裡」（address handle + 對方的 QPN + Q_Key）。
// 和 RC 不同的三件事，這一節都看得到：
//   * 一則訊息就是一個封包：不能超過路徑 MTU（RC 會替你切段，UD 不會）。
//   * 收到的每則訊息前面都有 40 bytes 的 GRH（Global Route Header；RoCE 上一定有，IBV_WC_GRH）：接收緩衝區要多留 40 bytes，
//     資料從第 40 個 byte 開始。RoCEv2 的 IPv4 封包把 IPv4 標頭放在 GRH 的後 20 bytes，所以來源位址就在 GRH 的第 32–35 byte。
//   * 沒有 ACK、沒有重送：對方沒有貼接收（或佇列滿了），訊息就消失，傳送端的完成事件照樣是成功。遺失只有接收端數得出來。
// rdma_cm 在 RDMA_PS_UDP 埠空間用 SIDR（Service ID Resolution）REQ/REP 換到對方的 QPN 與 Q_Key，不建立連線。
// server 只有一個 UD QP，服務所有 client：回信的 address handle 從那則訊息的完成事件與 GRH 建立（ibv_create_ah_from_wc）。
// 訊息種類放在 immediate data（kCtrlTag << 16 | 種類）：PING/PONG（延遲）、DATA（頻寬）、DONE/REPORT（收尾：server 回報收到幾個）。
constexpr uint32_t kGrhBytes = 40;
constexpr uint32_t kGrhIpv4Src = 20 + 12;      // RoCEv2 / IPv4：GRH 的後 20 bytes 是 IPv4 標頭，來源位址在它的第 12 byte
constexpr uint32_t kUdServerRecvs = 512;       // server 預貼的接收數（perftest 的 UD 也是幾百個）
constexpr uint32_t kUdServerSends = 64;        // server 同時在途的回信數
constexpr uint32_t kUdClientRecvs = 64;        // client 預貼的接收數（只收 PONG 與 REPORT）
constexpr uint32_t kUdCtrlBytes = 64;          // DONE / REPORT 的大小
constexpr int kUdReplyTimeoutMs = 500;         // PING 等不到 PONG、DONE 等不到 REPORT：算遺失，送下一個
constexpr uint64_t kUdSpinNs = 5'000'000;      // server 沒事做時先忙碌輪詢 5 ms，再睡在 completion channel 上
constexpr size_t kUdMaxPeers = 1024;           // server 記得的 client 數；閒置 60 秒就忘掉
constexpr uint64_t kUdPeerIdleNs = 60'000'000'000ull;
enum class UdKind : uint8_t { Ping = 1, Pong, Data, Done, Report };
constexpr uint32_t ud_imm(UdKind k) { return kCtrlTag << 16 | static_cast<uint8_t>(k); }
struct UdHello { uint32_t magic; uint8_t version, pad[3]; uint32_t size; };   // SIDR REQ 的 private data
struct UdReply { uint32_t magic; uint32_t max_size; };                       // SIDR REP 的 private data：server 收得下多大
// DONE 的內容（client → server）與 REPORT（server → client），都在訊息開頭
struct UdDone { uint64_t pings, sent; };
struct UdReport { uint64_t pings, received, bad; };
static_assert(sizeof(UdReport) <= kUdCtrlBytes && sizeof(UdDone) <= kUdCtrlBytes);

using Ah = std::unique_ptr<ibv_ah, Deleter<ibv_destroy_ah>>;
using RawQp = std::unique_ptr<ibv_qp, Deleter<ibv_destroy_qp>>;

uint32_t mtu_bytes(ibv_mtu m) { return 128u << static_cast<int>(m); }   // IBV_MTU_256 = 1 → 256
uint32_t port_mtu(ibv_context* ctx, uint8_t port) {
    ibv_port_attr attr{};
    if (int rc = ibv_query_port(ctx, port, &attr); rc != 0) throw call_failed("ibv_query_port", rc, "");
    return mtu_bytes(attr.active_mtu);
}
std::string grh_source(const std::byte* grh) {
    char s[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, grh + kGrhIpv4Src, s, sizeof s);
    return s;
}

// 一端的 UD 資源（client 與 server 共用）。宣告順序 = 取得順序，解構相反：QP → MR → 緩衝區 → CQ → channel → PD。
// 接收區 recvs 個 slot，每個 40 + slot bytes（GRH 在前）；傳送區 sends 個 slot。
struct UdEndpoint {
    UdEndpoint(ibv_context* ctx, uint32_t slot_bytes, uint32_t recvs, uint32_t sends);
    std::byte* rx(uint32_t s) const { return buf.p + static_cast<size_t>(s) * (kGrhBytes + slot); }   // GRH 的開頭
    std::byte* tx(uint32_t s) const { return buf.p + static_cast<size_t>(recvs) * (kGrhBytes + slot) + static_cast<size_t>(s) * slot; }
    ibv_qp* qp() const { return raw_qp ? raw_qp.get() : cm_qp.id->qp; }
    int post_recv(uint32_t s) {
        ibv_sge sge{reinterpret_cast<uint64_t>(rx(s)), kGrhBytes + slot, mr->lkey};   // 40 bytes 的 GRH + 資料
        ibv_recv_wr wr{};
        wr.wr_id = s;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        ibv_recv_wr* bad = nullptr;
        return ibv_post_recv(qp(), &wr, &bad);
    }
    // 8< ud-send
    // 一個 UD SEND：除了資料，還要說送到哪裡——address handle、對方的 QPN、Q_Key（對方 QP 的 Q_Key 不同就會被丟掉）
    int post_send(uint32_t s, uint32_t len, UdKind kind, ibv_ah* ah, uint32_t qpn, uint32_t qkey, bool signaled) {
        ibv_sge sge{reinterpret_cast<uint64_t>(tx(s)), len, mr->lkey};
        ibv_send_wr wr{};
        wr.wr_id = s;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND_WITH_IMM;
        wr.imm_data = htonl(ud_imm(kind));
        wr.send_flags = signaled ? IBV_SEND_SIGNALED : 0;
        wr.wr.ud.ah = ah;
        wr.wr.ud.remote_qpn = qpn;
        wr.wr.ud.remote_qkey = qkey;
        ibv_send_wr* bad = nullptr;
        return ibv_post_send(qp(), &wr, &bad);
    }
    // >8 ud-send
    uint32_t slot, recvs, sends;
    Pd pd;
    CompChannel comp_ch;
    Cq cq;
    Buffer buf;
    Mr mr;
    Qp cm_qp;          // client：QP 屬於 cm_id（rdma_create_qp），rdma_cm 替它走完 INIT → RTR → RTS
    RawQp raw_qp;      // server：自己建（ibv_create_qp），自己走狀態機（ud_server_qp）
};

UdEndpoint::UdEndpoint(ibv_context* ctx, uint32_t slot_bytes, uint32_t r, uint32_t s) : slot(slot_bytes), recvs(r), sends(s) {
    pd.reset(ibv_alloc_pd(ctx));
    if (!pd) throw call_failed("ibv_alloc_pd", errno, "裝置資源不足？檢查 ulimit -l（locked memory）");
    comp_ch.reset(ibv_create_comp_channel(ctx));
    if (!comp_ch) throw call_failed("ibv_create_comp_channel", errno, "");
    set_nonblock(comp_ch->fd, "fcntl(completion channel)");
    cq.cq = ibv_create_cq(ctx, static_cast<int>(recvs + sends), nullptr, comp_ch.get(), 0);
    if (!cq.cq) throw call_failed("ibv_create_cq", errno, "");
    buf.len = static_cast<size_t>(recvs) * (kGrhBytes + slot) + static_cast<size_t>(sends) * slot;
    void* mem = mmap(nullptr, buf.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw call_failed("mmap", errno, "記憶體不足？");
    buf.p = static_cast<std::byte*>(mem);
    mr.reset(ibv_reg_mr(pd.get(), buf.p, buf.len, IBV_ACCESS_LOCAL_WRITE));   // UD 只有 SEND/RECV：不開任何 REMOTE_* 權限
    if (!mr) throw call_failed("ibv_reg_mr", errno, "無法鎖定記憶體：檢查 ulimit -l（RLIMIT_MEMLOCK）");
}

ibv_qp_init_attr ud_qp_attr(const UdEndpoint& ep) {
    ibv_qp_init_attr attr{};
    attr.send_cq = ep.cq.cq;
    attr.recv_cq = ep.cq.cq;
    attr.qp_type = IBV_QPT_UD;
    attr.cap.max_send_wr = ep.sends;
    attr.cap.max_recv_wr = ep.recvs;
    attr.cap.max_send_sge = attr.cap.max_recv_sge = 1;
    return attr;
}

// 8< ud-qp
// server 的 UD QP 自己走狀態機（client 的由 rdma_cm 代勞）。和 RC 比（見 client 一節的圖），UD 的每一步都不需要對方：
//   INIT：pkey、port、Q_Key（收到的訊息 Q_Key 不符就丟掉）；RTR：什麼都不用（沒有對方的 QPN、PSN、路徑）；RTS：自己的起始 PSN。
// Q_Key 用 rdma_cm 的 RDMA_UDP_QKEY：server 的 rdma_accept 在 SIDR REP 裡告訴 client 的就是它。
void ud_server_qp(UdEndpoint& ep, uint8_t port) {
    ibv_qp_init_attr init = ud_qp_attr(ep);
    ep.raw_qp.reset(ibv_create_qp(ep.pd.get(), &init));
    if (!ep.raw_qp) throw call_failed("ibv_create_qp(UD)", errno, "");
    ibv_qp_attr a{};
    a.qp_state = IBV_QPS_INIT;
    a.pkey_index = 0;
    a.port_num = port;
    a.qkey = RDMA_UDP_QKEY;
    if (int rc = ibv_modify_qp(ep.qp(), &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY); rc != 0)
        throw call_failed("ibv_modify_qp(INIT)", rc, "");
    a = {};
    a.qp_state = IBV_QPS_RTR;
    if (int rc = ibv_modify_qp(ep.qp(), &a, IBV_QP_STATE); rc != 0) throw call_failed("ibv_modify_qp(RTR)", rc, "");
    a.qp_state = IBV_QPS_RTS;
    a.sq_psn = 0;
    if (int rc = ibv_modify_qp(ep.qp(), &a, IBV_QP_STATE | IBV_QP_SQ_PSN); rc != 0) throw call_failed("ibv_modify_qp(RTS)", rc, "");
}
// >8 ud-qp
// >8 ud

// ---------------------------------------------------------------- UD client
struct UdClient {
    UdEndpoint& ep;
    ibv_ah* ah;
    uint32_t qpn, qkey, size;
    Stats& stats;
    int timeout_s;
    bool grh = false;
    uint64_t stale = 0;                      // 晚到的 PONG（已經算遺失的那一個）
    std::array<ibv_wc, kPollBatch> wc{};

    // 8< ud-recv
    // 等下一則指定種類的訊息（最多 ms 毫秒），順便收掉傳送完成。回傳資料的開頭（GRH 之後）與長度；逾時回傳 nullptr。
    // 一次 ibv_poll_cq 取回的一批完成要一個一個處理完：找到要的那則就返回，批次裡剩下的留到下一次（丟掉就少算傳送完成）
    const std::byte* wait_for(UdKind want, int ms, uint32_t& len, uint64_t& sends_done) {
        uint64_t deadline = now_ns() + static_cast<uint64_t>(ms) * 1'000'000ull;
        for (uint32_t spin = 0;; ++spin) {
            if (pos_ == have_) {
                have_ = ibv_poll_cq(ep.cq.cq, kPollBatch, wc.data());
                pos_ = 0;
                if (have_ < 0) throw Failure(kExitRuntime, "ibv_poll_cq 失敗");
            }
            while (pos_ < have_) {
                const ibv_wc& w = wc[static_cast<size_t>(pos_++)];
                if (w.status != IBV_WC_SUCCESS)
                    throw Failure(kExitRuntime, std::string("UD 完成事件失敗：") + ibv_wc_status_str(w.status) + "（opcode " + std::to_string(w.opcode) + "）");
                if (w.opcode != IBV_WC_RECV) { ++sends_done; continue; }
                auto s = static_cast<uint32_t>(w.wr_id);
                grh = grh || (w.wc_flags & IBV_WC_GRH);                       // RoCE：一定有
                const std::byte* data = ep.rx(s) + kGrhBytes;                // 資料在 GRH 之後
                uint32_t dlen = w.byte_len >= kGrhBytes ? w.byte_len - kGrhBytes : 0;   // byte_len 包含 GRH
                if ((w.wc_flags & IBV_WC_WITH_IMM) && ntohl(w.imm_data) == ud_imm(want) && w.src_qp == qpn) {
                    pending_repost_ = s;
                    len = dlen;
                    return data;                     // 呼叫者看完後呼叫 release()
                }
                if (int rc = ep.post_recv(s); rc != 0) throw call_failed("ibv_post_recv", rc, "");
                ++stale;
            }
            if ((spin & kSpinCheckMask) == 0 && (g_stop || now_ns() >= deadline)) return nullptr;
        }
    }
    // >8 ud-recv
    void release() {
        if (int rc = ep.post_recv(pending_repost_); rc != 0) throw call_failed("ibv_post_recv", rc, "");
    }
    // 傳送完成到 want 個為止（改寫 slot 之前）；逾時就是裝置卡住了
    void drain_sends(uint64_t want, uint64_t& sends_done) {
        uint64_t give_up = now_ns() + static_cast<uint64_t>(timeout_s) * 1'000'000'000ull;
        while (sends_done < want && !g_stop) {
            if (uint32_t l; wait_for(UdKind::Report, 1, l, sends_done)) release();   // 這時不會有 REPORT：只是收完成
            if (now_ns() > give_up) throw Failure(kExitRuntime, "UD 的傳送 " + std::to_string(timeout_s) + " 秒沒有完成事件");
        }
    }
    uint32_t pending_repost_ = 0;
    int have_ = 0, pos_ = 0;                 // wc[pos_, have_)：已經取回、還沒處理的完成
};

// 延遲：PING n → 等 PONG n（最多 kUdReplyTimeoutMs；等不到就算遺失、送下一個——UD 不會替你重送）。
// 每次往返的一半是一個樣本（和 ib_send_lat 相同）。連續 --timeout 秒一個 PONG 都沒有：server 不在了。
bool ud_latency(const Config& cfg, UdClient& c, TestResult& res) {
    std::vector<uint64_t> samples;
    samples.reserve(std::min(cfg.iters, kMaxSamples));
    uint64_t sends_done = 0, last_reply = now_ns(), kept = 0;
    bool ok = true;
    std::byte* m = c.ep.tx(0);
    fill_body(m, cfg.size);
    c.stats.phase = 0;
    for (uint64_t n = 1; n <= cfg.iters && !g_stop; ++n) {
        c.drain_sends(n - 1, sends_done);   // 上一個 PING 的傳送完成之前不改寫它的 slot
        put_stamp(m, cfg.size, n);
        uint64_t t0 = now_ns();
        if (int rc = c.ep.post_send(0, cfg.size, UdKind::Ping, c.ah, c.qpn, c.qkey, true); rc != 0) throw call_failed("ibv_post_send(UD)", rc, "");
        ++res.ud_pings;
        const std::byte* d = nullptr;
        uint32_t len = 0;
        uint64_t deadline = t0 + kUdReplyTimeoutMs * 1'000'000ull;
        while (!g_stop && now_ns() < deadline) {   // 晚到的舊 PONG（它的 PING 已經算遺失）丟掉繼續等
            d = c.wait_for(UdKind::Pong, static_cast<int>((deadline - now_ns()) / 1'000'000 + 1), len, sends_done);
            if (!d || (len >= kMinSize && load_tail(d, len) == n)) break;
            c.release();
            d = nullptr;
            ++c.stale;
        }
        uint64_t t1 = now_ns();
        if (!d) {
            if (g_stop) break;
            ++res.ud_lat_lost;
            if (t1 - last_reply > static_cast<uint64_t>(c.timeout_s) * 1'000'000'000ull)
                throw Failure(kExitRuntime, "連續 " + std::to_string(c.timeout_s) + " 秒沒有收到任何 PONG：server 不在了？"
                                                "（UD 沒有連線，看不出對方離開，只看得到沒有回音）");
            continue;
        }
        last_reply = t1;
        bool full = n == 1 || n == cfg.iters;
        if (len != cfg.size || !stamp_ok(d, cfg.size, n) || (full && !body_ok(d, cfg.size))) ok = false;
        c.release();
        uint64_t rtt = t1 - t0;
        if (samples.size() < kMaxSamples) samples.push_back(rtt);
        else samples[kept % kMaxSamples] = rtt;
        ++kept;
        c.stats.ops.fetch_add(1, std::memory_order_relaxed);
        c.stats.bytes.fetch_add(2ull * cfg.size, std::memory_order_relaxed);
    }
    c.drain_sends(res.ud_pings, sends_done);
    if (!samples.empty()) {
        Percentiles pc = percentiles(samples, 0.5);   // 往返的一半
        keep_latency(res, pc);
    }
    return ok && !samples.empty();
}

// 頻寬：連續送 --iters 個 DATA，最多 --depth 個在途，每 depth/4 個要一個完成事件。傳送端的完成只表示「送出去了」：
// 收到幾個只有 server 知道（收尾時的 REPORT）。
void ud_bandwidth(const Config& cfg, UdClient& c, TestResult& res) {
    const uint32_t sig = std::max(1u, cfg.depth / 4);
    for (uint32_t s = 0; s < cfg.depth; ++s) fill_body(c.ep.tx(s), cfg.size);
    c.stats.phase = 1;
    uint64_t posted = 0, retired = 0, t0 = now_ns(), last_progress = t0;
    std::array<ibv_wc, kPollBatch> wc{};
    while (retired < cfg.iters && !g_stop) {
        while (posted < cfg.iters && posted - retired < cfg.depth) {
            auto s = static_cast<uint32_t>(posted % cfg.depth);
            put_stamp(c.ep.tx(s), cfg.size, posted + 1);
            bool signaled = (posted + 1) % sig == 0 || posted + 1 == cfg.iters;
            if (int rc = c.ep.post_send(s, cfg.size, UdKind::Data, c.ah, c.qpn, c.qkey, signaled); rc != 0)
                throw call_failed("ibv_post_send(UD)", rc, "");
            ++posted;
        }
        int n = ibv_poll_cq(c.ep.cq.cq, kPollBatch, wc.data());
        if (n < 0) throw Failure(kExitRuntime, "ibv_poll_cq 失敗");
        for (int k = 0; k < n; ++k) {
            const ibv_wc& w = wc[static_cast<size_t>(k)];
            if (w.status != IBV_WC_SUCCESS) throw Failure(kExitRuntime, std::string("UD 傳送失敗：") + ibv_wc_status_str(w.status));
            if (w.opcode == IBV_WC_RECV) {            // 晚到的 PONG：貼回去
                if (int rc = c.ep.post_recv(static_cast<uint32_t>(w.wr_id)); rc != 0) throw call_failed("ibv_post_recv", rc, "");
                ++c.stale;
                continue;
            }
            // 傳送完成依序到達：一個完成代表它和它之前的 sig 個 WR 都送出了
            retired = std::min<uint64_t>(cfg.iters, (retired / sig + 1) * sig);
            last_progress = now_ns();
            c.stats.ops.store(retired, std::memory_order_relaxed);
        }
        if (n == 0 && now_ns() - last_progress > static_cast<uint64_t>(c.timeout_s) * 1'000'000'000ull)
            throw Failure(kExitRuntime, "UD 的傳送 " + std::to_string(c.timeout_s) + " 秒沒有完成事件");
    }
    double secs = static_cast<double>(now_ns() - t0) / 1e9;
    res.ud_sent = retired;
    res.seconds = secs;
    c.stats.bytes.fetch_add(retired * cfg.size, std::memory_order_relaxed);
    res.ud_sent_mbps = static_cast<double>(retired) * cfg.size / secs / 1e6;
}

// 收尾：DONE{送了幾個 PING、幾個 DATA} → REPORT{server 收到幾個、戳記不對的幾個}。DONE 也可能遺失，等不到 REPORT 就再送一次
bool ud_finish(UdClient& c, uint32_t ctrl_slot, TestResult& res, UdReport& rep) {
    UdDone done{res.ud_pings, res.ud_sent};
    std::memcpy(c.ep.tx(ctrl_slot), &done, sizeof done);
    uint64_t sends_done = 0, posted = 0;
    uint64_t give_up = now_ns() + static_cast<uint64_t>(c.timeout_s) * 1'000'000'000ull;
    while (!g_stop && now_ns() < give_up) {
        if (sends_done == posted) {   // 上一個 DONE 送完才再送（同一個 slot）
            if (int rc = c.ep.post_send(ctrl_slot, kUdCtrlBytes, UdKind::Done, c.ah, c.qpn, c.qkey, true); rc != 0)
                throw call_failed("ibv_post_send(UD)", rc, "");
            ++posted;
        }
        uint32_t len = 0;
        if (const std::byte* d = c.wait_for(UdKind::Report, kUdReplyTimeoutMs, len, sends_done); d && len >= sizeof rep) {
            std::memcpy(&rep, d, sizeof rep);
            c.release();
            return true;
        } else if (d) {
            c.release();
        }
    }
    return false;
}

TestResult run_ud_test(const Config& cfg, Stats& stats) {
    TestResult res;
    res.test = Test::Send;
    uint64_t t_start = now_ns();
    // 1. event channel 與 cm_id：RDMA_PS_UDP（UD 的埠空間，和 RC 的 RDMA_PS_TCP 分開）
    EventChannel ch = make_channel();
    rdma_cm_id* raw = nullptr;
    if (rdma_create_id(ch.get(), &raw, nullptr, RDMA_PS_UDP) != 0) throw call_failed("rdma_create_id", errno, "");
    CmId id(raw);
    // 2–3. 位址與路由解析（和 RC 相同）；UD 的訊息不能超過路徑 MTU
    const char* devname = resolve_server(cfg, ch.get(), id.get());
    uint32_t mtu = port_mtu(id->verbs, id->port_num);
    if (cfg.size > mtu)
        throw Failure(kExitUsage, "--qp ud 的訊息 " + std::to_string(cfg.size) + " bytes 超過路徑 MTU " + std::to_string(mtu) + " bytes（" +
                                      devname + " 的 active_mtu）：UD 不分段，一則訊息必須放進一個封包\n  提示：用 --size " +
                                      std::to_string(mtu) + " 以下，或用 RC（--qp rc 會替你切段）");
    // 4. PD、CQ、MR 與 UD QP（rdma_create_qp 在 RDMA_PS_UDP 上把它直接推到 RTS），接收事先貼好
    UdEndpoint ep(id->verbs, std::max(cfg.size, kUdCtrlBytes), kUdClientRecvs, cfg.depth + 1);
    ibv_qp_init_attr attr = ud_qp_attr(ep);
    ep.cm_qp.id = id.get();
    if (rdma_create_qp(id.get(), ep.pd.get(), &attr) != 0) throw call_failed("rdma_create_qp(UD)", errno, "");
    for (uint32_t s = 0; s < ep.recvs; ++s)
        if (int rc = ep.post_recv(s); rc != 0) throw call_failed("ibv_post_recv", rc, "");
    // 5. SIDR：private data 帶訊息大小；REP 帶回 server 的 QPN、Q_Key、位址（ESTABLISHED 的 param.ud）與它收得下多大
    UdHello hello{kMagic, kProtoVersion, {}, cfg.size};
    rdma_conn_param param{};
    param.private_data = &hello;
    param.private_data_len = sizeof hello;
    if (rdma_connect(id.get(), &param) != 0) throw call_failed("rdma_connect(SIDR)", errno, "");
    CmEvent ev;
    if (!next_cm_event(ch.get(), cfg.timeout_s * 1000, ev))
        throw Failure(kExitRuntime, g_stop ? "收到停止信號，放棄" : "SIDR 逾時（" + std::to_string(cfg.timeout_s) + " 秒）：" + cfg.address + " 沒有回應");
    if (ev.type != RDMA_CM_EVENT_ESTABLISHED)
        throw Failure(kExitRuntime, "SIDR 失敗（" + cm_status_text(ev) + "）：" + cfg.address + ":" + std::to_string(cfg.port) +
                                        " 沒有 UD 的 server\n  提示：先啟動 ./rdma_communication server --qp ud --port " + std::to_string(cfg.port) +
                                        "（UD 與 RC 是不同的埠空間）");
    UdReply reply{};
    std::memcpy(&reply, ev.pdata.data(), std::min<size_t>(sizeof reply, ev.pdata_len));
    if (ev.pdata_len < sizeof reply || reply.magic != kMagic) throw Failure(kExitRuntime, "UD server 的 SIDR REP 不正確");
    if (cfg.size > reply.max_size)
        throw Failure(kExitUsage, "server 的接收緩衝區只收得下 " + std::to_string(reply.max_size) + " bytes 的訊息（它的路徑 MTU），--size " +
                                      std::to_string(cfg.size) + " 太大：UD 收不下的訊息會被丟掉，不會有錯誤");
    Ah ah(ibv_create_ah(ep.pd.get(), &ev.ud_ah));
    if (!ah) throw call_failed("ibv_create_ah", errno, "");
    std::printf("[資訊] test=send qp=ud 裝置 %s，路徑 MTU %u bytes，server QPN %u、Q_Key 0x%x\n", devname, mtu, ev.ud_qpn, ev.ud_qkey);
    UdClient c{ep, ah.get(), ev.ud_qpn, ev.ud_qkey, cfg.size, stats, cfg.timeout_s};
    // 6–8. 延遲、頻寬、收尾
    stats.active = 1 + static_cast<uint32_t>(Test::Send);
    bool lat_ok = !has_lat(cfg.mode) || ud_latency(cfg, c, res);
    if (has_bw(cfg.mode) && !g_stop) ud_bandwidth(cfg, c, res);
    UdReport rep{};
    bool reported = !g_stop && ud_finish(c, cfg.depth, res, rep);
    stats.active = 0;
    res.ud_grh = c.grh;
    res.ud_received = rep.received;
    res.ud_bad = rep.bad;
    if (has_bw(cfg.mode) && res.seconds > 0) {
        res.bw_mbps = static_cast<double>(rep.received) * cfg.size / res.seconds / 1e6;   // 送達的
        res.bw_gbps = res.bw_mbps * 8 / 1000;
    }
    // 驗證：每個 PONG 的戳記與內容、server 收到的 DATA 沒有重複或亂序、收到的不多於送出的、server 數到的 PING 介於送達與送出之間
    uint64_t pings_delivered = res.ud_pings - res.ud_lat_lost;
    res.verified = lat_ok && reported && rep.bad == 0 && rep.received <= res.ud_sent && rep.pings >= pings_delivered && rep.pings <= res.ud_pings;
    if (!reported && !g_stop) res.error = "沒有收到 server 的 REPORT（DONE 送了 " + std::to_string(c.timeout_s) + " 秒）";
    else if (!res.verified) res.error = "資料驗證失敗：PONG 的戳記或內容不符，或 server 的計數不合理（pings=" + std::to_string(rep.pings) +
                                        " received=" + std::to_string(rep.received) + " bad=" + std::to_string(rep.bad) + "）";
    res.ok = res.verified;
    res.seconds = static_cast<double>(now_ns() - t_start) / 1e9;
    return res;
    // 離開時依反向順序釋放：AH → UdEndpoint（QP → MR → 緩衝區 → CQ → channel → PD）→ cm_id → event channel
}

int run_ud_client(const Config& cfg) {
    check_devices(cfg);
    Stats stats;
    std::jthread stats_thread(stats_loop, std::ref(stats), cfg.role);
    TestResult r = run_ud_test(cfg, stats);
    stats_thread.request_stop();
    stats_thread.join();
    if (!r.error.empty()) std::fprintf(stderr, "[錯誤] send（UD）：%s\n", r.error.c_str());
    std::printf("send（UD）：延遲 p50 %s µs、p99 %s µs，PING %" PRIu64 " 個、沒等到 PONG %" PRIu64 " 個；頻寬：送出 %" PRIu64 " 個、送達 %" PRIu64
                " 個（%s MB/s，傳送端 %s MB/s）；資料驗證%s\n",
                fmt_num(r.lat_p50).c_str(), fmt_num(r.lat_p99).c_str(), r.ud_pings, r.ud_lat_lost, r.ud_sent, r.ud_received,
                fmt_num(r.bw_mbps).c_str(), fmt_num(r.ud_sent_mbps).c_str(), r.verified ? "通過" : "失敗");
    if (cfg.histogram) print_histogram(cfg, r);
    print_result("[摘要]", cfg, r);
    return r.verified ? kExitOk : kExitRuntime;
}

// ---------------------------------------------------------------- UD server
// 一個 client（以 GRH 的來源位址與 src_qp 區分）。AH 在第一則訊息時由完成事件建立，之後回信都用它
struct UdPeer {
    Ah ah;
    std::string addr;
    uint32_t qpn = 0;
    uint64_t pings = 0, received = 0, bad = 0, last_n = 0, last_ns = 0;
    bool reported = false;
};

class UdServer {
public:
    explicit UdServer(const Config& cfg) : cfg_(cfg) {}
    void accept(const CmEvent& req);
    bool poll_once();                     // 處理一批完成；回傳有沒有事做
    void sleep_until_work(rdma_event_channel* cm);
    void summary(double secs) const;
private:
    void on_recv(const ibv_wc& w);
    UdPeer* peer_for(const ibv_wc& w, const std::byte* grh);
    void reply(UdPeer& p, UdKind kind, const std::byte* data, uint32_t len);
    const Config& cfg_;
    ibv_context* ctx_ = nullptr;
    uint8_t port_ = 0;
    uint32_t max_size_ = 0;
    std::unique_ptr<UdEndpoint> ep_;                 // 第一個 SIDR REQ 時建立（那時才知道是哪個裝置）
    std::unordered_map<uint64_t, UdPeer> peers_;     // 在 ep_ 之後宣告：AH 先於 PD 釋放
    std::vector<uint32_t> free_tx_;
    uint64_t recvs_ = 0, bytes_ = 0, reply_drops_ = 0, evicted_ = 0, reported_ = 0, good_ = 0, refused_ = 0;
};

// SIDR REQ：第一次時建立 UD QP；回 REP（QPN、Q_Key 由核心填 RDMA_UDP_QKEY、server 收得下多大）。SIDR 的 cm_id 回完就銷毀：沒有連線要維持
void UdServer::accept(const CmEvent& req) {
    CmId id(req.id);
    UdHello h{};
    std::memcpy(&h, req.pdata.data(), std::min<size_t>(sizeof h, req.pdata_len));
    bool sane = req.pdata_len >= sizeof h && h.magic == kMagic && h.version == kProtoVersion;
    if (!sane || (ctx_ && id->verbs != ctx_) || (!cfg_.dev.empty() && cfg_.dev != ibv_get_device_name(id->verbs->device))) {
        rdma_reject(id.get(), nullptr, 0);
        ++refused_;
        Summary("[結果]").add("role", "server").add("qp", "ud").add("peer", "?").add("status", sane ? "wrong_dev" : "bad_hello").add("verified", false).print();
        return;
    }
    if (!ep_) {
        ctx_ = id->verbs;
        port_ = id->port_num;
        max_size_ = std::min(port_mtu(ctx_, port_), kUdMaxSize);
        ep_ = std::make_unique<UdEndpoint>(ctx_, max_size_, kUdServerRecvs, kUdServerSends);
        ud_server_qp(*ep_, port_);
        for (uint32_t s = 0; s < ep_->recvs; ++s)
            if (int rc = ep_->post_recv(s); rc != 0) throw call_failed("ibv_post_recv", rc, "");
        for (uint32_t s = 0; s < ep_->sends; ++s) free_tx_.push_back(s);
        std::printf("[資訊] UD QP %u 建好（裝置 %s port %u，路徑 MTU %u bytes，預貼 %u 個接收）\n", ep_->qp()->qp_num,
                    ibv_get_device_name(ctx_->device), port_, max_size_, ep_->recvs);
    }
    UdReply r{kMagic, max_size_};
    rdma_conn_param p{};
    p.private_data = &r;
    p.private_data_len = sizeof r;
    p.qp_num = ep_->qp()->qp_num;
    if (rdma_accept(id.get(), &p) != 0) throw call_failed("rdma_accept(SIDR REP)", errno, "");
}

// 回信：AH、對方 QPN、Q_Key。傳送佇列滿了就不回（記下 reply_drops）——client 等不到，就把那一個算成遺失，這就是 UD
void UdServer::reply(UdPeer& p, UdKind kind, const std::byte* data, uint32_t len) {
    if (free_tx_.empty()) { ++reply_drops_; return; }
    uint32_t s = free_tx_.back();
    free_tx_.pop_back();
    std::memcpy(ep_->tx(s), data, len);
    if (int rc = ep_->post_send(s, len, kind, p.ah.get(), p.qpn, RDMA_UDP_QKEY, true); rc != 0) {
        free_tx_.push_back(s);
        ++reply_drops_;
    }
}

UdPeer* UdServer::peer_for(const ibv_wc& w, const std::byte* grh) {
    const bool has_grh = (w.wc_flags & IBV_WC_GRH) != 0;
    uint32_t ip = 0;
    if (has_grh) std::memcpy(&ip, grh + kGrhIpv4Src, 4);
    uint64_t key = static_cast<uint64_t>(ip) << 32 | w.src_qp;
    auto it = peers_.find(key);
    if (it != peers_.end()) return &it->second;
    uint64_t now = now_ns();
    if (peers_.size() >= kUdMaxPeers) {   // 忘掉閒置的 client
        for (auto e = peers_.begin(); e != peers_.end();) {
            if (now - e->second.last_ns > kUdPeerIdleNs) { e = peers_.erase(e); ++evicted_; } else { ++e; }
        }
    }
    if (peers_.size() >= kUdMaxPeers) return nullptr;
    UdPeer p;
    p.ah.reset(ibv_create_ah_from_wc(ep_->pd.get(), const_cast<ibv_wc*>(&w), reinterpret_cast<ibv_grh*>(const_cast<std::byte*>(grh)), port_));
    if (!p.ah) return nullptr;
    p.addr = has_grh ? grh_source(grh) : "?";
    p.qpn = w.src_qp;
    return &peers_.emplace(key, std::move(p)).first->second;
}

// 8< ud-server-recv
void UdServer::on_recv(const ibv_wc& w) {
    auto s = static_cast<uint32_t>(w.wr_id);
    const std::byte* grh = ep_->rx(s);
    const std::byte* d = grh + kGrhBytes;                                     // 資料在 40 bytes 的 GRH 之後
    uint32_t len = w.byte_len >= kGrhBytes ? w.byte_len - kGrhBytes : 0;      // byte_len 包含 GRH
    uint32_t imm = (w.wc_flags & IBV_WC_WITH_IMM) ? ntohl(w.imm_data) : 0;
    UdPeer* p = (imm >> 16) == kCtrlTag ? peer_for(w, grh) : nullptr;
    if (p) {
        p->last_ns = now_ns();
        auto kind = static_cast<UdKind>(imm & 0xFF);
        uint64_t n = len >= kMinSize ? load_tail(d, len) : 0;
        if (kind == UdKind::Ping) {
            ++p->pings;
            if (n == 0 || !stamp_ok(d, len, n)) ++p->bad;
            reply(*p, UdKind::Pong, d, len);                                   // 原封不動送回（client 檢查）
        } else if (kind == UdKind::Data) {
            ++p->received;
            // 戳記要對、而且比上一個大：重複或亂序都算錯；中間缺的是遺失（UD 不重送）
            if (n == 0 || n <= p->last_n || !stamp_ok(d, len, n) || (n == 1 && !body_ok(d, len))) ++p->bad;
            else p->last_n = n;
        } else if (kind == UdKind::Done && len >= sizeof(UdDone)) {
            UdDone done{};
            std::memcpy(&done, d, sizeof done);
            UdReport rep{p->pings, p->received, p->bad};
            std::array<std::byte, kUdCtrlBytes> out{};
            std::memcpy(out.data(), &rep, sizeof rep);
            reply(*p, UdKind::Report, out.data(), kUdCtrlBytes);
            if (!p->reported) {                                                // DONE 可能重送：[結果] 只印一次
                p->reported = true;
                ++reported_;
                good_ += p->bad == 0;
                Summary("[結果]").add("role", "server").add("qp", "ud").add("peer", p->addr).add("qpn", p->qpn).add("test", "send")
                    .add("pings", p->pings).add("received", p->received).add("sent", done.sent)
                    .add("lost", done.sent - std::min(done.sent, p->received)).add("bad", p->bad).add("verified", p->bad == 0).print();
            }
        }
    }
    ++recvs_;
    bytes_ += len;
    if (int rc = ep_->post_recv(s); rc != 0) throw call_failed("ibv_post_recv", rc, "");      // 馬上貼回：沒有接收就是遺失
}
// >8 ud-server-recv

bool UdServer::poll_once() {
    if (!ep_) return false;
    std::array<ibv_wc, kPollBatch> wc;   // 忙碌輪詢的每一圈都會經過：不清零（ibv_poll_cq 只寫前 n 個，也只讀前 n 個）
    int n = ibv_poll_cq(ep_->cq.cq, kPollBatch, wc.data());
    if (n < 0) throw Failure(kExitRuntime, "ibv_poll_cq 失敗");
    for (int k = 0; k < n; ++k) {
        const ibv_wc& w = wc[static_cast<size_t>(k)];
        if (w.opcode & IBV_WC_RECV) {
            if (w.status != IBV_WC_SUCCESS) {
                std::fprintf(stderr, "[注意] UD 接收失敗：%s\n", ibv_wc_status_str(w.status));
                (void)ep_->post_recv(static_cast<uint32_t>(w.wr_id));
                continue;
            }
            on_recv(w);
        } else {
            if (w.status != IBV_WC_SUCCESS) std::fprintf(stderr, "[注意] UD 回信失敗：%s\n", ibv_wc_status_str(w.status));
            free_tx_.push_back(static_cast<uint32_t>(w.wr_id));
        }
    }
    return n > 0;
}

// 閒著時睡在 completion channel 與 rdma_cm channel 上（最多 200 ms，看一次停止旗標）：沒有 client 時不佔一顆 CPU
void UdServer::sleep_until_work(rdma_event_channel* cm) {
    std::array<pollfd, 2> fds{{{cm->fd, POLLIN, 0}, {ep_ ? ep_->comp_ch->fd : -1, POLLIN, 0}}};
    if (ep_) {
        if (int rc = ibv_req_notify_cq(ep_->cq.cq, 0); rc != 0) throw call_failed("ibv_req_notify_cq", rc, "");
        if (poll_once()) return;   // 要求通知之前到的完成：不會有事件，自己收
    }
    if (poll(fds.data(), ep_ ? 2 : 1, 200) > 0 && ep_ && (fds[1].revents & POLLIN)) {
        ibv_cq* cq = nullptr;
        void* cq_ctx = nullptr;
        if (ibv_get_cq_event(ep_->comp_ch.get(), &cq, &cq_ctx) == 0) ibv_ack_cq_events(cq, 1);
    }
}

void UdServer::summary(double secs) const {
    Summary().add("role", "server").add("qp", "ud").add("port", cfg_.port).add("clients", reported_).add("verified_ok", good_)
        .add("failed", reported_ - good_).add("rejected", refused_).add("recvs", recvs_).add("bytes", bytes_)
        .add("reply_drops", reply_drops_).add("evicted", evicted_).add("verified", reported_ == good_).add("seconds", secs, 3).print();
}

int run_ud_server(const Config& cfg) {
    check_devices(cfg);
    EventChannel ch = make_channel();
    CmId listen_id = listen_on(cfg, ch.get());   // RDMA_PS_UDP
    std::printf("[就緒] UD server 在 %s:%u 等待 SIDR（RDMA_PS_UDP；一個 UD QP 服務所有 client；Ctrl-C 結束）\n",
                cfg.address.empty() ? "0.0.0.0" : cfg.address.c_str(), cfg.port);
    UdServer srv(cfg);
    uint64_t t0 = now_ns(), idle_since = t0;
    for (uint32_t spin = 0; !g_stop; ++spin) {
        if (srv.poll_once()) { idle_since = 0; continue; }
        if ((spin & 0xFF) == 0) {          // 偶爾看一次 rdma_cm（不阻塞）
            CmEvent ev;
            if (next_cm_event(ch.get(), 0, ev)) {
                if (ev.type == RDMA_CM_EVENT_CONNECT_REQUEST) {
                    try {
                        srv.accept(ev);
                    } catch (const Failure& f) {
                        std::fprintf(stderr, "[錯誤] SIDR 失敗：%s；繼續等待\n", f.what());
                    }
                }
                continue;
            }
        }
        uint64_t now = now_ns();
        if (idle_since == 0) idle_since = now;
        if (now - idle_since > kUdSpinNs) {   // 忙碌輪詢 5 ms 都沒事：睡到有完成或 rdma_cm 事件
            srv.sleep_until_work(ch.get());
            idle_since = 0;
        }
    }
    srv.summary(static_cast<double>(now_ns() - t0) / 1e9);
    return kExitOk;
}

// main 的最後一道防線：任何例外都在這裡結束——到這裡時每個 RAII 擁有者都已依反向順序釋放，最後一行仍是 [摘要]
int fail_summary(const Config& cfg, int code) {
    if (cfg.role == Role::Client)
        Summary().add("test", test_name(cfg.test)).add("size", cfg.size).add("iters", cfg.iters).add("lat_p50_us", "na")
            .add("lat_p99_us", "na").add("bw_mbps", "na").add("verified", false).add("seconds", 0).add("exit", code).print();
    else
        Summary().add("role", "server").add("port", cfg.port).add("clients", 0).add("verified", false).add("exit", code).print();
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    install_stop_handler();
    Config cfg;
    try {
        cfg = parse_args(argc, argv);
    } catch (const Failure& f) {
        std::fprintf(stderr, "錯誤：%s\n\n", f.what());
        print_usage(stderr);
        return f.code;
    }
    if (cfg.help) { print_usage(stdout); return kExitOk; }
    try {
        // 5.4：client 每個測試一條連線（run_client_test）；server 監聽、把關、每個 client 一個執行緒（serve_one）
        if (cfg.ud) return cfg.role == Role::Server ? run_ud_server(cfg) : run_ud_client(cfg);
        return cfg.role == Role::Server ? run_server(cfg) : run_client(cfg);
    } catch (const Failure& f) {
        std::fprintf(stderr, "錯誤：%s\n", f.what());
        return fail_summary(cfg, f.code);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "錯誤：未預期的例外：%s\n", e.what());
        return fail_summary(cfg, kExitRuntime);
    } catch (...) {
        std::fprintf(stderr, "錯誤：未預期的例外（不是 std::exception）\n");
        return fail_summary(cfg, kExitRuntime);
    }
}
