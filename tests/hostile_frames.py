#!/usr/bin/python3
"""tests/hostile_frames.py — 敵意測試用的隨機 frame（scapy 建構，可重現：同一個 seed 同一組 frame）。

子命令：
  gen OUT.pcap --count N --seed S [--src-mac M --dst-mac M --src-ip A --dst-ip A
                                   --src-ip6 A --dst-ip6 A --dport P --max-len L]
      寫出 N 個 frame：在 0..64 的每個長度截斷、隨機 EtherType、錯誤的 IHL / IPv4 總長度 /
      IPv6 payload 長度、放不下的 L4 標頭、錯誤的 UDP 長度與 TCP data offset、非第一個的分段、
      VLAN 堆疊（1–3 層）、jumbo，外加約三成送往 --dport 的正常 IPv4/IPv6 UDP frame。
      印出一行 frames=N wellformed=W malformed=M other=O（分類用下面 check 的定義）。
  check IN.pcap
      印出 frames=N wellformed=W malformed=M other=O；有任何 malformed 時結束碼 1。
  send IFACE IN.pcap
      用 AF_PACKET raw socket 從 IFACE 依序送出每個 frame（請在 ip netns exec 裡執行），
      印出 sent=S refused=R（核心會拒絕某些 frame，例如短於 14 位元組或超過 MTU 的）。

malformed 的定義（和任何一個被測程式的檢查邏輯無關，只看位元組）：
  - 不到 14 位元組；VLAN 標籤（0x8100、0x88a8）放不下；
  - IPv4：標頭放不下 20 位元組、version 不是 4、IHL < 5、IHL×4 超出現有位元組、
    總長度小於 IHL×4 或大於現有位元組；
    不是「非第一個分段」時，UDP（8 位元組）或 TCP（20 位元組）標頭放不下，UDP 長度 < 8 或超出 L4 位元組
    （有 MF 旗標的第一個分段不檢查 UDP 長度），TCP data offset < 5 或超出 L4 位元組；
  - IPv6：標頭放不下 40 位元組、version 不是 6、payload 長度大於現有位元組；下一個標頭是 UDP/TCP 時同上。
  其他 EtherType 算 other（不是 malformed）；IP 封包後面的填充位元組不算錯。
"""
import os
import random
import socket
import struct
import sys

try:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
except ImportError:  # pyenv 之類的 python3 沒有 Debian 的 python3-scapy：改用系統的直譯器
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise SystemExit("找不到 scapy（Debian 套件 python3-scapy，make install-deps 會安裝）")

VLAN_TPIDS = (0x8100, 0x88A8)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcap_io import read_pcap, write_pcap  # noqa: E402（同一個目錄）


# ---------------------------------------------------------------- 分類
def _l4_ok(proto, l4, more_fragments):
    if proto == 17:
        if len(l4) < 8:
            return False
        ulen = struct.unpack("!H", l4[4:6])[0]
        return more_fragments or 8 <= ulen <= len(l4)
    if proto == 6:
        if len(l4) < 20:
            return False
        doff = l4[12] >> 4
        return doff >= 5 and doff * 4 <= len(l4)
    return True


def classify(fr):
    """回傳 'wellformed'、'malformed' 或 'other'。"""
    if len(fr) < 14:
        return "malformed"
    off, etype = 14, struct.unpack("!H", fr[12:14])[0]
    while etype in VLAN_TPIDS:
        if len(fr) < off + 4:
            return "malformed"
        etype = struct.unpack("!H", fr[off + 2:off + 4])[0]
        off += 4
    l3 = fr[off:]
    if etype == 0x0800:
        if len(l3) < 20 or l3[0] >> 4 != 4:
            return "malformed"
        ihl = (l3[0] & 0x0F) * 4
        total = struct.unpack("!H", l3[2:4])[0]
        if ihl < 20 or ihl > len(l3) or total < ihl or total > len(l3):
            return "malformed"
        frag = struct.unpack("!H", l3[6:8])[0]
        if frag & 0x1FFF:  # 非第一個分段：沒有 L4 標頭可檢查
            return "wellformed"
        return "wellformed" if _l4_ok(l3[9], l3[ihl:total], bool(frag & 0x2000)) else "malformed"
    if etype == 0x86DD:
        if len(l3) < 40 or l3[0] >> 4 != 6:
            return "malformed"
        plen = struct.unpack("!H", l3[4:6])[0]
        if plen > len(l3) - 40:
            return "malformed"
        return "wellformed" if _l4_ok(l3[6], l3[40:40 + plen], False) else "malformed"
    return "other"


