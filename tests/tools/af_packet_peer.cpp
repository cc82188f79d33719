// af_packet_peer.cpp — AF_PACKET 對照程式：傳統 raw socket 的收、送、轉送，以及逐位元組核對回音
//
// 給 tests/af_xdp.sh 用：在對端 network namespace 裡送封包、收封包並核對；效能比較時當
// 「核心堆疊 + AF_PACKET」的對照組。寫法盡量好，才是公平的對照：
//   send  sendmmsg 一次 64 個 + PACKET_QDISC_BYPASS（不經 qdisc）
//   recv  TPACKET_V3 環（核心把封包成批放進共享記憶體的 block，一次 poll 處理一整個 block）
//   fwd   TPACKET_V3 環收、原地交換 MAC、sendmmsg 一次 64 個從同一介面送回（AF_XDP l2fwd 的對照）
//   xchg  送 N 個編了號的 UDP 封包，收回應並與「預期的轉換結果」逐位元組比較（swapmac 或 echo）
//
// 用法：af_packet_peer MODE IFACE [選項]（--help 列出全部）。需要 CAP_NET_RAW。
// 每個封包：Ethernet + IPv4 + UDP，payload 開頭是 "KBXD" + 32 位元序號，其餘為固定圖樣；檢查和都正確。

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
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
#include <cstring>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint32_t kBatch = 64;                    // sendmmsg / recvmmsg 一次的封包數
constexpr uint32_t kBlockSize = 1u << 20;          // TPACKET_V3 block：1 MiB
constexpr uint32_t kBlockCount = 64;               // 64 MiB 的接收環
constexpr uint32_t kFrameSize = 2048;              // TPACKET_V3 的 frame 單位（只用來算 frame_nr）
constexpr uint32_t kBlockTimeoutMs = 10;           // block 沒滿也在 10 ms 後交出來
constexpr uint32_t kXchgWindow = 256;              // xchg：最多幾個封包在路上
constexpr std::array<uint8_t, 4> kMagic{'K', 'B', 'X', 'D'};
constexpr size_t kPayloadOff = ETH_HLEN + sizeof(iphdr) + sizeof(udphdr);  // 42

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Config {
    std::string mode, ifname;
    uint64_t count = 0;
    double duration = 0, idle = 0;
    uint32_t size = 64;
    std::array<uint8_t, 6> dst_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src_mac{};
    bool have_src_mac = false;
    in_addr src_ip{htonl(0xC6120202)}, dst_ip{htonl(0xC6120201)};
    uint16_t sport = 40000, dport = 4242;
    uint64_t rate = 0;
    bool all = false, verify = false;
    std::string expect;  // swapmac | echo
    std::string out_if;  // fwd --out：從另一個介面原樣送出（兩埠轉送的 AF_PACKET 對照組）
};

void usage(FILE* o) {
    std::fprintf(o,
        "用法：af_packet_peer send|recv|fwd|xchg 介面 [選項]\n"
        "  --count N        送出 / 收到 N 個後結束（預設 0 = 不限；send 與 xchg 必填）\n"
        "  --duration S     最多執行 S 秒（預設 0 = 不限）\n"
        "  --idle S         recv：收到第一個封包後，S 秒沒有新封包就結束（預設 0 = 不用）\n"
        "  --size N         訊框長度 bytes，不含 FCS（預設 64，範圍 60..9014；大於 1514 要介面的 MTU 夠大）\n"
        "  --dst-mac MAC    目的 MAC（預設 ff:ff:ff:ff:ff:ff）\n"
        "  --src-mac MAC    來源 MAC（預設 介面自己的）\n"
        "  --src-ip IP      來源 IPv4（預設 198.18.2.2）\n"
        "  --dst-ip IP      目的 IPv4（預設 198.18.2.1）\n"
        "  --sport P        UDP 來源埠（預設 40000）\n"
        "  --port P         UDP 目的埠；recv/fwd 只算這個埠（預設 4242）\n"
        "  --all            recv/fwd：所有封包都算（不看埠）\n"
        "  --verify         recv：檢查 IPv4 與 UDP 檢查和，另計 rx_valid\n"
        "  --rate PPS       send：每秒上限（預設 0 = 全速）\n"
        "  --expect X       xchg：回應應是 swapmac（l2fwd）或 echo（交換 MAC、IP、埠）\n"
        "  --out 介面2      fwd：不交換 MAC，原樣從介面2 送出（兩埠轉送；預設 從同一個介面交換 MAC 送回）\n");
}

