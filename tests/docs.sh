# shellcheck shell=bash
# tests/docs.sh — 指南引用的程式碼與原始碼一致（tests/doc_quotes.py；make docs 更新引用）。

GUIDE=$ROOT/docs/kernel-bypass-guide.md
QUOTES=$ROOT/tests/doc_quotes.py

docs_t_anchors() {
    local out rc=0
    out=$(python3 "$QUOTES" list "$ROOT" 2>&1) || rc=$?
    if [ "$rc" == 0 ] && [ -n "$out" ]; then
        pass docs.anchors "原始碼裡 $(wc -l <<<"$out") 個錨點（// 8< … // >8）都成對、不重複"
    else
        fail docs.anchors "錨點格式" "成對且不重複" "$out"
    fi
}

docs_t_quotes() {
    [ -f "$GUIDE" ] || { fail docs.quotes "指南 docs/kernel-bypass-guide.md 不存在" "存在" "不存在"; return 0; }
    local out rc=0
    out=$(python3 "$QUOTES" check "$GUIDE" "$ROOT" 2>&1) || rc=$?
    if [ "$rc" == 0 ]; then
        pass docs.quotes "指南的每段程式碼引用都與原始碼的錨點區塊一字不差（$out）"
    else
        fail docs.quotes "指南與原始碼脫節（執行 make docs 更新）" "一致" "$out"
    fi
}

# 檢查器必須抓得到：引用被改過、錨點不存在、錨點沒有結束
docs_t_detects_drift() {
    local d=$WORK/docs-drift bad=""
    mkdir -p "$d"
    cat >"$d/demo.cpp" <<'CPP'
int main() {
    // 8< step
    int x = 1;
    return x;
    // >8 step
}
CPP
    printf '%s\n' '# 測試' '<!-- quote: demo.cpp#step -->' '```cpp' 'int x = 1;' 'return x;' '```' >"$d/ok.md"
    python3 "$QUOTES" check "$d/ok.md" "$d" >/dev/null 2>&1 || bad+=" 正確的引用被拒絕"
    sed 's/int x = 1;/int x = 2;/' "$d/ok.md" >"$d/changed.md"
    python3 "$QUOTES" check "$d/changed.md" "$d" >/dev/null 2>&1 && bad+=" 改過的引用沒被抓到"
    sed 's/#step/#gone/' "$d/ok.md" >"$d/missing.md"
    python3 "$QUOTES" check "$d/missing.md" "$d" >/dev/null 2>&1 && bad+=" 不存在的錨點沒被抓到"
    local tick='`'
    { cat "$d/ok.md"; echo "內文說明錨點 ${tick}step${tick} 做什麼。"; } >"$d/prose.md"
    python3 "$QUOTES" check "$d/prose.md" "$d" >/dev/null 2>&1 || bad+=" 內文提到存在的錨點被拒絕"
    { cat "$d/ok.md"; echo "內文說明錨點 ${tick}nowhere${tick} 做什麼。"; } >"$d/prose-missing.md"
    python3 "$QUOTES" check "$d/prose-missing.md" "$d" >/dev/null 2>&1 && bad+=" 內文提到不存在的錨點沒被抓到"
    python3 "$QUOTES" update "$d/changed.md" "$d" >/dev/null 2>&1 && cmp -s "$d/changed.md" "$d/ok.md" || bad+=" update 沒有還原引用"
    sed -i '/>8 step/d' "$d/demo.cpp"
    python3 "$QUOTES" check "$d/ok.md" "$d" >/dev/null 2>&1 && bad+=" 沒有結束的錨點沒被抓到"
    if [ -z "$bad" ]; then
        pass docs.detects_drift "檢查器抓得到改過的引用、不存在的錨點（引用與內文提到的）與沒有結束的錨點，update 能從原始碼還原"
    else
        fail docs.detects_drift "檢查器" "每種脫節都被抓到" "$bad"
    fi
}

docs_smoke() {
    run_test docs_t_detects_drift
    run_test docs_t_anchors
    run_test docs_t_quotes
}
