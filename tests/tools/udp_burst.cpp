// tests/tools/udp_burst.cpp — 從指定的來源位址送出正好 N 個 UDP datagram（dpdk.flow_vm 的測試主機用）
//
// rte_flow 的測試要知道每一種流量送了幾個：這個工具綁定 --src（來源位址與埠），對 --dst:--dport 送 --count 個
// 固定長度的 datagram，每一個都確認 sendto 整個送出才算；送不出去（例如 ENOBUFS）就等一下重試，總時間有上限。
// 只接受 198.18.0.0/15（RFC 2544 的測試位址）的目的位址：測試流量不會流到別的網路。
//
// 用法：udp_burst --src IP[:PORT] --dst IP --dport PORT --count N [--size BYTES] [--max-seconds S]
// 輸出：一行 [摘要] sent=N src=… dst=…:…；全部送出時結束碼 0，否則 1，參數錯誤 2。

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr unsigned kMaxCount = 100000;  // 一次最多送幾個：測試用的有界負載
constexpr unsigned kMaxSize = 1472;     // payload 上限：1500 B MTU 減 IPv4（20）與 UDP（8）表頭

struct Options {
    in_addr src{}, dst{};
    uint16_t sport = 0, dport = 0;
    unsigned count = 0, size = 64;
    double max_seconds = 10;
};

bool parse_uint(std::string_view s, unsigned lo, unsigned hi, unsigned& out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

bool parse_ip(std::string_view s, in_addr& out) { return inet_pton(AF_INET, std::string(s).c_str(), &out) == 1; }

// 198.18.0.0/15：第一個位元組 198，第二個 18 或 19
bool is_test_net(in_addr a) {
    const uint32_t h = ntohl(a.s_addr);
    return (h >> 17) == ((198u << 7) | (18u >> 1));
}

int usage(const char* why) {
    std::fprintf(stderr, "錯誤：%s\n用法：udp_burst --src IP[:PORT] --dst IP --dport PORT --count N [--size BYTES] [--max-seconds S]\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    bool have_src = false, have_dst = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) return usage(("選項 " + std::string(a) + " 需要一個值").c_str());
        const std::string_view v = argv[++i];
        unsigned n = 0;
        if (a == "--src") {
            const size_t colon = v.find(':');
            if (!parse_ip(v.substr(0, colon), o.src)) return usage("--src 不是 IPv4 位址");
            if (colon != std::string_view::npos) {
                if (!parse_uint(v.substr(colon + 1), 1, 65535, n)) return usage("--src 的埠必須是 1–65535");
                o.sport = static_cast<uint16_t>(n);
            }
            have_src = true;
        } else if (a == "--dst") {
            if (!parse_ip(v, o.dst)) return usage("--dst 不是 IPv4 位址");
            have_dst = true;
        } else if (a == "--dport") {
            if (!parse_uint(v, 1, 65535, n)) return usage("--dport 必須是 1–65535");
            o.dport = static_cast<uint16_t>(n);
        } else if (a == "--count") {
            if (!parse_uint(v, 1, kMaxCount, o.count)) return usage("--count 必須是 1–100000");
        } else if (a == "--size") {
            if (!parse_uint(v, 1, kMaxSize, o.size)) return usage("--size 必須是 1–1472");
        } else if (a == "--max-seconds") {
            if (!parse_uint(v, 1, 600, n)) return usage("--max-seconds 必須是 1–600");
            o.max_seconds = n;
        } else {
            return usage(("未知的選項：" + std::string(a)).c_str());
        }
    }
    if (!have_src || !have_dst || o.dport == 0 || o.count == 0) return usage("--src、--dst、--dport、--count 都要給");
    if (!is_test_net(o.dst)) return usage("--dst 必須在 198.18.0.0/15 之內（測試位址）");

    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        std::fprintf(stderr, "錯誤：socket 失敗：%s\n", std::strerror(errno));
        return 1;
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = o.src;
    local.sin_port = htons(o.sport);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        std::fprintf(stderr, "錯誤：bind %s:%u 失敗：%s（來源位址要先設在某個介面上）\n", inet_ntoa(o.src), o.sport, std::strerror(errno));
        close(fd);
        return 1;
    }
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_addr = o.dst;
    peer.sin_port = htons(o.dport);

    std::vector<char> payload(o.size, 'k');
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.max_seconds);
    unsigned sent = 0;
    while (sent < o.count && std::chrono::steady_clock::now() < deadline) {
        std::memcpy(payload.data(), &sent, std::min<size_t>(sizeof sent, payload.size()));  // 序號：抓封包時分得出每一個
        const ssize_t n = sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
        if (n == static_cast<ssize_t>(payload.size())) {
            ++sent;
        } else if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));  // qdisc 或 tap 佇列滿：稍等再送同一個
        } else {
            std::fprintf(stderr, "錯誤：sendto 失敗：%s（已送出 %u 個）\n", n < 0 ? std::strerror(errno) : "只送出一部分", sent);
            break;
        }
    }
    close(fd);
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &o.src, src, sizeof src);
    inet_ntop(AF_INET, &o.dst, dst, sizeof dst);
    std::printf("[摘要] sent=%u src=%s dst=%s:%u size=%u\n", sent, src, dst, o.dport, o.size);
    return sent == o.count ? 0 : 1;
}
