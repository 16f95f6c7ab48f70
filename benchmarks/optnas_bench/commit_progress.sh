#!/usr/bin/env bash
# Commit the build's progress every INTERVAL seconds (default 1800) until the build stops or UNTIL (a date
# that `date -d` reads) passes: snapshot the journal (journal.log.gz) and export the partial tables into
# optnas/bench/data, then commit only those files. Run from the repository root, detached:
#   setsid nohup benchmarks/optnas_bench/commit_progress.sh 1800 "12:25" > /dev/null 2>&1 &
# Stop it: kill $(cat benchmarks/optnas_bench/commit.pid)
set -u
INTERVAL=${1:-1800}
UNTIL=$(date -d "${2:-tomorrow}" +%s)
DIR=benchmarks/optnas_bench
PY=${PYTHON:-.venv/bin/python}
echo $$ > "$DIR/commit.pid"
trap 'rm -f "$DIR/commit.pid"' EXIT
commit() {
  nice -n 19 "$PY" -m optnas.bench snapshot > /dev/null || return
  rows=$(nice "$PY" -c "import optnas.bench as b; print(', '.join(f'{n} {b.load(n).attrs[\"meta\"][\"architectures\"]}' for n in ('mnist1d','digits')))")
  git add "$DIR/journal.log.gz" optnas/bench/data/*.json.gz && \
    git commit -q -m "bench: build progress ($rows of 1278 architectures)" -- "$DIR/journal.log.gz" optnas/bench/data/ \
    || true  # another commit holds the index: the next round catches up
}
while [ "$(date +%s)" -lt "$UNTIL" ]; do
  sleep "$INTERVAL"
  commit
  pid=$(cat "$DIR/build.pid" 2>/dev/null || echo)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then commit; break; fi
done
