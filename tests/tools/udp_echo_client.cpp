// tests/tools/udp_echo_client.cpp — 比較表的量測儀器：同一個 UDP echo 客戶端量每一個伺服器
//
// 它和被測的伺服器無關：只送 UDP datagram、收回來、逐位元組檢查、記往返時間。兩種量法：
//   * closed：一次只有一個請求在途（ping-pong），至少 --samples 個樣本，RTT 的 p50 / p99 / p99.9；
//   * open：一串固定的提供速率（--rates），每一階送 --step-seconds 秒，照時間表送、不等回覆，
//     回報每一階實際送達的速率、遺失率與 RTT 百分位數。
// 每個 datagram 的內容：
//   [0..4) magic "KBUE"  [4..8) 長度  [8..16) 序號  [16..24) 送出時間（ns，CLOCK_MONOTONIC）  [24..) 由序號決定的位元組
// 回來的每個 datagram 逐位元組檢查（長度、magic、序號範圍、填充位元組）；不對的計入 corrupt。
// 單一執行緒、非阻塞 socket、忙碌輪詢（客戶端獨佔自己的核心，不讓喚醒延遲算到伺服器頭上）；
// 每一輪用 sendmmsg / recvmmsg 成批收送。所有負載都有次數與時間上限。
//
// 用法：udp_echo_client --server IP:PORT [--size 64] [--closed] [--samples 100000]
//                        [--open --rates 10000,50000,... --step-seconds 2] [--timeout-ms 200] [--max-seconds 60]
// 輸出：open 每一階一行 [階梯]；最後一行 [摘要] key=value（closed 與 open 各自的 key，見 print_summary）。

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint32_t kMagic = 0x4555424B;  // "KBUE"
constexpr size_t kHeader = 24;
constexpr size_t kMinSize = kHeader, kMaxSize = 1472;  // 一個 1500 MTU 的 IPv4 UDP datagram 最多 1472 bytes
constexpr unsigned kBatch = 32;                          // 每次 sendmmsg / recvmmsg 最多幾個
constexpr uint64_t kGiveUpAfter = 20;                    // closed：前 20 個請求都沒有回音就放棄

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// ---------------------------------------------------------------- 直方圖：每個 2 的冪次分 64 格（誤差 < 1.6 %）
class Histogram {
public:
    void add(uint64_t ns) {
        ++count_;
        max_ = std::max(max_, ns);
        ++cells_[index(ns)];
    }
    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    // 百分位數（q 介於 0 與 1），回傳那一格的中點（ns）
    double quantile(double q) const {
        if (count_ == 0) return 0;
        uint64_t rank = uint64_t(std::ceil(q * double(count_)));
        rank = std::max<uint64_t>(rank, 1);
        uint64_t seen = 0;
        for (size_t i = 0; i < cells_.size(); ++i) {
            seen += cells_[i];
            if (seen >= rank) return std::min(midpoint(i), double(max_));
        }
        return double(max_);
    }

private:
    static constexpr unsigned kSub = 64, kLog = 6;
    static size_t index(uint64_t v) {
        if (v < kSub) return size_t(v);
        unsigned msb = 63u - unsigned(std::countl_zero(v));  // v >= 64 → msb >= 6
        return size_t((msb - kLog + 1) * kSub + ((v >> (msb - kLog)) & (kSub - 1)));
    }
    static double midpoint(size_t i) {
        if (i < kSub) return double(i);
        size_t band = i / kSub, sub = i % kSub;  // band >= 1
        unsigned shift = unsigned(band - 1);
        double lo = double((uint64_t(kSub) + sub) << shift);
        return lo + double(uint64_t(1) << shift) / 2;
    }
    std::array<uint64_t, 64 * 60> cells_{};
    uint64_t count_ = 0, max_ = 0;
};

// ---------------------------------------------------------------- 設定
struct Config {
    sockaddr_storage server{};
    socklen_t server_len = 0;
    std::string server_text;
    size_t size = 64;
    bool open = false;
    uint64_t samples = 100000;
    std::vector<uint64_t> rates;
    double step_seconds = 2;
    double timeout_ms = 200;
    double max_seconds = 60;
};

