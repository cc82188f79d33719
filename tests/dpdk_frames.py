#!/usr/bin/python3
"""tests/dpdk_frames.py — dpdk 測試群組的封包工具（scapy，python3-scapy）。

預期結果在這裡由「建構方式」決定，與 C++ 程式的檢查邏輯無關：每個 frame 建立時就標好
它是合法還是 malformed、屬於哪些分類；預期輸出 = 合法的 frame，依模式（io/classify 原樣、
macswap 對調 MAC、drop 沒有輸出）。

子命令：
  gen DIR [--seed N]            寫 DIR/in.pcap、DIR/expected_{io,macswap,drop,classify}.pcap、DIR/expected.txt
                                （key=value：frames、valid、malformed、cls_*）
  gen-pair DIR                  兩個 port 的輸入：DIR/in0.pcap、DIR/in1.pcap，以及 port 互換後的預期輸出
                                DIR/expected_out1.pcap（= in0 經 macswap）、DIR/expected_out0.pcap（= in1 經 macswap）
  gen-echo DIR [--port P]       echo 模式：DIR/echo_in.pcap、DIR/echo_expected.pcap（回覆：MAC、IP、UDP 埠對調，其餘位元組不變，
                                檢查和仍然正確）、DIR/echo_expected.txt（frames、answered、malformed、not_echo、refused）
  compare EXPECTED GOT          逐個 frame 逐位元組比較兩個 pcap（順序也要相同）；不同時印出第一個差異，結束碼 1
  count PCAP                    印出 frame 數
  send IFACE SRC_MAC DST_MAC N OUT.pcap
                                在 IFACE 上送出 N 個 UDP frame（198.18.3.2 → 198.18.3.1），並把送出的 frame 寫到 OUT.pcap
  check-swapped SENT.pcap RECV.pcap
                                RECV（測試主機上 tcpdump 擷取的）必須正好是 SENT 每個 frame 對調 MAC 後的位元組；
                                印出 sent= matched= extra= recv= in_order=
  telemetry SOCKET CMD [--until KEY=VALUE] [--timeout S]
                                DPDK telemetry 的最小用戶端（與 dpdk-telemetry.py 相同的協定：SOCK_SEQPACKET 連到
                                /var/run/dpdk/<prefix>/dpdk_telemetry.v2，先收一個 JSON 的歡迎訊息，送出指令、收回
                                {"指令": 值}）。值是 dict 時每個 key 印一行 key=value，否則印 JSON。--until：每 0.1 秒重問，
                                直到 KEY 的值等於 VALUE（逾時結束碼 1，仍印出最後一次的值）
"""
import sys

from pcap_io import read_pcap, write_pcap  # 同一個目錄


def macswap(fr):
    return fr[6:12] + fr[0:6] + fr[12:]


