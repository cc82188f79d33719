// xdp_livegen.cpp — 用 BPF_F_TEST_XDP_LIVE_FRAMES 產生封包，以及 XDP_DROP / XDP_PASS 接收端
//
// 為什麼需要它：AF_PACKET 發送端在這台機器上只有約 0.45 Mpps，量不出 AF_XDP 或 XDP 的上限
// （量到的是發送端）。核心沒有 pktgen，xdp-tools 的 xdp-trafficgen 在這個核心上會失敗。
// 這裡直接做 xdp-trafficgen 做的事：bpf_prog_test_run_opts() 以 LIVE_FRAMES 模式重複執行
// 一個回傳 XDP_TX 的程式，每次執行都把樣板訊框當成真的封包從指定介面送出。
//
//   xdp_livegen gen  介面 [--duration S | --count N] [--rate PPS] [--size N] [--dst-mac MAC] [--src-ip IP] [--dst-ip IP] [--port P]
//   xdp_livegen drop 介面 [--duration S]    接收端掛 XDP_DROP 並計數（XDP 上限）
//   xdp_livegen pass 介面 [--duration S]    接收端掛 XDP_PASS 並計數
//
// 需要 Linux 5.18+、root。veth 注意：XDP_TX 從 veth 一端送出時，另一端必須有 XDP 程式或開著 GRO
// （ethtool -K 另一端 gro on），否則 veth_xdp_xmit 直接丟棄（另一端沒有 NAPI 可收）。
// 程式檔預設為執行檔旁的 xdp_livegen.bpf.o。

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sys/ioctl.h>
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
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// 每次 test_run 的 repeat 數。每次呼叫結束時核心拆掉這次的 page pool，在 synchronize_rcu 裡睡一個 RCU grace period
// （這台 VM 上數 ms 到數十 ms）：產生器在那段時間不送。第一次用 kChunk 量出速率，之後每次送約 kChunkSeconds 秒
// （不超過剩下的時間與數量），讓停頓只佔一小部分。以前固定 2^18 個（約 60 ms）時 CPU 0 有三成時間閒著，
// 流量一陣一陣的。Ctrl-C 不受影響：test_run 在迴圈裡看到訊號就以 EINTR 返回。
constexpr uint32_t kChunk = 1u << 18;
constexpr uint32_t kMaxChunk = 1u << 26;
constexpr double kChunkSeconds = 0.5;
constexpr uint32_t kPacedChunk = 1u << 22;  // 定速時每次 test_run 的 repeat 數：大多是 XDP_DROP；一次約 0.2–0.5 秒，送得越多越久
constexpr uint32_t kLiveBatch = 64;       // 核心每批處理的 frame 數（opts.batch_size）

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Config {
    std::string mode, ifname, obj;
    double duration = 0;
    uint64_t count = 0;
    uint64_t rate = 0;  // gen 的目標速率（pps），0 = 全速
    uint32_t size = 64;
    std::array<uint8_t, 6> dst_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src_mac{};
    bool have_src = false;
    in_addr src_ip{htonl(0xC6120202)}, dst_ip{htonl(0xC6120201)};
    uint16_t port = 4242;
};

void usage(FILE* o) {
    std::fprintf(o,
        "用法：xdp_livegen gen|drop|pass 介面 [選項]\n"
        "  --duration S    執行 S 秒（預設 0 = 直到 Ctrl-C；gen 需要 --duration 或 --count）\n"
        "  --count N       gen：送出 N 個後結束\n"
        "  --rate PPS      gen：定速送出（XDP 程式看時鐘，時間到才 XDP_TX；預設 0 = 全速）\n"
        "  --size N        訊框 bytes（預設 64）\n"
        "  --dst-mac MAC   目的 MAC（預設 廣播）；--src-mac MAC（預設 介面的）\n"
        "  --src-ip IP     預設 198.18.2.2；--dst-ip IP 預設 198.18.2.1；--port P 預設 4242\n"
        "  --obj 路徑      BPF 程式檔（預設 執行檔旁的 xdp_livegen.bpf.o）\n");
}

