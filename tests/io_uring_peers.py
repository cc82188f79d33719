#!/usr/bin/env python3
"""tests/io_uring_peers.py — 測試 echo 伺服器用的「壞」客戶端（只連 loopback 或測試自己的 namespace）。

子命令（HOST PORT 之後）：
  binary BYTES [SECONDS]      送出含所有位元組值的隨機資料，讀回並比對 SHA-256（預設 20 秒內）
  slow-reader SECONDS         只送不讀，送到被擋住為止；印出送出的位元組數
  slow-readers N SECONDS      N 條只送不讀的連線（SO_RCVBUF 4 KiB）：先灌到送不動，再每 20 ms 各滴 1 個位元組，
                              讓每一小段各佔一個緩衝區；印出被背壓擋住的連線數，之後撐 SECONDS 秒（不讀）
  resets N                    N 條連線各送半則訊息後以 RST 中斷（SO_LINGER 0）
  churn N BYTES               N 條連線（每次 16 條同時）各送 BYTES、讀回一部分就 RST 中斷
  hold N SECONDS              開 N 條連線、什麼都不送（連不上的算失敗），撐 SECONDS 秒後關閉；印出成功數
  idle N SECONDS              開 N 條連線、什麼都不送，等伺服器在 SECONDS 秒內關掉它們；印出被關掉的數目
  random N                    N 條連線各送隨機長度（1 B–256 KiB）的隨機位元組，回聲必須逐位元組相同
  onebyte BYTES               一條連線一次寫 1 個位元組，共 BYTES 個，回聲必須相同
  halfclose N                 N 條連線送資料後 shutdown(SHUT_WR)：必須收回全部資料，然後伺服器關閉（EOF）
  rstflood N                  N 條連線連上後立刻 RST（一半先送幾個位元組）
  connflood N SECONDS         同時開 N 條連線並保持 SECONDS 秒；印出被伺服器立刻關掉（超過 --max-conns）的數目
  slowloris N SECONDS         N 條連線在 SECONDS 秒內每 0.3 秒送 1 個位元組，回聲必須相同
  udp N SIZE [WINDOW]         （--udp 伺服器）N 個 SIZE 位元組的隨機資料包（每個開頭是序號），一次最多 WINDOW 個在途
                              （預設 16）；每個回音必須逐位元組相同；遺失的重送最多 3 次；印出 sent/echoed/bad
  udp-from SRC_PORT N         從來源埠 SRC_PORT 送 N 個資料包，等 1 秒：印出收到幾個回答（echo 迴圈的防護應該是 0）
每個子命令最後印一行 key=value 結果；次數與時間都有上限。
"""
import hashlib
import os
import random as rnd
import select
import socket
import struct
import sys
import time

MAX_CONNS = 5000      # 任何子命令的連線數上限
MAX_SECONDS = 60.0    # 任何子命令的時間上限