template <typename T>
T num(std::string_view o, std::string_view s) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) throw std::invalid_argument(std::string(o) + " 的值不是數字：" + std::string(s));
    return v;
}
double seconds(std::string_view o, std::string_view s) {
    double v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < 0) throw std::invalid_argument(std::string(o) + " 的值不是秒數");
    return v;
}
std::array<uint8_t, 6> mac(std::string_view s) {
    std::array<uint8_t, 6> m{};
    if (s.size() != 17) throw std::invalid_argument("MAC 位址格式錯誤：" + std::string(s));
    for (size_t i = 0; i < 6; ++i) {
        auto [p, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, m[i], 16);
        if (ec != std::errc{} || p != s.data() + i * 3 + 2) throw std::invalid_argument("MAC 位址格式錯誤：" + std::string(s));
    }
    return m;
}
in_addr ip(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("不是 IPv4 位址：" + s);
    return a;
}

Config parse(int argc, char** argv) {
    Config c;
    if (argc < 3) throw std::invalid_argument("缺少 模式 與 介面");
    c.mode = argv[1];
    c.ifname = argv[2];
    if (c.mode != "send" && c.mode != "recv" && c.mode != "fwd" && c.mode != "xchg")
        throw std::invalid_argument("未知的模式：" + c.mode);
    for (int i = 3; i < argc; ++i) {
        std::string_view a = argv[i];
        auto v = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " 需要一個值");
            return argv[++i];
        };
        if (a == "--count") c.count = num<uint64_t>(a, v());
        else if (a == "--duration") c.duration = seconds(a, v());
        else if (a == "--idle") c.idle = seconds(a, v());
        else if (a == "--size") { c.size = num<uint32_t>(a, v()); if (c.size < 60 || c.size > 9014) throw std::invalid_argument("--size 必須在 60..9014"); }
        else if (a == "--dst-mac") c.dst_mac = mac(v());
        else if (a == "--src-mac") { c.src_mac = mac(v()); c.have_src_mac = true; }
        else if (a == "--src-ip") c.src_ip = ip(v());
        else if (a == "--dst-ip") c.dst_ip = ip(v());
        else if (a == "--sport") c.sport = num<uint16_t>(a, v());
        else if (a == "--port") c.dport = num<uint16_t>(a, v());
        else if (a == "--all") c.all = true;
        else if (a == "--verify") c.verify = true;
        else if (a == "--rate") c.rate = num<uint64_t>(a, v());
        else if (a == "--expect") c.expect = v();
        else if (a == "--out") c.out_if = v();
        else throw std::invalid_argument("未知的選項：" + std::string(a));
    }
    if ((c.mode == "send" || c.mode == "xchg") && c.count == 0) throw std::invalid_argument(c.mode + " 需要 --count");
    if (c.mode == "xchg" && c.expect != "swapmac" && c.expect != "echo") throw std::invalid_argument("xchg 需要 --expect swapmac|echo");
    return c;
}

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { if (fd >= 0) close(fd); }
};

[[noreturn]] void die(const char* call) { throw std::runtime_error(std::string(call) + " 失敗：" + std::strerror(errno)); }

// ---------------------------------------------------------------- 封包
uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return static_cast<uint16_t>(~s); }
uint32_t sum16(uint32_t s, const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
    return s;
}
uint16_t udp_csum(const uint8_t* ip4, const uint8_t* udp, uint16_t ulen) {
    uint32_t s = sum16(0, ip4 + 12, 8);  // 來源 + 目的 IP
    s += IPPROTO_UDP + ulen;
    return fold(sum16(s, udp, ulen));
}