std::array<uint8_t, 6> parse_mac(std::string_view s) {
    std::array<uint8_t, 6> m{};
    if (s.size() != 17) throw std::invalid_argument("MAC 格式錯誤");
    for (size_t i = 0; i < 6; ++i)
        if (std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, m[i], 16).ec != std::errc{})
            throw std::invalid_argument("MAC 格式錯誤");
    return m;
}

Config parse(int argc, char** argv) {
    if (argc < 3) throw std::invalid_argument("缺少 模式 與 介面");
    Config c;
    c.mode = argv[1];
    c.ifname = argv[2];
    if (c.mode != "gen" && c.mode != "drop" && c.mode != "pass") throw std::invalid_argument("未知的模式：" + c.mode);
    for (int i = 3; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " 需要一個值");
        std::string v = argv[++i];
        auto u64 = [&]() {
            uint64_t x{};
            if (std::from_chars(v.data(), v.data() + v.size(), x).ec != std::errc{}) throw std::invalid_argument(v + " 不是數字");
            return x;
        };
        if (a == "--duration") c.duration = std::stod(v);
        else if (a == "--count") c.count = u64();
        else if (a == "--rate") c.rate = u64();
        else if (a == "--size") c.size = static_cast<uint32_t>(std::clamp<uint64_t>(u64(), 60, 1514));
        else if (a == "--dst-mac") c.dst_mac = parse_mac(v);
        else if (a == "--src-mac") { c.src_mac = parse_mac(v); c.have_src = true; }
        else if (a == "--src-ip") inet_pton(AF_INET, v.c_str(), &c.src_ip);
        else if (a == "--dst-ip") inet_pton(AF_INET, v.c_str(), &c.dst_ip);
        else if (a == "--port") c.port = static_cast<uint16_t>(u64());
        else if (a == "--obj") c.obj = v;
        else throw std::invalid_argument("未知的選項：" + std::string(a));
    }
    if (c.mode == "gen" && c.duration <= 0 && c.count == 0) throw std::invalid_argument("gen 需要 --duration 或 --count");
    return c;
}

uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return static_cast<uint16_t>(~s); }
uint32_t sum16(uint32_t s, const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
    return s;
}

// 與 af_packet_peer 相同格式的 UDP 訊框（payload 以 "KBXD" 開頭），檢查和正確
std::vector<uint8_t> frame(const Config& c) {
    std::vector<uint8_t> f(c.size, 0);
    std::memcpy(f.data(), c.dst_mac.data(), 6);
    std::memcpy(f.data() + 6, c.src_mac.data(), 6);
    f[12] = 0x08;
    uint8_t* ip4 = f.data() + ETH_HLEN;
    const uint16_t tot = static_cast<uint16_t>(c.size - ETH_HLEN), ulen = static_cast<uint16_t>(tot - 20);
    ip4[0] = 0x45; ip4[2] = static_cast<uint8_t>(tot >> 8); ip4[3] = static_cast<uint8_t>(tot);
    ip4[8] = 64; ip4[9] = IPPROTO_UDP;
    std::memcpy(ip4 + 12, &c.src_ip, 4);
    std::memcpy(ip4 + 16, &c.dst_ip, 4);
    const uint16_t ic = fold(sum16(0, ip4, 20));
    ip4[10] = static_cast<uint8_t>(ic >> 8); ip4[11] = static_cast<uint8_t>(ic);
    uint8_t* u = ip4 + 20;
    u[0] = 0x9c; u[1] = 0x40;  // 來源埠 40000
    u[2] = static_cast<uint8_t>(c.port >> 8); u[3] = static_cast<uint8_t>(c.port);
    u[4] = static_cast<uint8_t>(ulen >> 8); u[5] = static_cast<uint8_t>(ulen);
    std::memcpy(u + 8, "KBXD", 4);
    uint32_t s = sum16(0, ip4 + 12, 8) + IPPROTO_UDP + ulen;
    uint16_t uc = fold(sum16(s, u, ulen));
    if (uc == 0) uc = 0xffff;
    u[6] = static_cast<uint8_t>(uc >> 8); u[7] = static_cast<uint8_t>(uc);
    return f;
}

