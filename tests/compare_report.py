#!/usr/bin/env python3
"""tests/compare_report.py — 比較表的報表：中位數、區間、和傳統 socket 的比值、目標、圖。

用法：compare_report.py RESULTS_DIR
  讀 RESULTS_DIR/compare_raw.csv（round,stack,size,metric,value）與 compare_steps.csv
  （round,stack,size,rate,delivered_pps,loss_pct,p99_us），寫出：
    compare.csv   每個 技術 × 工作負載 × 指標 一行：中位數、最小、最大、回合數、
                  和 socket 那一列的比值（同一回合配對）的中位數與 95 % bootstrap 區間
    compare.png   64 B 時 RTT p99 對提供速率，每個技術一條線，對數座標
  並在標準輸出印出 README 用的表格與每個目標的判定（區間整個過關才算達成；跨過門檻算「在雜訊內」）。
"""
import csv
import os
import random
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

NAMES = {  # 表格與圖上的名字
    "socket": "傳統 socket（recvmmsg/sendmmsg）",
    "socket_busy_poll": "傳統 socket + SO_BUSY_POLL",
    "io_uring_udp": "io_uring（multishot recvmsg）",
    "io_uring_udp_sqpoll": "io_uring + SQPOLL",
    "af_xdp": "AF_XDP echo（copy 模式）",
    "af_xdp_busy_poll": "AF_XDP echo + busy-poll",
    "dpdk_af_xdp": "DPDK echo（net_af_xdp）",
    "dpdk_af_packet": "DPDK echo（net_af_packet）",
    "xdp_tx": "XDP_TX（核心內回音，上限）",
}
UNITS = {"rtt_p50_us": "µs", "rtt_p99_us": "µs", "rtt_p999_us": "µs", "max_rate_pps": "pps", "p99_at_max_us": "µs",
         "cpu_ns_per_pkt": "ns", "cpu_all_ns_per_pkt": "ns", "syscalls_per_pkt": "次", "cpu_ns_fixed_rate": "ns",
         "cpu_all_ns_fixed_rate": "ns"}
LOWER_IS_BETTER = {"rtt_p50_us", "rtt_p99_us", "rtt_p999_us", "p99_at_max_us", "cpu_ns_per_pkt", "cpu_all_ns_per_pkt",
                   "syscalls_per_pkt", "cpu_ns_fixed_rate", "cpu_all_ns_fixed_rate"}
# 目標：(說明, 技術, 大小, 指標, 對照技術, 運算子, 門檻)
GOALS = [
    ("AF_XDP echo（busy-poll）最高速率 ≥ 3 × socket", "af_xdp_busy_poll", "64", "max_rate_pps", "socket", ">=", 3.0),
    ("AF_XDP echo（busy-poll）一個在途的 RTT p50 ≤ 0.6 × socket", "af_xdp_busy_poll", "64", "rtt_p50_us", "socket", "<=", 0.6),
    ("io_uring UDP 在最高速率時的伺服器 CPU/封包 ≤ 0.8 × socket", "io_uring_udp", "64", "cpu_ns_per_pkt", "socket", "<=", 0.8),
    ("io_uring UDP 在同一速率（56,250 pps）時的伺服器 CPU/封包 ≤ 0.8 × socket", "io_uring_udp", "64", "cpu_ns_fixed_rate",
     "socket", "<=", 0.8),
    ("DPDK（net_af_xdp）最高速率 ≥ 0.9 × 原生 AF_XDP", "dpdk_af_xdp", "64", "max_rate_pps", "af_xdp", ">=", 0.9),
]


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x else None  # NaN → None


def bootstrap(ratios, reps=2000, seed=1):
    """中位數的 95 % bootstrap 區間（回合數少時就是接近最小到最大）。"""
    if len(ratios) == 1:
        return ratios[0], ratios[0]
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(reps))
    return meds[int(0.025 * reps)], meds[int(0.975 * reps) - 1]