def count(frames):
    c = {"wellformed": 0, "malformed": 0, "other": 0}
    for fr in frames:
        c[classify(fr)] += 1
    return c


def summary(frames):
    c = count(frames)
    return f"frames={len(frames)} wellformed={c['wellformed']} malformed={c['malformed']} other={c['other']}"


# ---------------------------------------------------------------- 產生
class Gen:
    def __init__(self, a):
        self.a, self.r = a, random.Random(a.seed)

    def payload(self, lo, hi):
        return bytes(self.r.getrandbits(8) for _ in range(self.r.randint(lo, hi)))

    def sport(self):
        return self.r.randint(1024, 65535)

    def eth(self, etype=None):
        e = Ether(src=self.a.src_mac, dst=self.a.dst_mac)
        if etype is not None:
            e.type = etype
        return e

    def udp4(self, lo=0, hi=64):
        return self.eth() / IP(src=self.a.src_ip, dst=self.a.dst_ip, ttl=64) / UDP(
            sport=self.sport(), dport=self.a.dport) / self.payload(lo, hi)

    def udp6(self, lo=0, hi=64):
        return self.eth() / IPv6(src=self.a.src_ip6, dst=self.a.dst_ip6, hlim=64) / UDP(
            sport=self.sport(), dport=self.a.dport) / self.payload(lo, hi)

    def valid(self):
        return bytes(self.udp4() if self.r.random() < 0.6 else self.udp6())

    def tcp4(self):
        return bytes(self.eth() / IP(src=self.a.src_ip, dst=self.a.dst_ip) /
                     TCP(sport=self.sport(), dport=self.a.dport, flags="S") / self.payload(0, 32))

    # 每種敵意 frame 一個方法；回傳位元組
    def truncated(self, i):
        base = self.valid() if self.r.random() < 0.7 else self.tcp4()
        return base[:i % 65]

    def random_ethertype(self, _i):
        etype = self.r.choice([self.r.randint(0, 0xFFFF), 0x0806, 0x88CC, 0x8847, 0x0000, 0x05DC])
        return bytes(self.eth(etype)) + self.payload(0, 200)

    def bad_ihl(self, _i):
        b = bytearray(bytes(self.udp4()))
        b[14] = 0x40 | self.r.choice([0, 1, 4, 15])  # IHL 0/1/4 太小，15 = 60 位元組超出
        return bytes(b)

    def bad_total_length(self, _i):
        b = bytearray(bytes(self.udp4()))
        tl = self.r.choice([0, 19, len(b) - 14 + self.r.randint(1, 2000), 0xFFFF])
        b[16:18] = struct.pack("!H", tl)
        return bytes(b)

    def bad_ipv6_plen(self, _i):
        b = bytearray(bytes(self.udp6()))
        b[18:20] = struct.pack("!H", len(b) - 54 + self.r.randint(1, 9000))
        return bytes(b)

    def l4_cut(self, _i):
        # IPv4 說它是 UDP/TCP，但總長度只留 0–7 個（UDP）或 0–19 個（TCP）L4 位元組
        proto = self.r.choice([6, 17])
        room = self.r.randint(0, 7 if proto == 17 else 19)
        ip = IP(src=self.a.src_ip, dst=self.a.dst_ip, proto=proto) / self.payload(room, room)
        return bytes(self.eth() / ip)

    def bad_udp_len(self, _i):
        b = bytearray(bytes(self.udp4(0, 32)))
        b[38:40] = struct.pack("!H", self.r.choice([0, 7, len(b) - 34 + self.r.randint(1, 100)]))
        return bytes(b)

    def bad_tcp_doff(self, _i):
        b = bytearray(self.tcp4())
        b[46] = (self.r.choice([0, 4, 15]) << 4) | (b[46] & 0x0F)
        return bytes(b)

    def fragment(self, _i):
        # 非第一個分段（offset > 0）：沒有 L4 標頭；偶爾是只有 8 位元組的第一個分段（MF）
        if self.r.random() < 0.8:
            ip = IP(src=self.a.src_ip, dst=self.a.dst_ip, proto=17, frag=self.r.randint(1, 0x1FFF),
                    flags=self.r.choice([0, 1]))
            return bytes(self.eth() / ip / self.payload(0, 64))
        ip = IP(src=self.a.src_ip, dst=self.a.dst_ip, flags=1)
        return bytes(self.eth() / ip / UDP(sport=self.sport(), dport=self.a.dport, len=1000) / self.payload(0, 8))

    def vlan_stack(self, _i):
        depth = self.r.randint(1, 3)
        e = self.eth()
        for d in range(depth):
            e = e / (Dot1AD(vlan=self.r.randint(0, 4095)) if d == 0 and depth > 1 else Dot1Q(vlan=self.r.randint(0, 4095)))
        inner = IP(src=self.a.src_ip, dst=self.a.dst_ip) / UDP(sport=self.sport(), dport=self.a.dport) / self.payload(0, 64)
        b = bytes(e / inner)
        return b[:self.r.randint(14, len(b))] if self.r.random() < 0.3 else b

    def jumbo(self, _i):
        hi = max(self.a.max_len - 42, 1500)
        return bytes(self.udp4(1473, hi) if self.r.random() < 0.5 else self.udp6(1453, hi - 20))[:self.a.max_len]

    def frames(self):
        kinds = [self.truncated, self.random_ethertype, self.bad_ihl, self.bad_total_length, self.bad_ipv6_plen,
                 self.l4_cut, self.bad_udp_len, self.bad_tcp_doff, self.fragment, self.vlan_stack, self.jumbo]
        out = []
        for i in range(self.a.count):
            if i < 65:  # 前 65 個一定涵蓋 0..64 的每個截斷長度
                out.append(self.truncated(i))
            elif self.r.random() < 0.3:
                out.append(self.valid())
            else:
                out.append(self.r.choice(kinds)(i))
        return out


