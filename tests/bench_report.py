#!/usr/bin/env python3
"""tests/bench_report.py — 把 results/bench.csv 變成終端機表格、results/bench.png 與 results/machine.txt。

用法：bench_report.py CSV [--png PNG] [--machine TXT] [--check]
  --check   只檢查 CSV：欄位齊全、數字可解析、ratio = ours / peer（四捨五入到 3 位）
CSV 欄位：technology, workload, metric, unit, better, ours, peer, peer_name, ratio, rounds, spread, ratio_lo, ratio_hi
ratio 一律是 ours / peer（中位數之比）；ratio_lo / ratio_hi 是回合交錯、同回合配對的比值的 95 % bootstrap 區間
（沒有配對資料的列留空）；圖上畫的是「優勢」：越大越好的指標用 ours/peer，越小越好的用 peer/ours，
所以圖上每根長條超過 1 都代表我們的程式比對照組好。
"""
import csv
import datetime
import os
import platform
import shutil
import subprocess
import sys

COLUMNS = ["technology", "workload", "metric", "unit", "better", "ours", "peer", "peer_name", "ratio", "rounds", "spread",
           "ratio_lo", "ratio_hi"]


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"CSV 缺少欄位：{', '.join(missing)}")
        return list(reader)


def check(rows):
    """回傳錯誤訊息的清單；空清單表示 CSV 正確。"""
    errors = []
    for i, r in enumerate(rows, start=2):
        try:
            ours, peer = float(r["ours"]), float(r["peer"])
        except ValueError:
            errors.append(f"第 {i} 行：ours/peer 不是數字（{r['ours']}, {r['peer']}）")
            continue
        if r["better"] not in ("higher", "lower"):
            errors.append(f"第 {i} 行：better 必須是 higher 或 lower，實得 {r['better']}")
        if peer == 0:
            if r["ratio"] != "nan":
                errors.append(f"第 {i} 行：peer 為 0 時 ratio 應為 nan，實得 {r['ratio']}")
            continue
        want = round(ours / peer, 3)
        try:
            got = float(r["ratio"])
        except ValueError:
            errors.append(f"第 {i} 行：ratio 不是數字（{r['ratio']}）")
            continue
        if abs(got - want) > 0.0015:
            errors.append(f"第 {i} 行：ratio 應為 {want:.3f}（{ours}/{peer}），實得 {got}")
        if not r["rounds"].isdigit():
            errors.append(f"第 {i} 行：rounds 應為整數，實得 {r['rounds']}")
        lo, hi = r.get("ratio_lo") or "", r.get("ratio_hi") or ""
        if bool(lo) != bool(hi):
            errors.append(f"第 {i} 行：ratio_lo 與 ratio_hi 要同時有或同時空（{lo!r}, {hi!r}）")
        elif lo:
            try:
                if not float(lo) <= float(hi):
                    errors.append(f"第 {i} 行：區間下限 {lo} 大於上限 {hi}")
            except ValueError:
                errors.append(f"第 {i} 行：區間不是數字（{lo}, {hi}）")
    return errors


def advantage(r):
    ours, peer = float(r["ours"]), float(r["peer"])
    if ours == 0 or peer == 0:
        return 0.0
    return ours / peer if r["better"] == "higher" else peer / ours


def table(rows):
    lines = [f"{'技術':<10} {'工作負載':<30} {'指標':<14} {'我們':>12} {'對照':>12} {'對照組':<16} {'比值':>7} {'95% 區間':<16} {'優勢':>6}"]
    for r in rows:
        ci = f"[{r['ratio_lo']}, {r['ratio_hi']}]" if r.get("ratio_lo") else "—"
        lines.append(f"{r['technology']:<10} {r['workload']:<30} {r['metric']:<14} {r['ours']:>12} {r['peer']:>12} "
                     f"{r['peer_name']:<16} {r['ratio']:>7} {ci:<16} {advantage(r):>6.2f}")
    return "\n".join(lines)