def load(results):
    raw = defaultdict(dict)  # (stack, size, metric) -> {round: value}
    with open(os.path.join(results, "compare_raw.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            v = num(r["value"])
            if v is not None:
                raw[(r["stack"], r["size"], r["metric"])][r["round"]] = v
    steps = defaultdict(list)  # (stack, size, rate) -> [p99]
    path = os.path.join(results, "compare_steps.csv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for r in csv.DictReader(f):
                p99, loss = num(r["p99_us"]), num(r["loss_pct"])
                if p99 is not None and p99 > 0 and loss is not None and loss < 1.0:
                    steps[(r["stack"], r["size"], int(float(r["rate"])))].append(p99)
    return raw, steps


def ratio_stats(raw, stack, size, metric, peer):
    a, b = raw.get((stack, size, metric), {}), raw.get((peer, size, metric), {})
    ratios = [a[k] / b[k] for k in a if k in b and b[k] > 0]
    if not ratios:
        return None
    lo, hi = bootstrap(ratios)
    return statistics.median(ratios), lo, hi, len(ratios)


def verdict(r, op, goal):
    if r is None:
        return "沒有量到"
    med, lo, hi, _ = r
    ok = (lambda x: x >= goal) if op == ">=" else (lambda x: x <= goal)
    if ok(lo) and ok(hi):
        return "達成"
    if not ok(lo) and not ok(hi):
        return "未達成"
    return "在雜訊內"


def write_csv(raw, results):
    path = os.path.join(results, "compare.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["stack", "workload", "metric", "unit", "better", "median", "min", "max", "rounds",
                    "ratio_vs_socket", "ratio_lo", "ratio_hi"])
        for (stack, size, metric), vals in sorted(raw.items()):
            v = list(vals.values())
            r = ratio_stats(raw, stack, size, metric, "socket") if stack != "socket" else None
            ratio = [f"{x:.3f}" for x in r[:3]] if r else ["", "", ""]
            w.writerow([stack, f"udp_echo_{size}B", metric, UNITS.get(metric, ""),
                        "lower" if metric in LOWER_IS_BETTER else "higher",
                        f"{statistics.median(v):.3f}", f"{min(v):.3f}", f"{max(v):.3f}", len(v), *ratio])
    return path


def fmt(raw, stack, size, metric, digits=1):
    vals = list(raw.get((stack, size, metric), {}).values())
    if not vals:
        return "—"
    m = statistics.median(vals)
    if metric == "max_rate_pps":
        return f"{m / 1000:.0f} k"
    return f"{m:.{digits}f}"


def table(raw, stacks, size):
    lines = [f"| 技術（UDP echo {size} B） | RTT p50 (µs) | RTT p99 (µs) | 最高速率（遺失 < 1 %） | 伺服器核心 CPU (ns/封包) | "
             f"56,250 pps 時伺服器核心 CPU (ns/封包) | 系統呼叫/封包 |",
             "|---|---|---|---|---|---|---|"]
    for s in stacks:
        lines.append(f"| {NAMES.get(s, s)} | {fmt(raw, s, size, 'rtt_p50_us')} | {fmt(raw, s, size, 'rtt_p99_us')} | "
                     f"{fmt(raw, s, size, 'max_rate_pps')} | {fmt(raw, s, size, 'cpu_ns_per_pkt', 0)} | "
                     f"{fmt(raw, s, size, 'cpu_ns_fixed_rate', 0)} | {fmt(raw, s, size, 'syscalls_per_pkt', 2)} |")
    return "\n".join(lines)


def chart(steps, stacks, png):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        raise RuntimeError("找不到 gnuplot（Debian 套件 gnuplot-nox）")
    blocks, titles = [], []
    for s in stacks:
        pts = sorted((rate, statistics.median(v)) for (st, size, rate), v in steps.items() if st == s and size == "64")
        if pts:
            blocks.append("\n".join(f"{r} {p}" for r, p in pts) + "\ne")
            titles.append(NAMES.get(s, s))
    if not blocks:
        raise RuntimeError("沒有任何一階的資料可以畫")
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf", "#000000"]  # 每條線一個不重複的顏色（gnuplot 預設只有 8 種）
    plots = ", ".join(f"'-' using 1:2 with linespoints lw 2 pt 7 lc rgb '{palette[i % len(palette)]}' title '{t}'"
                      for i, t in enumerate(titles))
    script = f"""set terminal pngcairo size 1100,700 font 'WenQuanYi Micro Hei,11' noenhanced
set output '{png}'
set title 'UDP echo 64 B：RTT p99 對提供速率（同一台 2 核心機器、同一個客戶端；遺失 >= 1 % 的階不畫）'
set logscale xy
set grid
set xlabel '提供速率（封包/秒）'
set ylabel 'RTT p99（µs）'
set key outside right top
plot {plots}
""" + "\n".join(blocks) + "\n"
    proc = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if proc.returncode != 0:
        script = script.replace("set terminal pngcairo size", "set terminal png size").replace(
            " font 'WenQuanYi Micro Hei,11'", "")
        proc = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError("gnuplot 失敗：" + proc.stderr.strip())


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = argv[1]
    raw, steps = load(results)
    if not raw:
        print("錯誤：compare_raw.csv 沒有資料", file=sys.stderr)
        return 1
    order = list(NAMES)
    stacks = [s for s in order if any(k[0] == s for k in raw)]
    stacks += sorted({k[0] for k in raw} - set(stacks))
    path = write_csv(raw, results)
    chart(steps, stacks, os.path.join(results, "compare.png"))
    print(f"已寫出 {path} 與 compare.png")
    for size in ("64", "1472"):
        print()
        print(table(raw, stacks, size))
    print()
    print("目標（和對照列同一回合配對的比值：中位數 [95 % 區間]）：")
    for what, stack, size, metric, peer, op, goal in GOALS:
        r = ratio_stats(raw, stack, size, metric, peer)
        shown = f"{r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}]（{r[3]} 對）" if r else "—"
        print(f"  {what}：{shown} → {verdict(r, op, goal)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