void build_frame(const Config& c, uint32_t seq, uint8_t* f) {
    std::memset(f, 0, c.size);
    std::memcpy(f, c.dst_mac.data(), 6);
    std::memcpy(f + 6, c.src_mac.data(), 6);
    f[12] = 0x08; f[13] = 0x00;
    uint8_t* ip4 = f + ETH_HLEN;
    ip4[0] = 0x45;
    const uint16_t tot = static_cast<uint16_t>(c.size - ETH_HLEN);
    ip4[2] = static_cast<uint8_t>(tot >> 8); ip4[3] = static_cast<uint8_t>(tot);
    ip4[8] = 64; ip4[9] = IPPROTO_UDP;
    std::memcpy(ip4 + 12, &c.src_ip, 4);
    std::memcpy(ip4 + 16, &c.dst_ip, 4);
    const uint16_t ic = fold(sum16(0, ip4, 20));
    ip4[10] = static_cast<uint8_t>(ic >> 8); ip4[11] = static_cast<uint8_t>(ic);
    uint8_t* udp = ip4 + 20;
    const uint16_t ulen = static_cast<uint16_t>(tot - 20);
    udp[0] = static_cast<uint8_t>(c.sport >> 8); udp[1] = static_cast<uint8_t>(c.sport);
    udp[2] = static_cast<uint8_t>(c.dport >> 8); udp[3] = static_cast<uint8_t>(c.dport);
    udp[4] = static_cast<uint8_t>(ulen >> 8); udp[5] = static_cast<uint8_t>(ulen);
    uint8_t* pl = udp + 8;
    std::memcpy(pl, kMagic.data(), 4);
    pl[4] = static_cast<uint8_t>(seq >> 24); pl[5] = static_cast<uint8_t>(seq >> 16);
    pl[6] = static_cast<uint8_t>(seq >> 8); pl[7] = static_cast<uint8_t>(seq);
    for (size_t i = 8; i < ulen - 8u; ++i) pl[i] = static_cast<uint8_t>(seq * 7 + i);
    uint16_t uc = udp_csum(ip4, udp, ulen);
    if (uc == 0) uc = 0xffff;
    udp[6] = static_cast<uint8_t>(uc >> 8); udp[7] = static_cast<uint8_t>(uc);
}

bool is_ipv4_udp(const uint8_t* f, size_t len) {
    return len >= kPayloadOff && f[12] == 0x08 && f[13] == 0x00 && (f[14] >> 4) == 4 && (f[14] & 0xf) == 5 &&
           f[23] == IPPROTO_UDP;
}
uint16_t udp_dport(const uint8_t* f) { return static_cast<uint16_t>(f[36] << 8 | f[37]); }
uint16_t udp_sport(const uint8_t* f) { return static_cast<uint16_t>(f[34] << 8 | f[35]); }

bool checksums_ok(const uint8_t* f, size_t len) {
    if (!is_ipv4_udp(f, len)) return false;
    const uint8_t* ip4 = f + ETH_HLEN;
    if (fold(sum16(0, ip4, 20)) != 0) return false;
    const uint16_t ulen = static_cast<uint16_t>(ip4[24] << 8 | ip4[25]);
    if (ulen < 8 || ETH_HLEN + 20u + ulen > len) return false;
    if (ip4[26] == 0 && ip4[27] == 0) return true;  // IPv4 UDP 可以不帶檢查和
    return udp_csum(ip4, ip4 + 20, ulen) == 0;
}

bool wanted(const Config& c, const uint8_t* f, size_t len) {
    return c.all || (is_ipv4_udp(f, len) && udp_dport(f) == c.dport);
}

// ---------------------------------------------------------------- socket
struct Iface { int index; std::array<uint8_t, 6> mac; };