void usage(FILE* f) {
    fprintf(f,
            "用法：udp_echo_client --server IP:PORT [選項]\n"
            "  --size N          每個 datagram 的大小（%zu–%zu bytes，預設 64）\n"
            "  --closed          一次一個請求在途，量 RTT（預設）\n"
            "  --samples N       closed 的樣本數（預設 100000）\n"
            "  --open            照時間表送，依序跑 --rates 的每一階\n"
            "  --rates R,R,...   open 每一階的提供速率（封包/秒）\n"
            "  --step-seconds S  open 每一階幾秒（預設 2）\n"
            "  --timeout-ms MS   超過多久沒回來算遺失（預設 200）\n"
            "  --max-seconds S   整次執行的上限（預設 60）\n",
            kMinSize, kMaxSize);
}

template <typename T>
bool parse_num(std::string_view s, T lo, T hi, T& out) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !(v >= lo && v <= hi)) return false;  // NaN 也不通過
    out = v;
    return true;
}

bool parse_server(std::string_view s, Config& cfg) {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::string host(s.substr(0, colon));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    if (!parse_num<unsigned>(s.substr(colon + 1), 1, 65535, port)) return false;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&cfg.server);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&cfg.server);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(uint16_t(port));
        cfg.server_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(uint16_t(port));
        cfg.server_len = sizeof *v6;
    } else {
        return false;
    }
    cfg.server_text = std::string(s);
    return true;
}

// 回傳錯誤訊息；空字串表示成功
std::string parse_args(int argc, char** argv, Config& cfg) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--closed") { cfg.open = false; continue; }
        if (a == "--open") { cfg.open = true; continue; }
        if (i + 1 >= argc) return "選項 " + std::string(a) + " 缺少值";
        std::string_view v = argv[++i];
        bool ok = true;
        if (a == "--server") ok = parse_server(v, cfg);
        else if (a == "--size") ok = parse_num<size_t>(v, kMinSize, kMaxSize, cfg.size);
        else if (a == "--samples") ok = parse_num<uint64_t>(v, 1, 100000000, cfg.samples);
        else if (a == "--step-seconds") ok = parse_num<double>(v, 0.1, 60, cfg.step_seconds);
        else if (a == "--timeout-ms") ok = parse_num<double>(v, 1, 10000, cfg.timeout_ms);
        else if (a == "--max-seconds") ok = parse_num<double>(v, 1, 3600, cfg.max_seconds);
        else if (a == "--rates") {
            cfg.rates.clear();
            size_t start = 0;
            while (ok && start <= v.size()) {
                size_t comma = v.find(',', start);
                std::string_view part = v.substr(start, comma == std::string_view::npos ? v.npos : comma - start);
                uint64_t r = 0;
                ok = parse_num<uint64_t>(part, 1, 100000000, r);
                if (ok) cfg.rates.push_back(r);
                if (comma == std::string_view::npos) break;
                start = comma + 1;
            }
        } else return "未知的選項：" + std::string(a);
        if (!ok) return "選項 " + std::string(a) + " 的值「" + std::string(v) + "」無效";
    }
    if (cfg.server_len == 0) return "需要 --server IP:PORT";
    if (cfg.open && cfg.rates.empty()) return "--open 需要 --rates";
    return "";
}

// ---------------------------------------------------------------- datagram 的內容
uint8_t fill_byte(uint64_t seq, size_t i) { return uint8_t(seq * 131 + i * 7 + 11); }

void build(char* p, size_t size, uint64_t seq, uint64_t ts) {
    uint32_t len = uint32_t(size);
    memcpy(p, &kMagic, 4);
    memcpy(p + 4, &len, 4);
    memcpy(p + 8, &seq, 8);
    memcpy(p + 16, &ts, 8);
    for (size_t i = kHeader; i < size; ++i) p[i] = char(fill_byte(seq, i));
}

// 檢查回來的 datagram；成功時填 seq 與送出時間
bool verify(const char* p, size_t got, size_t size, uint64_t next_seq, uint64_t& seq, uint64_t& ts) {
    if (got != size) return false;
    uint32_t magic = 0, len = 0;
    memcpy(&magic, p, 4);
    memcpy(&len, p + 4, 4);
    memcpy(&seq, p + 8, 8);
    memcpy(&ts, p + 16, 8);
    if (magic != kMagic || len != size || seq >= next_seq) return false;
    for (size_t i = kHeader; i < size; ++i)
        if (uint8_t(p[i]) != fill_byte(seq, i)) return false;
    return true;
}

// ---------------------------------------------------------------- 收送
struct Counters {
    uint64_t sent = 0, received = 0, corrupt = 0, late = 0, send_errors = 0;
};

