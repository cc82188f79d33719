// tests/tools/udp_echo_ref.cpp — 比較表的「傳統 socket」一列：UDP echo 伺服器，照核心 API 所能寫得最好
//
// 同一個 UDP 工作負載（tests/compare.sh）裡，每個技術的 echo 伺服器都和它比。公平的對照要寫得好：
//   * recvmmsg 一次收最多 --batch 個 datagram，sendmmsg 一次送回（每批兩個系統呼叫，不是每個封包兩個）；
//   * 預設阻塞在 recvmmsg（MSG_WAITFORONE：至少一個就回來），沒有多餘的 epoll_wait；
//   * --busy-poll USEC：SO_BUSY_POLL + SO_PREFER_BUSY_POLL，阻塞前先忙碌輪詢裝置的 NAPI，核心 API 裡延遲最低的做法；
//   * sendmmsg 只送出一部分時送剩下的；送不出去的（ENOBUFS 等）計入 tx_dropped，不重試到卡住。
// 用法：udp_echo_ref PORT [--batch N] [--busy-poll USEC]
// 輸出與其他程式相同的 [就緒] / [摘要] 標記；SIGINT / SIGTERM 結束。

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

constexpr unsigned kMaxBatch = 256;
constexpr size_t kMaxDatagram = 65536;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

struct Config {
    unsigned port = 0;
    unsigned batch = 64;
    unsigned busy_poll_us = 0;
};

bool parse_uint(std::string_view s, unsigned lo, unsigned hi, unsigned& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

bool parse_args(int argc, char** argv, Config& cfg) {
    if (argc < 2 || !parse_uint(argv[1], 1, 65535, cfg.port)) return false;
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) return false;
        std::string_view v = argv[++i];
        if (a == "--batch" && parse_uint(v, 1, kMaxBatch, cfg.batch)) continue;
        if (a == "--busy-poll" && parse_uint(v, 0, 1000000, cfg.busy_poll_us)) continue;
        return false;
    }
    return true;
}

struct Stats { uint64_t rx = 0, tx = 0, bytes = 0, rx_calls = 0, tx_calls = 0, tx_dropped = 0; };

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    Config cfg;
    if (!parse_args(argc, argv, cfg)) {
        fprintf(stderr, "用法：udp_echo_ref PORT [--batch N（1–%u，預設 64）] [--busy-poll USEC（預設 0 = 不用）]\n", kMaxBatch);
        return 2;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { fprintf(stderr, "錯誤：socket 失敗：%s\n", strerror(errno)); return 1; }
    int zero = 0, one = 1, rcvbuf = 4 << 20;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // 同一個 socket 收 IPv4 與 IPv6
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{0, 100000};  // 阻塞的 recvmmsg 每 100 ms 回來看一次停止旗標
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (cfg.busy_poll_us) {
        int us = int(cfg.busy_poll_us), budget = int(cfg.batch);
        if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) < 0) {
            fprintf(stderr, "錯誤：設定 SO_BUSY_POLL 失敗：%s（需要 root 或 CAP_NET_ADMIN）\n", strerror(errno));
            return 1;
        }
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(uint16_t(cfg.port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        fprintf(stderr, "錯誤：無法綁定 UDP 埠 %u：%s\n", cfg.port, strerror(errno));
        close(fd);
        return 1;
    }

    // 每個 datagram 一個緩衝區、一個位址、一個 mmsghdr；收到的就原地送回
    std::vector<char> bufs(size_t(cfg.batch) * kMaxDatagram);
    std::vector<sockaddr_in6> peers(cfg.batch);
    std::vector<iovec> iov(cfg.batch);
    std::vector<mmsghdr> msgs(cfg.batch);
    Stats st;
    auto t0 = std::chrono::steady_clock::now();
    printf("[就緒] UDP echo 對照伺服器監聽埠 %u（batch %u，busy-poll %u µs）\n", cfg.port, cfg.batch, cfg.busy_poll_us);

    while (!g_stop.load(std::memory_order_relaxed)) {
        for (unsigned i = 0; i < cfg.batch; ++i) {
            iov[i] = {bufs.data() + size_t(i) * kMaxDatagram, kMaxDatagram};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_name = &peers[i];
            msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs.data(), cfg.batch, MSG_WAITFORONE, nullptr);
        ++st.rx_calls;
        if (n <= 0) continue;  // 逾時（看一次停止旗標）或被信號打斷
        for (int i = 0; i < n; ++i) {
            iov[i].iov_len = msgs[i].msg_len;  // 送回收到的長度，送往收到的來源位址
            st.bytes += msgs[i].msg_len;
        }
        st.rx += unsigned(n);
        int off = 0;
        while (off < n) {
            int s = sendmmsg(fd, msgs.data() + off, unsigned(n - off), 0);
            ++st.tx_calls;
            if (s > 0) { off += s; st.tx += unsigned(s); continue; }
            if (s < 0 && errno == EINTR) continue;
            ++st.tx_dropped;  // 這一個送不出去（例如 ENOBUFS）：丟掉它，繼續送後面的
            ++off;
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("[摘要] rx_pkts=%llu tx_pkts=%llu bytes=%llu rx_calls=%llu tx_calls=%llu tx_dropped=%llu seconds=%.2f\n",
           static_cast<unsigned long long>(st.rx), static_cast<unsigned long long>(st.tx),
           static_cast<unsigned long long>(st.bytes), static_cast<unsigned long long>(st.rx_calls),
           static_cast<unsigned long long>(st.tx_calls), static_cast<unsigned long long>(st.tx_dropped), secs);
    close(fd);
    return 0;
}