Iface lookup_iface(const std::string& name) {
    Iface i{};
    i.index = static_cast<int>(if_nametoindex(name.c_str()));
    if (i.index == 0) throw std::runtime_error("找不到介面 " + name);
    Fd s(socket(AF_INET, SOCK_DGRAM, 0));
    ifreq r{};
    std::snprintf(r.ifr_name, IFNAMSIZ, "%s", name.c_str());
    if (ioctl(s.fd, SIOCGIFHWADDR, &r) == 0) std::memcpy(i.mac.data(), r.ifr_hwaddr.sa_data, 6);
    return i;
}

int packet_socket(bool bypass_qdisc) {
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) die("socket(AF_PACKET)");
    const int one = 1;
    if (bypass_qdisc) setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    // 不要收到本機送出的封包（否則 fwd 會把自己送出的再轉送一次）
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0) die("setsockopt(PACKET_IGNORE_OUTGOING)");
    const int buf = 64 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    return fd;
}

void bind_to(int fd, const Iface& i) {
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = i.index;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) die("bind(AF_PACKET)");
}

bool deadline_passed(const Config& c, Clock::time_point t0) { return c.duration > 0 && since(t0) >= c.duration; }

// ---------------------------------------------------------------- TPACKET_V3 接收環
// 核心把封包成批寫進共享記憶體的 block；程式一次處理一整個 block，處理完交還核心。
class RxRing {
public:
    explicit RxRing(int fd) {
        const int ver = TPACKET_V3;
        if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) != 0) die("setsockopt(PACKET_VERSION)");
        tpacket_req3 req{};
        req.tp_block_size = kBlockSize;
        req.tp_block_nr = kBlockCount;
        req.tp_frame_size = kFrameSize;
        req.tp_frame_nr = kBlockSize / kFrameSize * kBlockCount;
        req.tp_retire_blk_tov = kBlockTimeoutMs;
        if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) die("setsockopt(PACKET_RX_RING)");
        void* map = mmap(nullptr, kMapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
        if (map == MAP_FAILED) die("mmap(PACKET_RX_RING)");
        base_ = static_cast<uint8_t*>(map);
    }
    RxRing(const RxRing&) = delete;
    RxRing& operator=(const RxRing&) = delete;
    ~RxRing() { munmap(base_, kMapLen); }
    // 下一個已填好的 block；沒有就回傳 nullptr（呼叫端 poll）
    tpacket_block_desc* ready() const {
        auto* bd = reinterpret_cast<tpacket_block_desc*>(base_ + static_cast<size_t>(blk_) * kBlockSize);
        return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? bd : nullptr;
    }
    void release(tpacket_block_desc* bd) {
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        blk_ = (blk_ + 1) % kBlockCount;
    }
    // 對 block 裡每個封包呼叫 f(訊框指標, 長度, tpacket3_hdr*)
    template <typename F>
    static void for_each(tpacket_block_desc* bd, F&& f) {
        auto* h = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt);
        for (uint32_t k = 0; k < bd->hdr.bh1.num_pkts; ++k) {
            f(reinterpret_cast<uint8_t*>(h) + h->tp_mac, h->tp_snaplen, h);
            h = reinterpret_cast<tpacket3_hdr*>(reinterpret_cast<uint8_t*>(h) + h->tp_next_offset);
        }
    }
private:
    static constexpr size_t kMapLen = static_cast<size_t>(kBlockSize) * kBlockCount;
    uint8_t* base_ = nullptr;
    uint32_t blk_ = 0;
};