# ---------------------------------------------------------------- 測試 frame
def build_frames():
    """回傳 [(bytes, malformed: bool, classes: set)]，順序即 pcap 裡的順序。"""
    from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, ICMPv6EchoRequest, IPv6,
                           IPv6ExtHdrFragment, IPOption_Router_Alert, Raw)

    a, b = "02:00:00:00:03:01", "02:00:00:00:03:02"
    e = Ether(src=a, dst=b)
    v4 = dict(src="198.18.3.1", dst="198.18.3.2")
    v6 = dict(src="2001:db8:3::1", dst="2001:db8:3::2")
    out = []

    def ok(pkt, classes):
        out.append((bytes(pkt), False, set(classes)))

    def bad(raw):
        out.append((bytes(raw), True, set()))

    # 合法：各種 L3/L4、VLAN、奇數長度、padding
    ok(e / IP(**v4) / UDP(sport=1000, dport=2000) / Raw(b"udp-payload"), {"ipv4", "udp"})
    ok(e / IP(**v4) / TCP(sport=1000, dport=80, flags="S"), {"ipv4", "tcp"})
    ok(e / IP(**v4) / ICMP() / Raw(b"ping"), {"ipv4", "icmp"})
    ok(e / IPv6(**v6) / UDP(sport=53, dport=5353) / Raw(b"x" * 7), {"ipv6", "udp"})
    ok(e / IPv6(**v6) / TCP(sport=1, dport=443, flags="PA") / Raw(b"hello"), {"ipv6", "tcp"})
    ok(e / IPv6(**v6) / ICMPv6EchoRequest(data=b"ping6"), {"ipv6", "icmp"})
    ok(e / Dot1Q(vlan=3) / IP(**v4) / UDP() / Raw(b"vlan"), {"vlan", "ipv4", "udp"})
    ok(e / Dot1AD(vlan=10) / Dot1Q(vlan=3) / IP(**v4) / TCP(), {"vlan", "ipv4", "tcp"})
    ok(e / Dot1Q(vlan=4) / IPv6(**v6) / ICMPv6EchoRequest(), {"vlan", "ipv6", "icmp"})
    ok(Ether(src=a, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.18.3.1", pdst="198.18.3.2"), {"arp"})
    ok(Ether(src=a, dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"\x02\x07lldp-ish"), {"other"})
    ok(e / IP(**v4, options=[IPOption_Router_Alert()]) / UDP() / Raw(b"opts"), {"ipv4", "udp"})   # IHL 6
    ok(e / IP(**v4, proto=47) / Raw(b"\x00\x00\x08\x00gre"), {"ipv4", "l4_other"})
    ok(e / IP(**v4) / UDP() / Raw(b"z"), {"ipv4", "udp"})                                   # 43 B，沒補齊
    ok(e / IP(**v4) / UDP() / Raw(bytes(range(256)) * 5 + bytes(1472 - 1280)), {"ipv4", "udp"})  # 1514 B
    ok(e / IP(**v4) / TCP() / Raw(b"q" * 7), {"ipv4", "tcp"})                               # 61 B
    ok(e / IP(**v4) / UDP() / Raw(b"r" * 55), {"ipv4", "udp"})                              # 97 B
    ok(bytes(e / IP(**v4) / UDP() / Raw(b"pad")) + b"\x00" * 17, {"ipv4", "udp"})           # frame 比 IP 長（padding）
    ok(Ether(src=a, dst=b, type=0x88B5), {"other"})                                         # 剛好 14 B
    ok(bytes(e / Dot1Q(vlan=7, type=0x88B5)), {"vlan", "other"})                            # 剛好 18 B
    ok(e / IPv6(**v6, nh=59, plen=0), {"ipv6", "l4_other"})                                 # 只有 40 B 表頭
    ok(e / IP(**v4, ihl=5, len=20, proto=47), {"ipv4", "l4_other"})                         # total = IHL×4，沒有 L4（GRE 不檢查）
    # 分段（cls_frag）：非第一個分段沒有 L4 表頭，不算 TCP/UDP，也不檢查 L4
    ok(e / IP(**v4, proto=17, frag=100) / Raw(b"abc"), {"ipv4", "frag"})                    # 非第一個分段，只有 3 B
    ok(e / IP(**v4, proto=6, flags="MF", frag=1), {"ipv4", "frag"})                         # 非第一個分段，沒有 payload
    ok(e / IP(**v4, flags="MF") / UDP(len=1000) / Raw(b"first"), {"ipv4", "udp"})           # 第一個分段：UDP 長度指整個資料報
    ok(e / IPv6(**v6) / IPv6ExtHdrFragment(offset=10, nh=17) / Raw(b"abc"), {"ipv6", "frag"})
    ok(e / IPv6(**v6) / IPv6ExtHdrFragment(offset=0, m=1) / UDP(len=900) / Raw(b"f6"), {"ipv6", "udp"})
    ok(e / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / IP(**v4) / UDP() / Raw(b"3tags"), {"vlan", "ipv4", "udp"})

    # malformed：每一種宣稱的表頭放不進 frame 的情況
    full4 = bytes(e / IP(**v4) / UDP() / Raw(b"payload"))
    full6 = bytes(e / IPv6(**v6) / UDP() / Raw(b"payload"))
    bad(full4[:10])                                                   # 短於 Ethernet 表頭
    bad(full4[:13])                                                   # 差 1 B
    bad(bytes(e / Dot1Q(vlan=3))[:16])                                # VLAN 標籤不完整（< 18 B）
    bad(bytes(e / Dot1AD(vlan=10) / Dot1Q(vlan=3))[:20])              # 第二層標籤不完整
    bad(full4[:14])                                                   # 說是 IPv4，卻沒有 IP 表頭
    bad(full4[:14 + 12])                                              # IPv4 表頭被截斷
    bad(bytes(e / IP(**v4, ihl=4) / UDP()))                           # IHL < 5
    bad(bytes(e / IP(**v4, ihl=15) / UDP()))                          # IHL×4 = 60 B 但 frame 放不下
    bad(bytes(e / IP(**v4, len=1000) / UDP() / Raw(b"short")))        # total length 超出 frame
    bad(bytes(e / IP(**v4, len=10) / UDP()))                          # total length < IHL×4
    bad(bytes(e / Dot1Q(vlan=3) / IP(**v4, len=300) / UDP()))         # VLAN + total length 超出
    bad(full6[:14 + 30])                                              # IPv6 表頭被截斷
    bad(bytes(e / IPv6(**v6, plen=500) / UDP() / Raw(b"short")))      # IPv6 payload length 超出 frame
    bad(full4[:16] + b"\xff\xff" + full4[18:])                          # total length 65535
    # L4 表頭放不進 IP 宣稱的長度（issue 11 第 11 項：以前算成 TCP/UDP 照樣轉送）
    bad(bytes(e / IP(**v4, ihl=5, len=20, proto=17)))                 # 說是 UDP，total = IHL×4，沒有 L4
    bad(bytes(e / IP(**v4, proto=17) / Raw(b"1234")))                 # UDP 只剩 4 B
    bad(bytes(e / IP(**v4, proto=6) / Raw(b"x" * 19)))                # TCP 只剩 19 B
    bad(bytes(e / IP(**v4, proto=6) / Raw(b"x" * 19)) + bytes(30))    # 同上，後面的 padding 不算 L4
    bad(bytes(e / IPv6(**v6, nh=17) / Raw(b"1234567")))               # IPv6 UDP 只剩 7 B
    bad(bytes(e / IPv6(**v6, nh=6) / Raw(b"x" * 12)))                 # IPv6 TCP 只剩 12 B
    bad(bytes(e / IP(**v4) / UDP(len=7) / Raw(b"u")))                 # UDP 長度 < 8
    bad(bytes(e / IP(**v4) / UDP(len=200) / Raw(b"u")))               # UDP 長度超出 IP 的資料
    bad(bytes(e / IP(**v4) / TCP(dataofs=4)))                         # TCP data offset < 5
    bad(bytes(e / IP(**v4) / TCP(dataofs=15) / Raw(b"x" * 8)))        # TCP 選項放不下
    bad(bytes(e / IP(**v4, version=6) / UDP()))                       # EtherType IPv4，version 6
    bad(bytes(e / IPv6(**v6, version=4) / UDP()))                     # EtherType IPv6，version 4
    bad(bytes(e / Dot1Q(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / Dot1Q(vlan=4) / Dot1Q(vlan=5)
              / IP(**v4) / UDP()))                                     # VLAN 堆疊超過 4 層：裡面的 IP 沒檢查就不轉送
    return out


def expected_counts(frames):
    keys = ["ipv4", "ipv6", "arp", "vlan", "tcp", "udp", "icmp", "other", "l4_other", "frag"]
    c = {k: 0 for k in keys}
    for _, is_bad, classes in frames:
        for k in classes:
            c[k] += 1
    valid = sum(1 for _, is_bad, _ in frames if not is_bad)
    lines = [f"frames={len(frames)}", f"valid={valid}", f"malformed={len(frames) - valid}"]
    lines += [f"cls_{k}={c[k]}" for k in keys]
    return "\n".join(lines) + "\n"


def cmd_gen(outdir):
    frames = build_frames()
    valid = [fr for fr, is_bad, _ in frames if not is_bad]
    write_pcap(f"{outdir}/in.pcap", [fr for fr, _, _ in frames])
    write_pcap(f"{outdir}/expected_io.pcap", valid)
    write_pcap(f"{outdir}/expected_classify.pcap", valid)
    write_pcap(f"{outdir}/expected_macswap.pcap", [macswap(fr) for fr in valid])
    write_pcap(f"{outdir}/expected_drop.pcap", [])
    with open(f"{outdir}/expected.txt", "w") as f:
        f.write(expected_counts(frames))
    print(expected_counts(frames), end="")


def cmd_gen_pair(outdir):
    from scapy.all import IP, UDP, Ether, Raw
    ins = []
    for port in (0, 1):
        frames = []
        for i in range(40):
            pkt = (Ether(src=f"02:00:00:00:3{port}:01", dst=f"02:00:00:00:3{1 - port}:02")
                   / IP(src=f"198.18.3.{10 + port}", dst=f"198.18.3.{11 - port}")
                   / UDP(sport=4000 + port, dport=5000 + i) / Raw(f"port{port}-seq{i:03d}".encode() + b"." * (i % 9)))
            frames.append(bytes(pkt))
        frames.insert(7, frames[0][:12])   # 一個 malformed：不會被轉送
        ins.append(frames)
        write_pcap(f"{outdir}/in{port}.pcap", frames)
    # port 0 收到的從 port 1 送出，反之亦然（macswap）
    write_pcap(f"{outdir}/expected_out1.pcap", [macswap(fr) for fr in ins[0] if len(fr) >= 14])
    write_pcap(f"{outdir}/expected_out0.pcap", [macswap(fr) for fr in ins[1] if len(fr) >= 14])
    print("malformed=2")


def echo_reply(fr):
    """echo 模式的預期回覆：MAC、IP 位址、UDP 埠對調（沒有 VLAN 標籤），其餘位元組不變。"""
    ip = 14
    if fr[12:14] == b"\x08\x00":
        l4 = ip + (fr[ip] & 0x0F) * 4
        out = fr[6:12] + fr[0:6] + fr[12:ip + 12] + fr[ip + 16:ip + 20] + fr[ip + 12:ip + 16] + fr[ip + 20:l4]
    else:
        l4 = ip + 40
        out = fr[6:12] + fr[0:6] + fr[12:ip + 8] + fr[ip + 24:ip + 40] + fr[ip + 8:ip + 24]
    return out + fr[l4 + 2:l4 + 4] + fr[l4:l4 + 2] + fr[l4 + 4:]


def build_echo_frames(port):
    """回傳 [(bytes, 去向)]；去向是 answer、not_echo、refused、malformed 之一（由建構方式決定）。"""
    from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, IPv6ExtHdrFragment, IPOption_Router_Alert, Raw
    cli, srv = "02:00:00:00:03:02", "02:00:00:00:03:01"
    e = Ether(src=cli, dst=srv)
    v4 = dict(src="198.18.3.2", dst="198.18.3.1")
    v6 = dict(src="2001:db8:3::2", dst="2001:db8:3::1")
    out = []

    def add(pkt, fate):
        out.append((bytes(pkt), fate))

    # 回應：IPv4/IPv6 UDP 到 echo 埠，來源埠 ≥ 1024 且不是 echo 埠
    add(e / IP(**v4) / UDP(sport=40000, dport=port) / Raw(b"hello echo"), "answer")
    add(e / IP(**v4, ttl=3, id=777) / UDP(sport=1024, dport=port) / Raw(bytes(range(256)) * 5 + bytes(192)), "answer")  # 1472 B payload
    add(e / IP(**v4, options=[IPOption_Router_Alert()]) / UDP(sport=55555, dport=port) / Raw(b"opts"), "answer")  # IHL 6
    add(bytes(e / IP(**v4) / UDP(sport=40001, dport=port) / Raw(b"pad")) + bytes(17), "answer")  # 補到 60 B 的 padding 原樣送回
    add(e / IP(**v4) / UDP(sport=40002, dport=port, chksum=0) / Raw(b"no-checksum"), "answer")  # UDP 檢查和 0 = 沒有
    add(e / IP(**v4) / UDP(sport=65535, dport=port), "answer")  # 沒有 payload
    add(e / IPv6(**v6) / UDP(sport=40000, dport=port) / Raw(b"hello v6"), "answer")
    add(e / IPv6(**v6, hlim=1) / UDP(sport=50000, dport=port) / Raw(b"y" * 1000), "answer")
    # 不回應（not_echo）：別的埠、別的協定、VLAN、分段、廣播與群播
    add(e / IP(**v4) / UDP(sport=40000, dport=port + 1) / Raw(b"other port"), "not_echo")
    add(e / IP(**v4) / TCP(sport=40000, dport=port, flags="S"), "not_echo")
    add(e / IP(**v4) / ICMP() / Raw(b"ping"), "not_echo")
    add(Ether(src=cli, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.18.3.2", pdst="198.18.3.1"), "not_echo")
    add(e / Dot1Q(vlan=3) / IP(**v4) / UDP(sport=40000, dport=port) / Raw(b"vlan"), "not_echo")
    add(e / IP(**v4, flags="MF") / UDP(sport=40000, dport=port, len=1000) / Raw(b"first fragment"), "not_echo")
    add(e / IP(**v4, proto=17, frag=100) / Raw(b"later fragment"), "not_echo")
    add(e / IPv6(**v6) / IPv6ExtHdrFragment(offset=0, m=1) / UDP(sport=40000, dport=port, len=900) / Raw(b"f6"), "not_echo")
    add(Ether(src=cli, dst="ff:ff:ff:ff:ff:ff") / IP(src="198.18.3.2", dst="198.18.3.255") / UDP(sport=40000, dport=port), "not_echo")
    add(Ether(src=cli, dst="01:00:5e:00:00:fb") / IP(src="198.18.3.2", dst="224.0.0.251") / UDP(sport=40000, dport=port), "not_echo")
    add(e / IP(src="198.18.3.2", dst="239.1.2.3") / UDP(sport=40000, dport=port), "not_echo")  # 單播 MAC、群播 IP
    add(e / IPv6(src="2001:db8:3::2", dst="ff02::1") / UDP(sport=40000, dport=port), "not_echo")
    add(e / IPv6(**v6) / TCP(sport=40000, dport=port), "not_echo")
    # 迴圈保護（refused）：來源埠是 echo 埠，或小於 1024
    add(e / IP(**v4) / UDP(sport=port, dport=port) / Raw(b"echo to echo"), "refused")
    add(e / IP(**v4) / UDP(sport=53, dport=port) / Raw(b"dns reflection"), "refused")
    add(e / IP(**v4) / UDP(sport=0, dport=port), "refused")
    add(e / IP(**v4) / UDP(sport=1023, dport=port), "refused")
    add(e / IPv6(**v6) / UDP(sport=port, dport=port) / Raw(b"v6 loop"), "refused")
    # malformed：宣稱 UDP 卻放不下（不回應，計 malformed）
    full = bytes(e / IP(**v4) / UDP(sport=40000, dport=port) / Raw(b"payload"))
    add(full[:14 + 20 + 4], "malformed")                                                       # UDP 表頭被截斷
    add(e / IP(**v4) / UDP(sport=40000, dport=port, len=200) / Raw(b"u"), "malformed")         # UDP length 超出
    add(e / IP(**v4, len=1000) / UDP(sport=40000, dport=port) / Raw(b"short"), "malformed")    # total length 超出 frame
    add(full[:10], "malformed")
    # 最後再一個正常的：前面的東西沒有卡住後面
    add(e / IP(**v4) / UDP(sport=40003, dport=port) / Raw(b"last one"), "answer")
    return out


def checksums_ok(fr):
    """回覆的 IPv4 表頭檢查和與 UDP 檢查和都必須正確（scapy 重新計算後相同）。"""
    from scapy.all import IP, UDP, Ether, IPv6
    pkt = Ether(fr)
    l3 = pkt[IP] if IP in pkt else pkt[IPv6]
    udp = pkt[UDP]
    if IP in pkt:
        again = IP(bytes(l3))
        del again.chksum
        if IP(bytes(again)).chksum != l3.chksum:
            return False
    if udp.chksum == 0:
        return True
    again = l3.copy()
    del again[UDP].chksum
    return again.__class__(bytes(again))[UDP].chksum == udp.chksum


def cmd_gen_echo(outdir, port):
    frames = build_echo_frames(port)
    replies = [echo_reply(fr) for fr, fate in frames if fate == "answer"]
    bad = [i for i, r in enumerate(replies) if not checksums_ok(r)]
    if bad:
        raise SystemExit(f"產生器的錯誤：預期回覆 {bad} 的檢查和不對")
    write_pcap(f"{outdir}/echo_in.pcap", [fr for fr, _ in frames])
    write_pcap(f"{outdir}/echo_expected.pcap", replies)
    counts = {k: sum(1 for _, f in frames if f == k) for k in ("answer", "not_echo", "refused", "malformed")}
    text = (f"frames={len(frames)}\nanswered={counts['answer']}\nnot_echo={counts['not_echo']}\n"
            f"refused={counts['refused']}\nmalformed={counts['malformed']}\n")
    with open(f"{outdir}/echo_expected.txt", "w") as f:
        f.write(text)
    print(text, end="")


def cmd_compare(expected_path, got_path):
    exp, got = read_pcap(expected_path), read_pcap(got_path)
    for i, (x, y) in enumerate(zip(exp, got)):
        if x != y:
            diff = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]), min(len(x), len(y)))
            print(f"第 {i + 1} 個 frame 不同：預期 {len(x)} B、實得 {len(y)} B，第一個不同的位元組在 offset {diff}")
            print(f"  預期 {x[max(0, diff - 8):diff + 16].hex(' ')}")
            print(f"  實得 {y[max(0, diff - 8):diff + 16].hex(' ')}")
            return 1
    if len(exp) != len(got):
        print(f"frame 數不同：預期 {len(exp)}，實得 {len(got)}（前 {min(len(exp), len(got))} 個相同）")
        return 1
    print(f"相同：{len(exp)} 個 frame 逐位元組一致")
    return 0


def peer_frames(src_mac, dst_mac, count):
    from scapy.all import IP, UDP, Ether, Raw
    return [bytes(Ether(src=src_mac, dst=dst_mac) / IP(src="198.18.3.2", dst="198.18.3.1", ttl=64)
                  / UDP(sport=40000, dport=9000 + (i % 16)) / Raw(f"kbdpdk-{i:05d}-".encode() + b"#" * (i % 23)))
            for i in range(count)]


def cmd_send(iface, src_mac, dst_mac, count, out):
    """在測試主機（netns）的 IFACE 上送出 COUNT 個 UDP frame（198.18.3.2 → 198.18.3.1），並寫到 OUT（pcap）。"""
    from scapy.all import conf
    conf.verb = 0
    sent = peer_frames(src_mac, dst_mac, count)
    sock = conf.L2socket(iface=iface)
    for fr in sent:
        sock.send(fr)
    sock.close()
    write_pcap(out, sent)
    print(f"sent={len(sent)}")
    return 0


def cmd_check_swapped(sent_path, recv_path):
    """收到的 frame（tcpdump 擷取）必須正好是送出的 frame 各自對調 MAC 後的位元組，一個不少、沒有多的。"""
    sent, recv = read_pcap(sent_path), read_pcap(recv_path)
    want = [macswap(fr) for fr in sent]
    wset = set(want)
    matched = len(wset & set(recv))
    extra = len([r for r in recv if r not in wset])
    in_order = recv == want
    print(f"sent={len(sent)} matched={matched} extra={extra} recv={len(recv)} in_order={int(in_order)}")
    return 0 if matched == len(sent) and extra == 0 and len(recv) == len(sent) else 1


def telemetry_query(path, cmd):
    import json
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.settimeout(5)
        sock.connect(path)
        json.loads(sock.recv(16384).decode())  # 歡迎訊息：version、pid、max_output_len
        sock.send(cmd.encode())
        return json.loads(sock.recv(1 << 16).decode()).get(cmd.split(",")[0])


def cmd_telemetry(path, cmd, args):
    import json
    import time
    until = args[args.index("--until") + 1].split("=", 1) if "--until" in args else None
    deadline = time.monotonic() + (float(args[args.index("--timeout") + 1]) if "--timeout" in args else 10)
    while True:
        value = telemetry_query(path, cmd)
        done = until is None or (isinstance(value, dict) and str(value.get(until[0])) == until[1])
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if isinstance(value, dict):
        for k, v in value.items():
            print(f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}")
    else:
        print(json.dumps(value))
    return 0 if done else 1


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "gen":
        cmd_gen(args[0])
        return 0
    if cmd == "gen-pair":
        cmd_gen_pair(args[0])
        return 0
    if cmd == "gen-echo":
        port = int(args[args.index("--port") + 1]) if "--port" in args else 19000
        cmd_gen_echo(args[0], port)
        return 0
    if cmd == "compare":
        return cmd_compare(args[0], args[1])
    if cmd == "count":
        print(len(read_pcap(args[0])))
        return 0
    if cmd == "send":
        return cmd_send(args[0], args[1], args[2], int(args[3]), args[4])
    if cmd == "check-swapped":
        return cmd_check_swapped(args[0], args[1])
    if cmd == "telemetry":
        return cmd_telemetry(args[0], args[1], args[2:])
    print(f"未知的子命令：{cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
