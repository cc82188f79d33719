# shellcheck shell=bash
# tests/lint.sh — shell 腳本通過 shellcheck。

lint_t_shellcheck() {
    need_cmd shellcheck lint.shellcheck shellcheck || return 0
    local files=("$ROOT/run_tests.sh" "$ROOT/.ci/run")
    local f
    for f in "$ROOT"/tests/*.sh; do files+=("$f"); done
    local log=$WORK/shellcheck.log
    if (cd "$ROOT" && shellcheck -x "${files[@]#"$ROOT/"}") >"$log" 2>&1; then
        pass lint.shellcheck "shellcheck 檢查 ${#files[@]} 個腳本，沒有問題"
    else
        fail lint.shellcheck "shellcheck 發現問題" 0 "$(grep -c '^In ' "$log" || true) 處"
        show_log "$log" 30
    fi
}

lint_smoke() {
    run_test lint_t_shellcheck
}