struct Obj {
    bpf_object* o = nullptr;
    explicit Obj(const std::string& path) {
        o = bpf_object__open_file(path.c_str(), nullptr);
        if (libbpf_get_error(o)) { o = nullptr; throw std::runtime_error("bpf_object__open_file(" + path + ") 失敗"); }
        if (const int err = bpf_object__load(o); err)
            throw std::runtime_error(std::string("bpf_object__load 失敗：") + std::strerror(-err));
    }
    Obj(const Obj&) = delete;
    Obj& operator=(const Obj&) = delete;
    ~Obj() { if (o) bpf_object__close(o); }
    int prog_fd(const char* name) const {
        bpf_program* p = bpf_object__find_program_by_name(o, name);
        if (!p) throw std::runtime_error(std::string("找不到程式 ") + name);
        return bpf_program__fd(p);
    }
};

int do_gen(const Config& c, int ifindex, const Obj& obj) {
    const int fd = obj.prog_fd(c.rate ? "livegen_paced" : "livegen_tx");
    std::vector<uint8_t> f = frame(c);
    // 定速：間隔交給 XDP 程式；送出數從它的 map 讀回（repeat 次裡大部分是還沒到時間的 XDP_DROP）
    struct Pace { uint64_t interval_ns, next, sent; };
    const int pace_map = bpf_object__find_map_fd_by_name(obj.o, "livegen_pace");
    if (c.rate) {
        if (pace_map < 0) throw std::runtime_error("找不到 map livegen_pace（BPF 程式檔太舊？）");
        const uint32_t k = 0;
        const Pace p{std::max<uint64_t>(1'000'000'000ull / c.rate, 1), 0, 0};
        if (bpf_map_update_elem(pace_map, &k, &p, BPF_ANY) != 0) throw std::runtime_error("設定 livegen_pace 失敗");
        const int hdr_map = bpf_object__find_map_fd_by_name(obj.o, "livegen_hdr");  // 每次送出前寫回的標頭
        if (hdr_map < 0 || bpf_map_update_elem(hdr_map, &k, f.data(), BPF_ANY) != 0) throw std::runtime_error("設定 livegen_hdr 失敗");
    }
    auto paced_sent = [&]() {
        const uint32_t k = 0;
        Pace p{};
        return bpf_map_lookup_elem(pace_map, &k, &p) == 0 ? p.sent : 0;
    };
    xdp_md ctx{};
    ctx.data_end = c.size;
    ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
    ctx.rx_queue_index = 0;
    std::printf("[就緒] gen %s：%u bytes 的 UDP 訊框 → 埠 %u（LIVE_FRAMES，XDP_TX）\n", c.ifname.c_str(), c.size, c.port);
    const auto t0 = Clock::now();
    uint64_t sent = 0, last = 0;
    uint32_t chunk = kChunk;
    double pps = 0;
    auto tick = t0;
    int second = 0;
    while (!g_stop) {
        if (c.duration > 0 && since(t0) >= c.duration) break;
        uint32_t rep = c.rate ? kPacedChunk : chunk;
        if (!c.rate && c.duration > 0 && pps > 0) {  // 不越過 --duration 太多
            const double left = std::max(c.duration - since(t0), 0.01);
            rep = static_cast<uint32_t>(std::clamp(pps * left, 1.0, static_cast<double>(rep)));
        }
        if (c.count) {
            if (sent >= c.count) break;
            rep = static_cast<uint32_t>(std::min<uint64_t>(rep, c.count - sent));
        }
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = c.size, .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(rep), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                    .batch_size = kLiveBatch);
        const auto call0 = Clock::now();
        if (const int err = bpf_prog_test_run_opts(fd, &opts); err) {
            if (errno == EINTR) break;
            throw std::runtime_error(std::string("bpf_prog_test_run_opts(LIVE_FRAMES) 失敗：") + std::strerror(errno) +
                                     "（需要 Linux 5.18+ 與 root）");
        }
        if (!c.rate) {  // 這次呼叫（含拆除時的 grace period）的速率決定下一次的 repeat 數
            pps = rep / std::max(since(call0), 1e-6);
            chunk = static_cast<uint32_t>(std::clamp(pps * kChunkSeconds, static_cast<double>(kChunk), static_cast<double>(kMaxChunk)));
        }
        sent = c.rate ? paced_sent() : sent + rep;
        if (Clock::now() - tick >= std::chrono::seconds(1)) {
            std::printf("[統計] 第 %d 秒 gen %.0f pps\n", ++second, static_cast<double>(sent - last) / since(tick));
            last = sent;
            tick = Clock::now();
        }
    }
    const double s = since(t0);
    std::printf("[摘要] mode=gen sent=%" PRIu64 " seconds=%.3f pps=%.0f\n", sent, s, static_cast<double>(sent) / s);
    return 0;
}

uint64_t read_count(int map_fd) {
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> v(static_cast<size_t>(std::max(ncpu, 1)));
    uint32_t k = 0;
    if (bpf_map_lookup_elem(map_fd, &k, v.data()) != 0) return 0;
    uint64_t t = 0;
    for (auto x : v) t += x;
    return t;
}

int do_sink(const Config& c, int ifindex, const Obj& obj) {
    const int fd = obj.prog_fd(c.mode == "drop" ? "xdp_drop" : "xdp_pass");
    const int map = bpf_object__find_map_fd_by_name(obj.o, "livegen_cnt");
    if (const int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr); err)
        throw std::runtime_error(std::string("bpf_xdp_attach 失敗：") + std::strerror(-err) + "（介面上已有 XDP 程式？）");
    std::printf("[就緒] %s %s：XDP_%s 並計數\n", c.mode.c_str(), c.ifname.c_str(), c.mode == "drop" ? "DROP" : "PASS");
    const auto t0 = Clock::now();
    auto tick = t0;
    uint64_t last = 0, peak = 0;
    int second = 0;
    while (!g_stop && !(c.duration > 0 && since(t0) >= c.duration)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (Clock::now() - tick >= std::chrono::seconds(1)) {
            const uint64_t n = read_count(map);
            const double pps = static_cast<double>(n - last) / since(tick);
            peak = std::max(peak, static_cast<uint64_t>(pps));
            std::printf("[統計] 第 %d 秒 rx %.0f pps\n", ++second, pps);
            last = n;
            tick = Clock::now();
        }
    }
    const uint64_t total = read_count(map);
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
    std::printf("[摘要] mode=%s rx_packets=%" PRIu64 " seconds=%.3f peak_pps=%" PRIu64 "\n", c.mode.c_str(), total,
                since(t0), peak);
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
        const int ifindex = static_cast<int>(if_nametoindex(c.ifname.c_str()));
        if (ifindex == 0) throw std::runtime_error("找不到介面 " + c.ifname);
        if (!c.have_src) {
            const int s = socket(AF_INET, SOCK_DGRAM, 0);
            ifreq r{};
            std::snprintf(r.ifr_name, IFNAMSIZ, "%s", c.ifname.c_str());
            if (s >= 0 && ioctl(s, SIOCGIFHWADDR, &r) == 0) std::memcpy(c.src_mac.data(), r.ifr_hwaddr.sa_data, 6);
            if (s >= 0) close(s);
        }
        if (c.obj.empty())
            c.obj = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "xdp_livegen.bpf.o").string();
        Obj obj(c.obj);
        return c.mode == "gen" ? do_gen(c, ifindex, obj) : do_sink(c, ifindex, obj);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "錯誤：%s\n", e.what());
        return 1;
    }
}