// ---------------------------------------------------------------- send：sendmmsg 成批送出
int do_send(const Config& c, const Iface& i) {
    Fd s(packet_socket(true));
    bind_to(s.fd, i);
    std::vector<uint8_t> bufs(static_cast<size_t>(kBatch) * c.size);
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    std::printf("[就緒] send %s：%" PRIu64 " 個 %u bytes 的 UDP 封包 → 埠 %u\n", c.ifname.c_str(), c.count, c.size, c.dport);
    const auto t0 = Clock::now();
    uint64_t sent = 0, errors = 0;
    while (sent < c.count && !g_stop && !deadline_passed(c, t0)) {
        uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatch, c.count - sent));
        if (c.rate) {
            const uint64_t allowed = static_cast<uint64_t>(since(t0) * static_cast<double>(c.rate)) + 1;
            if (allowed <= sent) { usleep(50); continue; }
            n = static_cast<uint32_t>(std::min<uint64_t>(n, allowed - sent));
        }
        for (uint32_t k = 0; k < n; ++k) {
            uint8_t* f = bufs.data() + static_cast<size_t>(k) * c.size;
            build_frame(c, static_cast<uint32_t>(sent + k), f);
            iov[k] = {f, c.size};
            msgs[k] = {};
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        const int r = sendmmsg(s.fd, msgs.data(), n, 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) { ++errors; continue; }
            die("sendmmsg");
        }
        sent += static_cast<uint64_t>(r);
    }
    const double secs = since(t0);
    std::printf("[摘要] mode=send sent=%" PRIu64 " retries=%" PRIu64 " seconds=%.3f pps=%.0f\n", sent, errors, secs,
                static_cast<double>(sent) / secs);
    return 0;
}

