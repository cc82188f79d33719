#!/usr/bin/python3
"""tests/pcap_io.py — 純 Python 的 pcap 讀寫（不依賴 scapy），dpdk_frames.py 與 hostile_frames.py 共用。

讀得懂微秒與奈秒兩種格式（DPDK 的 net_pcap 寫奈秒格式）、兩種位元組序；寫出的是微秒格式、little-endian。
"""
import struct

PCAP_MAGICS = {
    0xA1B2C3D4: ("<", 1e-6), 0xD4C3B2A1: (">", 1e-6),  # 微秒
    0xA1B23C4D: ("<", 1e-9), 0x4D3CB2A1: (">", 1e-9),  # 奈秒（DPDK net_pcap 寫的格式）
}
def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"{path}：不是 pcap（只有 {len(data)} 位元組）")
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in PCAP_MAGICS:
        raise SystemExit(f"{path}：不認得的 pcap magic {magic:#x}")
    endian, _ = PCAP_MAGICS[magic]
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        if caplen != wirelen:
            raise SystemExit(f"{path}：第 {len(frames)} 個 frame 被截斷（caplen {caplen} < len {wirelen}）")
        off += caplen
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)))
            f.write(fr)
