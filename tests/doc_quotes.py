#!/usr/bin/env python3
"""tests/doc_quotes.py — 指南引用的程式碼不能和原始碼脫節。

原始碼用錨點註解標出一段（DPDK 範例文件的做法）：
    // 8< ring-setup
    ...程式碼...
    // >8 ring-setup
指南（Markdown）在要引用的地方寫一行標記，緊接著一個程式碼區塊：
    <!-- quote: io_uring_async.cpp#ring-setup -->
    ```cpp
    ...程式碼...
    ```
內文提到錨點時寫成「錨點 `名稱`」；check 也確認每個這樣提到的錨點都存在：在同一章（## 標題之下）
引用過的原始檔裡，那一章沒有引用時在任何一個原始檔裡。

用法：
  doc_quotes.py check GUIDE.md [ROOT]    每個引用都必須和原始碼的錨點區塊一字不差；錨點不存在也算錯
  doc_quotes.py update GUIDE.md [ROOT]   用原始碼重新填入每個引用（make docs）
  doc_quotes.py list [ROOT]              列出所有錨點
結束碼：0 正確、1 有不一致、2 用法錯誤。
"""
import os
import re
import sys

ANCHOR_OPEN = re.compile(r"^\s*//\s*8<\s*([A-Za-z0-9_.-]+)\s*$")
ANCHOR_CLOSE = re.compile(r"^\s*//\s*>8\s*([A-Za-z0-9_.-]+)\s*$")
QUOTE = re.compile(r"^<!--\s*quote:\s*([^#\s]+)#([A-Za-z0-9_.-]+)\s*-->\s*$")
PROSE_ANCHOR = re.compile(r"錨點\s*`([A-Za-z0-9_.-]+)`")
SOURCES = (".cpp", ".c", ".h", ".hpp")


def extract(path):
    """回傳 {錨點名稱: 程式碼文字}；錨點沒有關閉、重複或交錯時拋出 ValueError。"""
    blocks, open_at, lines = {}, {}, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines, start=1):
        m = ANCHOR_OPEN.match(line)
        if m:
            name = m.group(1)
            if name in open_at or name in blocks:
                raise ValueError(f"{path}:{no}：錨點 {name} 重複")
            open_at[name] = no
            continue
        m = ANCHOR_CLOSE.match(line)
        if m:
            name = m.group(1)
            if name not in open_at:
                raise ValueError(f"{path}:{no}：錨點 {name} 沒有開頭就結束")
            start = open_at.pop(name)
            body = [ln for ln in lines[start:no - 1] if not ANCHOR_OPEN.match(ln) and not ANCHOR_CLOSE.match(ln)]
            blocks[name] = dedent(body)
    if open_at:
        name, no = next(iter(open_at.items()))
        raise ValueError(f"{path}:{no}：錨點 {name} 沒有結束（缺少 // >8 {name}）")
    return blocks


def dedent(body):
    indents = [len(ln) - len(ln.lstrip(" ")) for ln in body if ln.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(ln[cut:] if ln.strip() else "" for ln in body).strip("\n")


def all_anchors(root):
    found = {}
    for name in sorted(os.listdir(root)):
        if name.endswith(SOURCES) and os.path.isfile(os.path.join(root, name)):
            found[name] = extract(os.path.join(root, name))
    return found


def process(guide, root, update):
    """檢查或更新指南；回傳 (新的指南文字, 錯誤清單, 引用數)。"""
    with open(guide, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cache, errors, out, count = {}, [], [], 0
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        m = QUOTE.match(line)
        if not m:
            i += 1
            continue
        count += 1
        src, name = m.group(1), m.group(2)
        where = f"{os.path.basename(guide)}:{i + 1}"
        # 標記後面必須緊接一個 ``` 程式碼區塊
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            errors.append(f"{where}：引用 {src}#{name} 後面沒有程式碼區塊")
            i += 1
            continue
        fence = lines[i + 1]
        end = i + 2
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end >= len(lines):
            errors.append(f"{where}：引用 {src}#{name} 的程式碼區塊沒有結束")
            break
        quoted = "\n".join(lines[i + 2:end])
        path = os.path.join(root, src)
        if src not in cache:
            try:
                cache[src] = extract(path) if os.path.isfile(path) else None
            except ValueError as e:
                errors.append(str(e))
                cache[src] = {}
        blocks = cache[src]
        if blocks is None:
            errors.append(f"{where}：引用的檔案 {src} 不存在")
            actual = quoted
        elif name not in blocks:
            errors.append(f"{where}：{src} 裡沒有錨點 {name}（// 8< {name} … // >8 {name}）")
            actual = quoted
        else:
            actual = blocks[name]
            if actual != quoted and not update:
                q, a = quoted.split("\n"), actual.split("\n")
                k = next((j for j in range(min(len(q), len(a))) if q[j] != a[j]), min(len(q), len(a)))
                errors.append(f"{where}：{src}#{name} 與原始碼不同（第 {k + 1} 行起；指南：{q[k] if k < len(q) else '（結束）'!r}；"
                              f"原始碼：{a[k] if k < len(a) else '（結束）'!r}）。執行 make docs 更新")
        out.append(fence)
        out.extend(actual.split("\n") if actual else [])
        out.append("```")
        i = end + 1
    return "\n".join(out), errors, count


def prose_anchor_errors(guide, root):
    """內文寫「錨點 `名稱`」的地方，名稱必須是那一章引用的原始檔裡的錨點。"""
    with open(guide, encoding="utf-8") as f:
        lines = f.read().split("\n")
    anchors = all_anchors(root)
    chapters, current, in_code = [], None, False
    for no, line in enumerate(lines, start=1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("## ") or current is None:
            current = {"files": set(), "mentions": []}
            chapters.append(current)
        m = QUOTE.match(line)
        if m:
            current["files"].add(m.group(1))
        current["mentions"] += [(no, name) for name in PROSE_ANCHOR.findall(line)]
    errors = []
    for ch in chapters:
        files = ch["files"] or set(anchors)
        for no, name in ch["mentions"]:
            if not any(name in anchors.get(f, {}) for f in files):
                errors.append(f"{os.path.basename(guide)}:{no}：內文提到的錨點 {name} 不在 {'、'.join(sorted(files))} 裡")
    return errors


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmd = argv[1]
    if cmd == "list":
        root = argv[2] if len(argv) > 2 else "."
        try:
            for src, blocks in all_anchors(root).items():
                for name in blocks:
                    print(f"{src}#{name}")
        except ValueError as e:
            print(f"錯誤：{e}", file=sys.stderr)
            return 1
        return 0
    if cmd not in ("check", "update") or len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    guide, root = argv[2], argv[3] if len(argv) > 3 else "."
    text, errors, count = process(guide, root, cmd == "update")
    try:
        errors += prose_anchor_errors(guide, root)
    except ValueError as e:
        errors.append(str(e))
    for e in errors:
        print(f"錯誤：{e}", file=sys.stderr)
    if errors:
        return 1
    if cmd == "update":
        with open(guide, encoding="utf-8") as f:
            old = f.read()
        if old != text:
            with open(guide, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"已從原始碼更新 {count} 段引用：{guide}")
        else:
            print(f"{count} 段引用都已是最新：{guide}")
    else:
        print(f"{count} 段引用都與原始碼一致")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