// ---------------------------------------------------------------- recv：TPACKET_V3 環
int do_recv(const Config& c, const Iface& i) {
    Fd s(packet_socket(false));
    RxRing ring(s.fd);
    bind_to(s.fd, i);
    std::printf("[就緒] recv %s（TPACKET_V3，%u 個 %u KiB block）\n", c.ifname.c_str(), kBlockCount, kBlockSize >> 10);
    uint64_t rx = 0, valid = 0, other = 0, last_print_rx = 0;
    const auto t0 = Clock::now();
    Clock::time_point first{}, last{};
    auto tick = t0;
    int second = 0;
    while (!g_stop && !deadline_passed(c, t0) && !(c.count && rx >= c.count)) {
        if (tpacket_block_desc* bd = ring.ready()) {
            uint64_t got = 0;
            RxRing::for_each(bd, [&](const uint8_t* f, uint32_t len, const tpacket3_hdr* h) {
                if (!wanted(c, f, len)) { ++other; return; }
                ++got;
                if (c.verify && len == h->tp_len && checksums_ok(f, len)) ++valid;
            });
            ring.release(bd);
            if (got) {
                if (rx == 0) first = Clock::now();
                last = Clock::now();
                rx += got;
            }
        } else {
            pollfd p{s.fd, POLLIN | POLLERR, 0};
            poll(&p, 1, 50);
        }
        if (c.idle > 0 && rx > 0 && std::chrono::duration<double>(Clock::now() - last).count() >= c.idle) break;
        if (Clock::now() - tick >= std::chrono::seconds(1)) {
            std::printf("[統計] 第 %d 秒 rx %" PRIu64 " pps\n", ++second, rx - last_print_rx);
            last_print_rx = rx;
            tick = Clock::now();
        }
    }
    tpacket_stats_v3 st{};
    socklen_t sl = sizeof(st);
    getsockopt(s.fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
    const double active = rx > 1 ? std::chrono::duration<double>(last - first).count() : 0;
    std::printf("[摘要] mode=recv rx_packets=%" PRIu64 " rx_valid=%" PRIu64 " rx_other=%" PRIu64
                " kernel_drops=%u seconds=%.3f active_seconds=%.3f rx_pps=%.0f\n",
                rx, valid, other, st.tp_drops, since(t0), active, active > 0 ? static_cast<double>(rx) / active : 0.0);
    return 0;
}

// ---------------------------------------------------------------- fwd：TPACKET_V3 收 → 原地交換 MAC → sendmmsg 送回
// 收用共享記憶體環（沒有每封包的系統呼叫也沒有複製到使用者緩衝區），送用 sendmmsg 一次 64 個，
// iovec 直接指向環裡的訊框；整個 block 送完才交還核心。
int do_fwd(const Config& c, const Iface& i) {
    Fd s(packet_socket(true));
    RxRing ring(s.fd);
    bind_to(s.fd, i);
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> out{};
    std::optional<Fd> o;  // --out：另一個介面的送出 socket
    if (!c.out_if.empty()) {
        o.emplace(packet_socket(true));
        bind_to(o->fd, lookup_iface(c.out_if));
    }
    const int out_fd = o ? o->fd : s.fd;
    std::printf("[就緒] fwd %s → %s（TPACKET_V3 接收 + sendmmsg 一次 %u 個）\n", c.ifname.c_str(),
                o ? c.out_if.c_str() : c.ifname.c_str(), kBatch);
    uint64_t rx = 0, tx = 0;
    const auto t0 = Clock::now();
    auto flush = [&](uint32_t n) {
        uint32_t done = 0;
        while (done < n) {
            const int w = sendmmsg(out_fd, out.data() + done, n - done, 0);
            if (w <= 0) break;  // ENOBUFS：丟掉剩下的，和網卡滿了一樣
            done += static_cast<uint32_t>(w);
        }
        tx += done;
    };
    while (!g_stop && !deadline_passed(c, t0) && !(c.count && rx >= c.count)) {
        tpacket_block_desc* bd = ring.ready();
        if (!bd) {
            pollfd p{s.fd, POLLIN | POLLERR, 0};
            poll(&p, 1, 50);
            continue;
        }
        uint32_t n = 0;
        RxRing::for_each(bd, [&](uint8_t* f, uint32_t len, const tpacket3_hdr* h) {
            if (h->tp_status & TP_STATUS_COPY || !wanted(c, f, len)) return;  // 被截斷的或不是目標
            ++rx;
            if (!o) {  // 從同一個介面送回：交換 MAC
                std::array<uint8_t, 6> t;
                std::memcpy(t.data(), f, 6);
                std::memcpy(f, f + 6, 6);
                std::memcpy(f + 6, t.data(), 6);
            }
            iov[n] = {f, len};
            out[n] = {};
            out[n].msg_hdr.msg_iov = &iov[n];
            out[n].msg_hdr.msg_iovlen = 1;
            if (++n == kBatch) { flush(n); n = 0; }
        });
        if (n) flush(n);
        ring.release(bd);
    }
    const double secs = since(t0);
    std::printf("[摘要] mode=fwd rx_packets=%" PRIu64 " tx_packets=%" PRIu64 " seconds=%.3f rx_pps=%.0f\n", rx, tx, secs,
                static_cast<double>(rx) / secs);
    return 0;
}

// ---------------------------------------------------------------- xchg：送出、收回、逐位元組核對
void expected_reply(const Config& c, uint32_t seq, uint8_t* f) {
    build_frame(c, seq, f);
    std::array<uint8_t, 6> t;
    std::memcpy(t.data(), f, 6);
    std::memcpy(f, f + 6, 6);
    std::memcpy(f + 6, t.data(), 6);
    if (c.expect == "echo") {  // IP 與埠也交換（UDP 檢查和因交換而不變：1 的補數和與順序無關）
        uint8_t* ip4 = f + ETH_HLEN;
        std::array<uint8_t, 4> a;
        std::memcpy(a.data(), ip4 + 12, 4);
        std::memcpy(ip4 + 12, ip4 + 16, 4);
        std::memcpy(ip4 + 16, a.data(), 4);
        std::swap(ip4[20], ip4[22]);
        std::swap(ip4[21], ip4[23]);
        ip4[8] -= 1;  // echo 把 TTL 減 1（不重設：兩個 echo 之間的迴圈最多 255 次就死）；IP 檢查和跟著重算
        ip4[10] = ip4[11] = 0;
        const uint16_t ic = fold(sum16(0, ip4, 20));
        ip4[10] = static_cast<uint8_t>(ic >> 8); ip4[11] = static_cast<uint8_t>(ic);
    }
}

int do_xchg(const Config& c, const Iface& i) {
    Fd s(packet_socket(true));
    bind_to(s.fd, i);
    std::vector<uint8_t> f(c.size), want(c.size), got(16384);  // jumbo（MTU 9000）也放得下
    std::vector<uint8_t> seen(c.count, 0);
    uint64_t sent = 0, received = 0, matched = 0, mismatched = 0, dup = 0;
    int shown = 0;
    std::printf("[就緒] xchg %s：%" PRIu64 " 個封包，預期回應 %s\n", c.ifname.c_str(), c.count, c.expect.c_str());
    const auto t0 = Clock::now();
    auto last_rx = Clock::now();
    const double tail_wait = 1.0;  // 全部送完後，最多再等 1 秒收尾
    while (!g_stop && !deadline_passed(c, t0)) {
        // 在路上的封包少於視窗就補送
        while (sent < c.count && sent - (matched + mismatched) < kXchgWindow) {
            build_frame(c, static_cast<uint32_t>(sent), f.data());
            if (send(s.fd, f.data(), c.size, 0) != static_cast<ssize_t>(c.size)) break;
            ++sent;
        }
        if (sent == c.count && matched + mismatched >= c.count) break;
        if (sent == c.count && std::chrono::duration<double>(Clock::now() - last_rx).count() > tail_wait) break;
        pollfd p{s.fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        sockaddr_ll from{};
        socklen_t fl = sizeof(from);
        const ssize_t n = recvfrom(s.fd, got.data(), got.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
        if (static_cast<size_t>(n) < kPayloadOff + 8 || !is_ipv4_udp(got.data(), static_cast<size_t>(n)) ||
            std::memcmp(got.data() + kPayloadOff, kMagic.data(), 4) != 0)
            continue;  // 不是我們的封包（ARP、ICMP……）
        // echo 的回應目的埠是我們的來源埠；swapmac 的回應與送出的相同埠
        const bool echo = c.expect == "echo";
        if (udp_dport(got.data()) != (echo ? c.sport : c.dport) || udp_sport(got.data()) != (echo ? c.dport : c.sport))
            continue;
        last_rx = Clock::now();
        ++received;
        const uint32_t seq = static_cast<uint32_t>(got[kPayloadOff + 4] << 24 | got[kPayloadOff + 5] << 16 |
                                                   got[kPayloadOff + 6] << 8 | got[kPayloadOff + 7]);
        if (seq >= c.count) { ++mismatched; continue; }
        if (seen[seq]) { ++dup; continue; }
        seen[seq] = 1;
        expected_reply(c, seq, want.data());
        if (static_cast<size_t>(n) == c.size && std::memcmp(got.data(), want.data(), c.size) == 0) {
            ++matched;
        } else {
            ++mismatched;
            if (shown++ < 3) {
                size_t at = 0;
                while (at < std::min<size_t>(static_cast<size_t>(n), c.size) && got[at] == want[at]) ++at;
                std::printf("[不符] 序號 %u：長度 %zd（預期 %u），第一個不同的位元組在 offset %zu（實得 0x%02x，預期 0x%02x）\n",
                            seq, n, c.size, at, at < static_cast<size_t>(n) ? got[at] : 0, at < c.size ? want[at] : 0);
            }
        }
    }
    std::printf("[摘要] mode=xchg expect=%s sent=%" PRIu64 " received=%" PRIu64 " matched=%" PRIu64
                " mismatched=%" PRIu64 " duplicates=%" PRIu64 " missing=%" PRIu64 " seconds=%.3f\n",
                c.expect.c_str(), sent, received, matched, mismatched, dup, c.count - matched - mismatched, since(t0));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int k = 1; k < argc; ++k)
        if (std::string_view(argv[k]) == "--help" || std::string_view(argv[k]) == "-h") { usage(stdout); return 0; }
    Config c;
    try {
        c = parse(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "參數錯誤：%s\n", e.what());
        usage(stderr);
        return 2;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    try {
        const Iface i = lookup_iface(c.ifname);
        if (!c.have_src_mac) c.src_mac = i.mac;
        if (c.mode == "send") return do_send(c, i);
        if (c.mode == "recv") return do_recv(c, i);
        if (c.mode == "fwd") return do_fwd(c, i);
        return do_xchg(c, i);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        return errno == EPERM ? 77 : 1;
    }
}
