// tests/tools/epoll_echo.cpp — 傳統路徑的對照組：epoll TCP echo 伺服器
//
// 效能比較（./run_tests.sh -p）拿 io_uring_async 和它比。它盡量寫得好，才是公平的對照：
//   * 非阻塞 socket、edge-triggered epoll，一次 epoll_wait 取回最多 512 個事件；
//   * accept4 一次接到 EAGAIN 為止；TCP_NODELAY；
//   * 讀到 EAGAIN 為止，讀到的資料立刻 write 回去（每則訊息一次 read + 一次 write）；
//   * 寫不完的部分存在連線自己的緩衝區，等 EPOLLOUT；待送資料超過 64 KiB 就停止讀取（背壓）。
// 用法：epoll_echo PORT [--rotate MiB]   輸出與 io_uring_async 相同的 [就緒] / [摘要] 標記。
//   --rotate MiB：實驗對照（-p 的 epoll_rotate 列）——每次 recv 輪流用 MiB 大小的池子裡的下一塊 64 KiB，
//   而不是同一塊：模擬 io_uring 的 buffer ring 輪流用遍整個緩衝池時的快取行為（README〈buffer ring 的深度〉）。

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

constexpr int kMaxEvents = 512;
constexpr size_t kReadBuf = 65536;
constexpr size_t kMaxPending = 65536;  // 每條連線最多暫存這麼多待送資料，超過就停止讀（背壓）

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

struct Conn {
    int fd = -1;
    std::vector<char> pending;  // 還沒送出去的資料
    size_t pending_off = 0;
    bool read_blocked = false;  // 因背壓暫停讀取，等 EPOLLOUT 送完再讀
};

struct Stats { uint64_t accepted = 0, messages = 0, bytes = 0, resets = 0; };

void close_conn(int ep, std::vector<Conn>& conns, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns[size_t(fd)].fd = -1;
    conns[size_t(fd)].pending.clear();
    conns[size_t(fd)].pending_off = 0;
    conns[size_t(fd)].read_blocked = false;
}

// 送出暫存的資料；回傳 false 表示連線壞了
bool flush_pending(Conn& c) {
    while (c.pending_off < c.pending.size()) {
        ssize_t n = send(c.fd, c.pending.data() + c.pending_off, c.pending.size() - c.pending_off, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        c.pending_off += size_t(n);
    }
    c.pending.clear();
    c.pending_off = 0;
    return true;
}

// 讀到 EAGAIN 為止，每次讀到就寫回；回傳 false 表示要關閉連線。
// 每次 recv 用 pool 裡的下一塊 kReadBuf：平常 pool 只有一塊（永遠同一塊），--rotate 時輪流用遍整個池子
bool handle_read(Conn& c, std::vector<char>& pool, size_t& next, Stats& st) {
    while (!c.read_blocked) {
        char* buf = pool.data() + next * kReadBuf;
        next = (next + 1) % (pool.size() / kReadBuf);
        ssize_t n = recv(c.fd, buf, kReadBuf, 0);
        if (n == 0) { flush_pending(c); return false; }  // 對方關閉寫入端：盡量送完再關
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            if (errno == EINTR) continue;
            ++st.resets;
            return false;
        }
        ++st.messages;
        st.bytes += uint64_t(n);
        size_t off = 0;
        if (c.pending.empty()) {
            ssize_t w = send(c.fd, buf, size_t(n), MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { ++st.resets; return false; }
            off = w > 0 ? size_t(w) : 0;
        }
        if (off < size_t(n)) c.pending.insert(c.pending.end(), buf + off, buf + n);
        if (c.pending.size() - c.pending_off > kMaxPending) c.read_blocked = true;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    unsigned port = 0, rotate_mib = 0;
    auto parse = [](const char* s, unsigned& v) { return std::from_chars(s, s + strlen(s), v).ec == std::errc(); };
    const bool rotate = argc == 4 && std::string_view(argv[2]) == "--rotate";
    if ((argc != 2 && !rotate) || !parse(argv[1], port) || port == 0 || port > 65535 ||
        (rotate && (!parse(argv[3], rotate_mib) || rotate_mib == 0 || rotate_mib > 1024))) {
        fprintf(stderr, "用法：epoll_echo PORT [--rotate MiB（1–1024）]\n");
        return 2;
    }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }

    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(uint16_t(port));
    if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(lfd, 4096) < 0) {
        fprintf(stderr, "錯誤：無法監聽埠 %u：%s\n", port, strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    std::vector<Conn> conns(rl.rlim_cur > 0 ? rl.rlim_cur : 65536);
    std::vector<char> pool(rotate ? size_t(rotate_mib) << 20 : kReadBuf, 1);  // 一開始就碰過，之後不再有缺頁
    size_t next = 0;
    epoll_event events[kMaxEvents];
    Stats st;
    auto t0 = std::chrono::steady_clock::now();
    printf("[就緒] epoll echo 伺服器監聽 TCP 埠 %u%s\n", port, rotate ? "（--rotate：recv 輪流用整個池子）" : "");

    while (!g_stop.load()) {
        int n = epoll_wait(ep, events, kMaxEvents, 100);
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                while (true) {
                    int cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[size_t(cfd)].fd = cfd;
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
                    cev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                    ++st.accepted;
                }
                continue;
            }
            Conn& c = conns[size_t(fd)];
            bool ok = true;
            if (events[i].events & (EPOLLERR | EPOLLHUP)) ok = false;
            if (ok && (events[i].events & EPOLLOUT) && !c.pending.empty()) {
                ok = flush_pending(c);
                if (ok && c.read_blocked && c.pending.empty()) { c.read_blocked = false; events[i].events |= EPOLLIN; }
            }
            if (ok && (events[i].events & (EPOLLIN | EPOLLRDHUP))) ok = handle_read(c, pool, next, st);
            if (!ok) close_conn(ep, conns, fd);
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("[摘要] conns=%lu messages=%lu bytes=%lu seconds=%.2f resets=%lu\n", static_cast<unsigned long>(st.accepted),
           static_cast<unsigned long>(st.messages), static_cast<unsigned long>(st.bytes), secs,
           static_cast<unsigned long>(st.resets));
    return 0;
}