def chart(rows, png):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        raise RuntimeError("找不到 gnuplot（Debian 套件 gnuplot-nox）")
    data = png + ".dat"
    # 只畫吞吐量與延遲（CPU 使用率留在表格裡）
    plotted = [r for r in rows if not r["metric"].endswith("cpu")]
    with open(data, "w", encoding="utf-8") as f:
        for r in plotted:
            label = f"{r['technology']} {r['workload']} {r['metric']} vs {r['peer_name']}".replace('"', "'")
            f.write(f"\"{label}\" {advantage(r):.4f}\n")
    height = max(400, 28 * len(plotted) + 160)
    script = f"""
set terminal pngcairo size 1100,{height} font 'WenQuanYi Micro Hei,10' noenhanced
set output '{png}'
set title '每項技術對上它取代的傳統做法（同一次執行；> 1 表示較好）'
set style fill solid 0.8 border -1
set boxwidth 0.6 relative
set yrange [-0.7:{len(plotted) - 0.3}]
set xrange [0:*]
set grid xtics
set xlabel '優勢（越大越好的指標：我們/對照；越小越好的指標：對照/我們）'
set ytics nomirror
set arrow from 1,graph 0 to 1,graph 1 nohead dt 2 lc rgb '#cc0000'
unset key
plot '{data}' using ($2*0.5):0:($2*0.5):(0.3):yticlabels(1) with boxxyerror lc rgb '#3b7dd8', \\
     '' using 2:0:(sprintf('%.2f', $2)) with labels left offset 0.5,0
"""
    # pngcairo 不在時退回 png 終端機
    proc = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if proc.returncode != 0 or not os.path.exists(png) or os.path.getsize(png) == 0:
        script = script.replace("set terminal pngcairo size", "set terminal png size").replace(" font 'WenQuanYi Micro Hei,10'", "")
        proc = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    os.remove(data)
    if proc.returncode != 0:
        raise RuntimeError("gnuplot 失敗：" + proc.stderr.strip())


def machine(path):
    def cmd(args):
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    pkgs = cmd(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", "liburing-dev", "libxdp-dev", "libbpf-dev",
                "libdpdk-dev", "libibverbs-dev", "librdmacm-dev", "perftest", "qemu-system-x86", "g++"])
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"日期：{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}\n")
        f.write(f"CPU：{cpu}\n核心數：{os.cpu_count()}\n")
        f.write(f"核心版本：{platform.release()}\n")
        f.write(f"作業系統：{cmd(['sh', '-c', '. /etc/os-release && echo $PRETTY_NAME'])}\n")
        f.write("套件版本：\n")
        for line in pkgs.splitlines():
            f.write(f"  {line}\n")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    path, png, mtxt, only_check = argv[1], None, None, False
    i = 2
    while i < len(argv):
        if argv[i] == "--png":
            png, i = argv[i + 1], i + 2
        elif argv[i] == "--machine":
            mtxt, i = argv[i + 1], i + 2
        elif argv[i] == "--check":
            only_check, i = True, i + 1
        else:
            print(f"未知的參數：{argv[i]}", file=sys.stderr)
            return 2
    try:
        rows = load(path)
    except (OSError, ValueError) as e:
        print(f"錯誤：{e}", file=sys.stderr)
        return 1
    errors = check(rows)
    for e in errors:
        print(f"錯誤：{e}", file=sys.stderr)
    if errors:
        return 1
    if only_check:
        print(f"CSV 正確：{len(rows)} 行")
        return 0
    print(table(rows))
    if png:
        try:
            chart(rows, png)
        except RuntimeError as e:
            print(f"錯誤：{e}", file=sys.stderr)
            return 1
        print(f"圖表：{png}")
    if mtxt:
        machine(mtxt)
        print(f"機器資訊：{mtxt}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
