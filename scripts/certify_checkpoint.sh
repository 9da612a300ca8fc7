#!/usr/bin/env bash
# Carry an unfinished certify-all across machines: the finished class reports go into the repo
# (reports/in-progress/NAME.tar.xz, the report.json and not_applicable.json files only, about 3 KB a class) with the commit and
# command that made them, and come back out into a report directory for `certify --resume`.
#
#   scripts/certify_checkpoint.sh save REPORT_DIR NAME COMMIT -- CERTIFY ARGS...
#   scripts/certify_checkpoint.sh restore NAME REPORT_DIR
#
# --resume keeps a class report only if the same code made it (versions.harness_source), so resume
# from a checkout of COMMIT (e.g. `git worktree add /tmp/wt COMMIT`), with the same library versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${CHECKPOINT_DIR:-$ROOT/reports/in-progress}"   # CHECKPOINT_DIR: elsewhere (tests)

case "${1:-}" in
  save)
    dir="$2"; name="$3"; commit="$(git -C "$ROOT" rev-parse "$4" 2>/dev/null || echo "$4")"; shift 4
    [ "${1:-}" = "--" ] && shift
    mkdir -p "$OUT"
    tmp="$OUT/.$name.tar.xz.tmp"
    (cd "$dir" && find classes \( -name report.json -o -name not_applicable.json \) | sort | tar -cf - -T - | xz -9 -T1) > "$tmp"
    mv "$tmp" "$OUT/$name.tar.xz"
    n=$(tar -tJf "$OUT/$name.tar.xz" | grep -c '/report\.json$' || true)
    na=$(tar -tJf "$OUT/$name.tar.xz" | grep -c '/not_applicable\.json$' || true)
    {
      echo "commit: $commit"
      echo "class reports: $n (finished and partial; --resume reruns the partial ones)"
      echo "not-applicable findings: $na"
      echo "saved: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "command: resize-conformance certify $*"
    } > "$OUT/$name.txt"
    echo "saved $n class reports and $na not-applicable findings to $OUT/$name.tar.xz ($(du -h "$OUT/$name.tar.xz" | cut -f1))"
    ;;
  restore)
    name="$2"; dir="$3"
    mkdir -p "$dir"
    tar -xJf "$OUT/$name.tar.xz" -C "$dir"
    echo "restored $(tar -tJf "$OUT/$name.tar.xz" | wc -l) files (class reports, not-applicable findings) into $dir"
    cat "$OUT/$name.txt"
    echo "resume from a checkout of that commit: the same command with --report-dir $dir --resume"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
