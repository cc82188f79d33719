#!/usr/bin/env python3
"""tests/io_uring_peers.py — 測試 echo 伺服器用的「壞」客戶端。

子命令（HOST PORT 之後）：
  binary BYTES            送出含所有位元組值的隨機資料，讀回並比對 SHA-256
  slow-reader SECONDS     只送不讀，送到被擋住為止；印出送出的位元組數
  resets N                N 條連線各送半則訊息後以 RST 中斷（SO_LINGER 0）
  hold N SECONDS          開 N 條連線、什麼都不送（連不上的算失敗），撐 SECONDS 秒後關閉；印出成功數
每個子命令最後印一行 key=value 結果；時間與次數都有上限。
"""
import hashlib
import os
import select
import socket
import struct
import sys
import time


def connect(host, port, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def binary(host, port, nbytes):
    data = os.urandom(nbytes - 256) + bytes(range(256))
    s = connect(host, port)
    s.setblocking(False)
    sent, got = 0, bytearray()
    deadline = time.monotonic() + 20
    while len(got) < len(data):
        if time.monotonic() > deadline:
            print(f"result=timeout sent={sent} received={len(got)}")
            return 1
        want_w = [s] if sent < len(data) else []
        r, w, _ = select.select([s], want_w, [], 1.0)
        if w:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    s.close()
    ok = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    print(f"result={'ok' if ok else 'mismatch'} sent={sent} received={len(got)}")
    return 0 if ok else 1


def slow_reader(host, port, seconds):
    s = connect(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    chunk = b"x" * 65536
    total, limit = 0, 256 << 20
    deadline = time.monotonic() + seconds
    last_progress = time.monotonic()
    while time.monotonic() < deadline and total < limit:
        _, w, _ = select.select([], [s], [], 0.2)
        if w:
            try:
                total += s.send(chunk)
                last_progress = time.monotonic()
            except BlockingIOError:
                pass
        elif time.monotonic() - last_progress > 1.0:
            break  # 擋住超過 1 秒：背壓已經傳到送方
    print(f"sent={total} blocked={'yes' if total < limit else 'no'}", flush=True)
    # 保持連線（不讀），讓測試量伺服器的記憶體；測試結束時會被終止，最多撐 30 秒
    time.sleep(30)
    s.close()
    return 0


def resets(host, port, n):
    done = 0
    for _ in range(n):
        s = connect(host, port)
        s.send(b"R" * 1000)  # 一則 4096 位元組訊息的前 1000 位元組
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # SO_LINGER 0：送出 RST
        done += 1
    print(f"resets={done}")
    return 0


def hold(host, port, n, seconds):
    socks, failed = [], 0
    for _ in range(n):
        try:
            socks.append(connect(host, port, timeout=2.0))
        except OSError:
            failed += 1
    print(f"connected={len(socks)} failed={failed}", flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()
    return 0


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    host, port, cmd, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if cmd == "binary":
        return binary(host, port, int(args[0]))
    if cmd == "slow-reader":
        return slow_reader(host, port, float(args[0]))
    if cmd == "resets":
        return resets(host, port, int(args[0]))
    if cmd == "hold":
        return hold(host, port, int(args[0]), float(args[1]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