def connect(host, port, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def echo_exact(s, data, deadline):
    """送出 data 並讀回同樣多的位元組；回傳讀到的內容（逾時或 EOF 時可能較短）。"""
    s.setblocking(False)
    sent, got = 0, bytearray()
    while len(got) < len(data) and time.monotonic() < deadline:
        want_w = [s] if sent < len(data) else []
        r, w, _ = select.select([s], want_w, [], 0.2)
        if w:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            if not chunk:
                break
            got += chunk
    return bytes(got)


def binary(host, port, nbytes, seconds=20.0):
    data = os.urandom(nbytes - 256) + bytes(range(256))
    t0 = time.monotonic()
    s = connect(host, port)
    got = echo_exact(s, data, t0 + min(seconds, MAX_SECONDS))
    s.close()
    ok = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    result = "ok" if ok else ("timeout" if len(got) < len(data) else "mismatch")
    print(f"result={result} sent={len(data)} received={len(got)} seconds={time.monotonic() - t0:.2f}")
    return 0 if ok else 1


def slow_reader(host, port, seconds):
    s = connect(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    chunk = b"x" * 65536
    total, limit = 0, 256 << 20
    deadline = time.monotonic() + seconds
    last_progress = time.monotonic()
    blocked = False
    while time.monotonic() < deadline and total < limit:
        _, w, _ = select.select([], [s], [], 0.2)
        if w:
            try:
                total += s.send(chunk)
                last_progress = time.monotonic()
            except BlockingIOError:
                pass
        elif time.monotonic() - last_progress > 1.0:
            blocked = True  # 擋住超過 1 秒：背壓已經傳到送方
            break
    # 只有真的送不動才算被擋住；時間到了還送得動是 blocked=no
    print(f"sent={total} blocked={'yes' if blocked else 'no'}", flush=True)
    time.sleep(min(30.0, MAX_SECONDS))
    s.close()
    return 0


def slow_readers(host, port, n, seconds):
    n = min(n, MAX_CONNS)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # 連線前設定才會縮小視窗
        s.settimeout(5.0)
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    sent = [0] * n
    last = [time.monotonic()] * n
    closed = set()  # 被伺服器關掉的（send 得到 EPIPE / ECONNRESET）
    big = b"s" * 65536
    # 1. 灌資料直到每條都送不動超過 1 秒（伺服器回送的路徑塞滿、recv 被暫停），最多 20 秒
    t_end = time.monotonic() + 20
    while time.monotonic() < t_end:
        now = time.monotonic()
        active = [i for i in range(n) if now - last[i] < 1.0 and i not in closed]
        if not active:
            break
        _, w, _ = select.select([], [socks[i] for i in active], [], 0.2)
        ws = set(w)
        for i in active:
            if socks[i] in ws:
                try:
                    k = socks[i].send(big)
                    if k:
                        sent[i] += k
                        last[i] = time.monotonic()
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(i)
    blocked = sum(1 for i in range(n) if i not in closed and time.monotonic() - last[i] >= 1.0)
    # 2. 每 20 ms 各滴 1 個位元組（送得進去的話）：每一小段都可能在伺服器上各佔一個緩衝區
    dribbled = 0
    t_end = time.monotonic() + min(seconds, MAX_SECONDS)
    print(f"sent={sum(sent)} conns={n} blocked={blocked} closed={len(closed)}", flush=True)
    while time.monotonic() < t_end:
        for s in socks:
            try:
                dribbled += s.send(b"d")
            except (BlockingIOError, OSError):
                pass
        time.sleep(0.02)
    print(f"dribbled={dribbled}", flush=True)
    for s in socks:
        s.close()
    return 0


def resets(host, port, n):
    done = 0
    for _ in range(min(n, MAX_CONNS)):
        s = connect(host, port)
        s.send(b"R" * 1000)  # 一則 4096 位元組訊息的前 1000 位元組
        rst_close(s)  # SO_LINGER 0：送出 RST
        done += 1
    print(f"resets={done}")
    return 0


def churn(host, port, n, nbytes):
    n = min(n, MAX_CONNS)
    data = os.urandom(nbytes)
    done, t_end = 0, time.monotonic() + MAX_SECONDS
    while done < n and time.monotonic() < t_end:
        wave = []
        for _ in range(min(16, n - done)):
            s = connect(host, port)
            s.setblocking(False)
            wave.append(s)
        # 每條送出全部資料（送得進去多少算多少），讀回一點點，然後 RST
        deadline = time.monotonic() + 2
        for s in wave:
            off = 0
            while off < len(data) and time.monotonic() < deadline:
                try:
                    off += s.send(data[off:off + 65536])
                except BlockingIOError:
                    select.select([], [s], [], 0.05)
                except OSError:
                    break  # 伺服器滿了（--max-conns）而關掉這條：照樣算一次
        for s in wave:
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                try:
                    s.recv(rnd.randint(1, 8192))
                except OSError:
                    pass
            rst_close(s)
            done += 1
    print(f"churn={done}")
    return 0 if done == n else 1


def hold(host, port, n, seconds):
    socks, failed = [], 0
    for _ in range(min(n, MAX_CONNS)):
        try:
            socks.append(connect(host, port, timeout=2.0))
        except OSError:
            failed += 1
    print(f"connected={len(socks)} failed={failed}", flush=True)
    time.sleep(min(seconds, MAX_SECONDS))
    for s in socks:
        s.close()
    return 0


def idle(host, port, n, seconds):
    socks = [connect(host, port, timeout=2.0) for _ in range(min(n, MAX_CONNS))]
    print(f"connected={len(socks)}", flush=True)
    open_ = set(socks)
    t0 = time.monotonic()
    t_end = t0 + min(seconds, MAX_SECONDS)
    while open_ and time.monotonic() < t_end:
        r, _, _ = select.select(list(open_), [], [], 0.2)
        for s in r:
            try:
                if s.recv(1) == b"":
                    open_.discard(s)
            except OSError:
                open_.discard(s)
    print(f"closed={len(socks) - len(open_)} seconds={time.monotonic() - t0:.2f}", flush=True)
    for s in socks:
        s.close()
    return 0


def random_peers(host, port, n):
    bad = 0
    for _ in range(min(n, MAX_CONNS)):
        data = os.urandom(rnd.choice([1, 2, 7, 100, 4095, 4096, 4097, 65535, 65536, 65537, rnd.randint(1, 256 << 10)]))
        s = connect(host, port)
        got = echo_exact(s, data, time.monotonic() + 10)
        s.close()
        bad += got != data
    print(f"random={n} mismatched={bad}")
    return 0 if bad == 0 else 1


def onebyte(host, port, nbytes):
    data = os.urandom(nbytes)
    s = connect(host, port)
    got = bytearray()
    deadline = time.monotonic() + 30
    for b in data:
        s.send(bytes([b]))
        while True:  # 把已經回來的讀走，不阻塞
            r, _, _ = select.select([s], [], [], 0)
            if not r:
                break
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    s.settimeout(1.0)
    while len(got) < len(data) and time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        got += chunk
    s.close()
    ok = bytes(got) == data
    print(f"onebyte={'ok' if ok else 'mismatch'} sent={len(data)} received={len(got)}")
    return 0 if ok else 1


def halfclose(host, port, n):
    bad = 0
    for i in range(min(n, MAX_CONNS)):
        data = os.urandom(rnd.randint(1, 200 << 10))
        s = connect(host, port)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # 半關閉：伺服器應該送完收到的資料再關
        s.settimeout(10.0)
        got = bytearray()
        eof = False
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    eof = True
                    break
                got += chunk
        except OSError:
            pass
        s.close()
        if bytes(got) != data or not eof:
            bad += 1
            if bad <= 3:
                print(f"  連線 {i}：送 {len(data)} 收 {len(got)} eof={eof}", flush=True)
    print(f"halfclose={n} bad={bad}")
    return 0 if bad == 0 else 1


def rstflood(host, port, n):
    done = 0
    for i in range(min(n, MAX_CONNS)):
        try:
            s = connect(host, port, timeout=2.0)
        except OSError:
            continue
        if i % 2:
            try:
                s.send(os.urandom(rnd.randint(1, 3000)))
            except OSError:
                pass
        rst_close(s)
        done += 1
    print(f"rstflood={done}")
    return 0


def connflood(host, port, n, seconds):
    socks, failed = [], 0
    for _ in range(min(n, MAX_CONNS)):
        try:
            socks.append(connect(host, port, timeout=2.0))
        except OSError:
            failed += 1
    # 伺服器滿了就立刻關掉新連線：那些連線讀到 EOF 或 RST
    time.sleep(0.5)
    refused = 0
    for s in socks:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            try:
                if s.recv(1) == b"":
                    refused += 1
            except OSError:
                refused += 1
    print(f"connected={len(socks)} failed={failed} refused={refused}", flush=True)
    time.sleep(min(seconds, MAX_SECONDS))
    for s in socks:
        rst_close(s)
    return 0


def slowloris(host, port, n, seconds):
    socks = [connect(host, port) for _ in range(min(n, MAX_CONNS))]
    sent = [bytearray() for _ in socks]
    got = [bytearray() for _ in socks]
    t_end = time.monotonic() + min(seconds, MAX_SECONDS)
    while time.monotonic() < t_end:
        for i, s in enumerate(socks):
            b = os.urandom(1)
            s.send(b)
            sent[i] += b
        r, _, _ = select.select(socks, [], [], 0.3)
        for s in r:
            got[socks.index(s)] += s.recv(4096)
    for i, s in enumerate(socks):
        s.settimeout(2.0)
        try:
            while len(got[i]) < len(sent[i]):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got[i] += chunk
        except OSError:
            pass
        s.close()
    bad = sum(1 for i in range(len(socks)) if got[i] != sent[i])
    print(f"slowloris={len(socks)} bytes={sum(len(x) for x in sent)} mismatched={bad}")
    return 0 if bad == 0 else 1


def udp_echo(host, port, n, size, window=16):
    """N 個資料包，每個都要原樣回來；偶爾的遺失（UDP）以重送補上，內容不符就算錯。"""
    n = min(n, 1_000_000)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    size = max(size, 4)
    payloads = {}
    pending = {}          # 序號 -> 重送次數
    echoed = bad = resent = 0
    nxt = 0
    deadline = time.monotonic() + MAX_SECONDS
    while (nxt < n or pending) and time.monotonic() < deadline:
        while nxt < n and len(pending) < window:
            d = struct.pack("!I", nxt) + os.urandom(size - 4)
            payloads[nxt] = d
            pending[nxt] = 0
            s.sendto(d, (host, port))
            nxt += 1
        try:
            r = s.recv(65536)
        except socket.timeout:
            for seq in list(pending):     # 逾時：在途的重送（最多 3 次）
                if pending[seq] >= 3:
                    del pending[seq]
                    continue
                pending[seq] += 1
                resent += 1
                s.sendto(payloads[seq], (host, port))
            continue
        seq = struct.unpack("!I", r[:4])[0] if len(r) >= 4 else -1
        if seq in pending:
            del pending[seq]
            if r == payloads[seq]:
                echoed += 1
            else:
                bad += 1
            payloads.pop(seq, None)
        elif seq not in payloads and (seq < 0 or seq >= nxt):
            bad += 1                      # 不是我們送的
    ok = echoed == n and bad == 0
    print(f"sent={n} echoed={echoed} bad={bad} resent={resent} size={size} result={'ok' if ok else 'fail'}")
    return 0 if ok else 1


def udp_from(host, port, src_port, n):
    """從指定的來源埠送資料包；echo 伺服器若回答了，回答會送回這個埠。"""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", src_port))
    for i in range(min(n, 10000)):
        s.sendto(b"loop?" + struct.pack("!I", i), (host, port))
    s.settimeout(1.0)
    answered = 0
    try:
        while True:
            s.recv(65536)
            answered += 1
    except socket.timeout:
        pass
    print(f"sent={n} answered={answered}")
    return 0


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    host, port, cmd, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    cmds = {
        "binary": lambda: binary(host, port, int(args[0]), float(args[1]) if len(args) > 1 else 20.0),
        "slow-reader": lambda: slow_reader(host, port, float(args[0])),
        "slow-readers": lambda: slow_readers(host, port, int(args[0]), float(args[1])),
        "resets": lambda: resets(host, port, int(args[0])),
        "churn": lambda: churn(host, port, int(args[0]), int(args[1])),
        "hold": lambda: hold(host, port, int(args[0]), float(args[1])),
        "idle": lambda: idle(host, port, int(args[0]), float(args[1])),
        "random": lambda: random_peers(host, port, int(args[0])),
        "onebyte": lambda: onebyte(host, port, int(args[0])),
        "halfclose": lambda: halfclose(host, port, int(args[0])),
        "rstflood": lambda: rstflood(host, port, int(args[0])),
        "connflood": lambda: connflood(host, port, int(args[0]), float(args[1])),
        "slowloris": lambda: slowloris(host, port, int(args[0]), float(args[1])),
        "udp": lambda: udp_echo(host, port, int(args[0]), int(args[1]), int(args[2]) if len(args) > 2 else 16),
        "udp-from": lambda: udp_from(host, port, int(args[0]), int(args[1])),
    }
    if cmd not in cmds:
        print(__doc__)
        return 2
    return cmds[cmd]()


if __name__ == "__main__":
    sys.exit(main())