class Endpoint {
public:
    explicit Endpoint(const Config& cfg) : cfg_(cfg), tx_(size_t(kBatch) * cfg.size), rx_(size_t(kBatch) * 2048) {
        fd_ = socket(cfg.server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int buf = 4 << 20;
        if (fd_ >= 0) {
            setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
            setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
        }
        if (fd_ < 0 || connect(fd_, reinterpret_cast<const sockaddr*>(&cfg.server), cfg.server_len) < 0)
            error_ = std::string("連到 ") + cfg.server_text + " 失敗：" + strerror(errno);
        for (unsigned i = 0; i < kBatch; ++i) {
            rx_iov_[i] = {rx_.data() + size_t(i) * 2048, 2048};
            rx_msgs_[i].msg_hdr = {};
            rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
            rx_msgs_[i].msg_hdr.msg_iovlen = 1;
            tx_iov_[i] = {tx_.data() + size_t(i) * cfg.size, cfg.size};
            tx_msgs_[i].msg_hdr = {};
            tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
            tx_msgs_[i].msg_hdr.msg_iovlen = 1;
        }
    }
    ~Endpoint() {
        if (fd_ >= 0) close(fd_);
    }
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;
    const std::string& error() const { return error_; }

    // 送出 n 個（n ≤ kBatch）新的序號；回傳實際送出幾個
    unsigned send(unsigned n, Counters& c) {
        uint64_t ts = now_ns();
        for (unsigned i = 0; i < n; ++i) build(tx_.data() + size_t(i) * cfg_.size, cfg_.size, next_seq_ + i, ts);
        int s = sendmmsg(fd_, tx_msgs_.data(), n, 0);
        if (s < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) ++c.send_errors;
            s = 0;
        }
        next_seq_ += unsigned(s);
        c.sent += unsigned(s);
        return unsigned(s);
    }