# ---------------------------------------------------------------- 送出
def send(iface, frames):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = refused = 0
    for fr in frames:
        try:
            s.send(fr)
            sent += 1
        except OSError:
            refused += 1
    s.close()
    return sent, refused


def parse_gen(argv):
    import argparse
    p = argparse.ArgumentParser(prog="hostile_frames.py gen")
    p.add_argument("out")
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--src-mac", default="02:00:00:00:00:02")
    p.add_argument("--dst-mac", default="02:00:00:00:00:01")
    p.add_argument("--src-ip", default="198.18.9.2")
    p.add_argument("--dst-ip", default="198.18.9.1")
    p.add_argument("--src-ip6", default="2001:2::2")  # 2001:2::/48 是 IPv6 的測試用位址（RFC 5180）
    p.add_argument("--dst-ip6", default="2001:2::1")
    p.add_argument("--dport", type=int, default=4242)
    p.add_argument("--max-len", type=int, default=9014)
    return p.parse_args(argv)


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        a = parse_gen(argv[1:])
        frames = Gen(a).frames()
        write_pcap(a.out, frames)
        print(summary(frames))
        return 0
    if len(argv) == 2 and argv[0] == "check":
        frames = read_pcap(argv[1])
        print(summary(frames))
        return 1 if count(frames)["malformed"] else 0
    if len(argv) == 3 and argv[0] == "send":
        sent, refused = send(argv[1], read_pcap(argv[2]))
        print(f"sent={sent} refused={refused}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