    // 收下目前到了的，每個都檢查並記 RTT；min_seq 之前送的算遲到（已經判為遺失）
    unsigned receive(Histogram& h, Counters& c, uint64_t min_seq) {
        int n = recvmmsg(fd_, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return 0;
        uint64_t now = now_ns();
        for (int i = 0; i < n; ++i) {
            uint64_t seq = 0, ts = 0;
            if (!verify(rx_.data() + size_t(i) * 2048, rx_msgs_[i].msg_len, cfg_.size, next_seq_, seq, ts)) {
                ++c.corrupt;
                continue;
            }
            if (seq < min_seq) { ++c.late; continue; }
            ++c.received;
            h.add(now - ts);
        }
        return unsigned(n);
    }
    uint64_t next_seq() const { return next_seq_; }

private:
    const Config& cfg_;
    int fd_ = -1;
    std::string error_;
    std::vector<char> tx_, rx_;
    std::array<iovec, kBatch> rx_iov_{}, tx_iov_{};
    std::array<mmsghdr, kBatch> rx_msgs_{}, tx_msgs_{};
    uint64_t next_seq_ = 0;
};

// ---------------------------------------------------------------- closed：一次一個在途
struct Result {
    Histogram hist;
    Counters c;
    double seconds = 0;
};

void run_closed(const Config& cfg, Endpoint& ep, Result& r) {
    uint64_t t0 = now_ns(), deadline = t0 + uint64_t(cfg.max_seconds * 1e9), timeout = uint64_t(cfg.timeout_ms * 1e6);
    while (r.c.received < cfg.samples && !g_stop.load(std::memory_order_relaxed)) {
        uint64_t sent_at = now_ns();
        if (sent_at > deadline) break;
        if (ep.send(1, r.c) == 0) continue;
        uint64_t seq = ep.next_seq() - 1, before = r.c.received;
        // 忙碌等這一個回來；逾時算遺失，接著送下一個（之後才到的算遲到）
        while (r.c.received == before && now_ns() - sent_at < timeout) ep.receive(r.hist, r.c, seq);
        if (r.c.received == 0 && r.c.sent >= kGiveUpAfter) break;  // 從來沒有回音：伺服器不在，不必等到時間用完
    }
    r.seconds = double(now_ns() - t0) / 1e9;
}

// ---------------------------------------------------------------- open：照時間表送
void run_open_step(const Config& cfg, Endpoint& ep, uint64_t rate, Result& r) {
    uint64_t first = ep.next_seq();
    uint64_t t0 = now_ns(), span = uint64_t(cfg.step_seconds * 1e9), timeout = uint64_t(cfg.timeout_ms * 1e6);
    uint64_t due_total = uint64_t(double(rate) * cfg.step_seconds);
    while (!g_stop.load(std::memory_order_relaxed)) {
        uint64_t now = now_ns();
        if (now - t0 >= span || r.c.sent >= due_total) break;
        uint64_t due = std::min<uint64_t>(due_total, uint64_t(double(now - t0) * double(rate) / 1e9) + 1);
        if (due > r.c.sent) ep.send(unsigned(std::min<uint64_t>(due - r.c.sent, kBatch)), r.c);
        ep.receive(r.hist, r.c, first);
    }
    // 最後一個送出後再等 timeout，之後才到的不算
    uint64_t end = now_ns();
    while (now_ns() - end < timeout && r.c.received < r.c.sent) ep.receive(r.hist, r.c, first);
    r.seconds = double(now_ns() - t0) / 1e9;
}

void print_percentiles(const Histogram& h) {
    printf("p50_us=%.2f p90_us=%.2f p99_us=%.2f p999_us=%.2f max_us=%.2f", h.quantile(0.5) / 1e3, h.quantile(0.9) / 1e3,
           h.quantile(0.99) / 1e3, h.quantile(0.999) / 1e3, double(h.max()) / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") { usage(stdout); return 0; }
    Config cfg;
    if (std::string err = parse_args(argc, argv, cfg); !err.empty()) {
        fprintf(stderr, "錯誤：%s\n", err.c_str());
        usage(stderr);
        return 2;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    Endpoint ep(cfg);
    if (!ep.error().empty()) { fprintf(stderr, "錯誤：%s\n", ep.error().c_str()); return 1; }

    if (!cfg.open) {
        Result r;
        run_closed(cfg, ep, r);
        printf("[摘要] mode=closed size=%zu samples=%llu sent=%llu lost=%llu late=%llu corrupt=%llu seconds=%.2f ", cfg.size,
               static_cast<unsigned long long>(r.c.received), static_cast<unsigned long long>(r.c.sent),
               static_cast<unsigned long long>(r.c.sent - r.c.received - r.c.late), static_cast<unsigned long long>(r.c.late),
               static_cast<unsigned long long>(r.c.corrupt), r.seconds);
        print_percentiles(r.hist);
        printf("\n");
        if (r.c.received == 0) fprintf(stderr, "錯誤：%s 沒有回音（送出 %llu 個，一個都沒回來）\n", cfg.server_text.c_str(),
                                       static_cast<unsigned long long>(r.c.sent));
        return r.c.corrupt == 0 && r.c.received > 0 ? 0 : 1;
    }

    // open：每一階一行 [階梯]；摘要記「遺失 < 1 % 的最高一階」
    uint64_t best_rate = 0, corrupt = 0, t_start = now_ns();
    double best_p99 = 0, best_delivered = 0;
    for (uint64_t rate : cfg.rates) {
        if (g_stop.load() || double(now_ns() - t_start) / 1e9 + cfg.step_seconds > cfg.max_seconds) break;
        Result r;
        run_open_step(cfg, ep, rate, r);
        // 這一階算「服務到」：客戶端送出了時間表上至少 99 % 的封包（不是客戶端跟不上），而且遺失 < 1 %
        uint64_t planned = uint64_t(double(rate) * cfg.step_seconds);
        bool kept_up = double(r.c.sent) >= 0.99 * double(planned);
        double loss = r.c.sent ? 100.0 * double(r.c.sent - r.c.received) / double(r.c.sent) : 100.0;
        double delivered = double(r.c.received) / r.seconds;
        corrupt += r.c.corrupt;
        printf("[階梯] offered_pps=%llu planned=%llu sent=%llu sender_kept_up=%s received=%llu delivered_pps=%.0f loss_pct=%.3f corrupt=%llu ",
               static_cast<unsigned long long>(rate), static_cast<unsigned long long>(planned),
               static_cast<unsigned long long>(r.c.sent), kept_up ? "yes" : "no",
               static_cast<unsigned long long>(r.c.received), delivered, loss, static_cast<unsigned long long>(r.c.corrupt));
        print_percentiles(r.hist);
        printf("\n");
        if (kept_up && loss < 1.0 && rate > best_rate) {
            best_rate = rate;
            best_p99 = r.hist.quantile(0.99) / 1e3;
            best_delivered = delivered;
        }
    }
    printf("[摘要] mode=open size=%zu max_rate_pps=%llu delivered_pps=%.0f p99_us=%.2f corrupt=%llu\n", cfg.size,
           static_cast<unsigned long long>(best_rate), best_delivered, best_p99, static_cast<unsigned long long>(corrupt));
    return corrupt == 0 ? 0 : 1;
}
