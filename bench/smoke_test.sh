#!/bin/sh
# Smoke test of bench/run's parts on a tiny loopback site (ctest: bench_smoke). Needs no nginx
# or wget2; Python only for fts_replay.py, skipped without Python's FTS5. Checks that
#   - bench_server serves a 50-page site on 3 loopback hosts (20 ms latency) and reports stats;
#   - the real crawler, run under bench_measure, stores exactly those 50 pages, and the
#     measurement JSON has every field with sane values (CPU > 0, RSS > 0, 4 processes);
#   - bench_measure counts the CPU of an orphaned grandchild and enforces --timeout-s;
#   - bench_parse_floor finds the 3 fixture pages and their 9 a[href] links, with and without
#     --collapse-text, and
#     bench_libxml2_floor (if built) 8, with and without --sax;
#   - bench_store_sim runs every layout to 30,000 URLs, printing a rate for each tenth, and
#     refuses an existing file; so does fts_replay.py (300 pages), where python3 is installed.
#
#   smoke_test.sh CRAWLER BENCH_MEASURE BENCH_SERVER BENCH_PARSE_FLOOR FIXTURES_DIR STORE_SIM
#                 [BENCH_LIBXML2_FLOOR or -]
set -eu
CRAWLER=$1 MEASURE=$2 SERVER=$3 FLOOR=$4 FIXTURES=$5 STORE_SIM=$6 LIBXML2_FLOOR=${7:--}
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# field NAME FILE: the value of "NAME": in a one-line JSON object.
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"; }
# check EXPR: an awk condition on numbers, e.g. check "$x > 0" description
check() { awk "BEGIN { exit !($1) }" || fail "$2 ($1)"; }

# 1. The site: 50 pages on 127.0.0.10-12, a free port, 20 ms per response, at most 30 s.
"$SERVER" --hosts 3 --first-ip 127.0.0.10 --port 0 --pages 50 --links 5 --latency-ms 20 \
  --seconds 30 --stats "$TMP/server.json" > "$TMP/server.out" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$TMP/server.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$TMP/server.out")
[ -n "$PORT" ] || fail "bench_server did not start"
for h in 0 1 2; do echo "http://127.0.0.1$h:$PORT/p/$h"; done > "$TMP/seeds.txt"

# 2. The crawler under bench_measure.
"$MEASURE" --json "$TMP/crawl.json" --samples "$TMP/samples.txt" --timeout-s 15 -- \
  "$CRAWLER" crawl "$TMP/seeds.txt" --db "$TMP/c.db" --workers 2 --per-host 4 --quiet \
  --connect-timeout 2 --timeout 5
cat "$TMP/crawl.json"
for f in wall_s cpu_user_s cpu_sys_s peak_rss_kib peak_procs exit_code timed_out; do
  [ -n "$(field $f "$TMP/crawl.json")" ] || fail "bench_measure JSON lacks $f"
done
check "$(field exit_code "$TMP/crawl.json") == 0" "crawler exit code"
check "$(field cpu_user_s "$TMP/crawl.json") + $(field cpu_sys_s "$TMP/crawl.json") > 0" "crawl CPU"
check "$(field peak_rss_kib "$TMP/crawl.json") > 1000" "crawl peak RSS"
check "$(field peak_procs "$TMP/crawl.json") >= 4" "coordinator, 2 fetchers and a parser"
[ "$(head -1 "$TMP/samples.txt")" = "t_s rss_kib pss_kib procs cpu_s" ] || fail "samples header"
check "$(wc -l < "$TMP/samples.txt") >= 2" "at least one sample"
pages=$("$CRAWLER" query --db "$TMP/c.db" --format csv \
  "SELECT count(*) FROM pages WHERE status = 200 AND url LIKE '%/p/%'" | tail -1 | tr -d '\r')
[ "$pages" = 50 ] || fail "the crawl stored $pages of the 50 pages"

kill "$SERVER_PID"
wait "$SERVER_PID" || fail "bench_server exit status"
SERVER_PID=
cat "$TMP/server.json"
check "$(field status_200 "$TMP/server.json") >= 50" "bench_server counted the pages"
[ -n "$(field cpu_share "$TMP/server.json")" ] || fail "bench_server stats lack cpu_share"

# 3. bench_measure: an orphan's CPU is counted (it is re-parented to bench_measure and reaped).
# The orphan's loop takes about 0.3 s of CPU with mawk, well clear of the 0.05 s checked (3
# million rounds took 0.049 s once, and failed the check).
"$MEASURE" --json "$TMP/orphan.json" -- sh -c \
  "awk 'BEGIN { for (i = 0; i < 20000000; i++) s += i }' & exit 0"
cat "$TMP/orphan.json"
check "$(field cpu_user_s "$TMP/orphan.json") + $(field cpu_sys_s "$TMP/orphan.json") >= 0.05" \
  "orphan CPU counted"
check "$(field leftover "$TMP/orphan.json") == 0" "the orphan finished within the linger"
# ... and --timeout-s stops a command that runs too long.
"$MEASURE" --json "$TMP/timeout.json" --timeout-s 0.3 -- sleep 30 || true
cat "$TMP/timeout.json"
[ "$(field timed_out "$TMP/timeout.json")" = true ] || fail "timeout not reported"
check "$(field wall_s "$TMP/timeout.json") < 5" "timeout enforced"

# 4. The parse floor on the fixtures: 3 .html files (notes.txt is skipped), 9 a[href] links:
# one.html 3, sub/three.html 1, two.html 5: its unclosed <a> inside <b> is reconstructed by
# the HTML5 tree builder (adoption agency), so Gumbo yields that element twice.
"$FLOOR" "$FIXTURES" > "$TMP/floor.json"
cat "$TMP/floor.json"
[ "$(field files "$TMP/floor.json")" = 3 ] || fail "parse floor files"
[ "$(field links "$TMP/floor.json")" = 9 ] || fail "parse floor links"
# ... and with the text runs cut (--collapse-text, what the crawler parses with --no-text):
# the same files and links.
"$FLOOR" "$FIXTURES" --collapse-text > "$TMP/floor-cut.json"
cat "$TMP/floor-cut.json"
[ "$(field files "$TMP/floor-cut.json")" = 3 ] || fail "parse floor --collapse-text files"
[ "$(field links "$TMP/floor-cut.json")" = 9 ] || fail "parse floor --collapse-text links"
# ... and with libxml2 (if built; LIBXML2_FLOOR is "-" if not): the same files, 8 links. Its
# HTML 4 recovery closes the unclosed <a> of two.html at </b> instead of reconstructing it.
if [ "$LIBXML2_FLOOR" != - ]; then
  for mode in "" --sax; do
    # shellcheck disable=SC2086  # an empty mode is no argument
    "$LIBXML2_FLOOR" "$FIXTURES" $mode > "$TMP/xml.json" || fail "bench_libxml2_floor $mode"
    cat "$TMP/xml.json"
    [ "$(field files "$TMP/xml.json")" = 3 ] || fail "libxml2 floor $mode files"
    [ "$(field links "$TMP/xml.json")" = 8 ] || fail "libxml2 floor $mode links"
  done
  status=0; "$LIBXML2_FLOOR" "$FIXTURES" --tree 2> /dev/null || status=$?
  [ "$status" = 2 ] || fail "bench_libxml2_floor took an unknown flag (status $status)"
fi

# 5. bench_store_sim, each layout (the leveled ones with small merges, so they merge and sweep).
for args in "--layout current" "--layout compact" "--layout staged --merge-urls 5000" \
    "--layout leveled --merge-urls 3000 --sweep" "--layout seqid --merge-urls 3000 --sweep" \
    "--layout seqid --merge-urls 3000 --no-bloom"; do
  rm -f "$TMP"/sim.db*
  # shellcheck disable=SC2086  # args are words
  "$STORE_SIM" $args --batch 20 --sorted --urls 30000 "$TMP/sim.db" > "$TMP/sim.out" ||
    fail "bench_store_sim $args"
  [ "$(grep -c 'pages/s' "$TMP/sim.out")" = 10 ] || fail "bench_store_sim $args: tenths"
  grep -q '^total' "$TMP/sim.out" || fail "bench_store_sim $args: total"
done
if "$STORE_SIM" --layout seqid "$TMP/sim.db" 2> "$TMP/sim.err"; then
  fail "bench_store_sim wrote into an existing database"
fi
grep -q exists "$TMP/sim.err" || fail "bench_store_sim: no reason for refusing"
# 5b. fts_replay.py (if Python with FTS5 is here; nothing else needs it): a small replay prints its
# commits and ten tenths, with search=1 a segment count per tenth and four searches' times,
# and it refuses an existing file; with rows=1 (schema 6) the text is in page_text_rows only.
if command -v python3 > /dev/null && python3 -c "import sqlite3
sqlite3.connect(':memory:').execute('CREATE VIRTUAL TABLE t USING fts5(x)')" 2> /dev/null; then
  FTS_REPLAY="$(dirname "$0")/fts_replay.py"
  python3 "$FTS_REPLAY" "$TMP/fts.db" docs=300 batch=20 crisismerge=64 search=1 > "$TMP/fts.out" ||
    fail "fts_replay.py"
  grep -q '^commits: 15,' "$TMP/fts.out" || fail "fts_replay.py: commits ($(cat "$TMP/fts.out"))"
  [ "$(sed -n 's/^CPU s per tenth of the pages: //p' "$TMP/fts.out" | wc -w)" = 10 ] ||
    fail "fts_replay.py: tenths"
  # Ten segment counts, none 0 (every tenth has committed text), then four searches.
  SEGMENTS="$(sed -n 's/^segments at the tenths: \([0-9 ]*\) (.*/\1/p' "$TMP/fts.out")"
  [ "$(echo "$SEGMENTS" | wc -w)" = 10 ] && ! echo " $SEGMENTS " | grep -q ' 0 ' ||
    fail "fts_replay.py: segments ($(cat "$TMP/fts.out"))"
  [ "$(grep -c '^search, .*: [0-9.]* ms median, [0-9.]* ms worst over the tenths$' "$TMP/fts.out")" = 4 ] ||
    fail "fts_replay.py: searches ($(cat "$TMP/fts.out"))"
  if python3 "$FTS_REPLAY" "$TMP/fts.db" docs=300 2> /dev/null; then
    fail "fts_replay.py wrote into an existing file"
  fi
  # rows=1, schema 6's layout: the text in page_text_rows only, and the searches still run.
  python3 "$FTS_REPLAY" "$TMP/fts-rows.db" docs=300 batch=20 search=1 rows=1 > "$TMP/fts-rows.out" ||
    fail "fts_replay.py rows=1"
  [ "$(grep -c '^search, .*: [0-9.]* ms median' "$TMP/fts-rows.out")" = 4 ] ||
    fail "fts_replay.py rows=1: searches ($(cat "$TMP/fts-rows.out"))"
  [ "$(python3 -c "import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute('SELECT count(*) FROM page_text_rows').fetchone()[0],
      db.execute(\"SELECT count(*) FROM sqlite_master WHERE name = 'page_text_content'\").fetchone()[0],
      db.execute(\"SELECT count(*) FROM page_text WHERE page_text MATCH 'crawler'\").fetchone()[0])" \
      "$TMP/fts-rows.db")" = "300 0 300" ] || fail "fts_replay.py rows=1: tables"
fi
# 5c. wal_census.py (the same Python): a WAL kept open by a live connection is counted by owner,
# and a database without a WAL is refused with a reason.
if command -v python3 > /dev/null; then
  WAL_CENSUS="$(dirname "$0")/wal_census.py"
  python3 - "$TMP/census.db" "$WAL_CENSUS" > "$TMP/census.out" 2>&1 << 'PYTHON' || fail "wal_census.py ($(cat "$TMP/census.out"))"
import sqlite3, subprocess, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA wal_autocheckpoint = 0")  # the frames stay in the WAL while db is open
db.execute("CREATE TABLE t (x TEXT)")
db.execute("CREATE INDEX t_x ON t (x)")
db.execute("BEGIN")
for i in range(2000):
    db.execute("INSERT INTO t VALUES (?)", (str(i) * 20,))
db.execute("COMMIT")
sys.stdout.write(subprocess.run(["python3", sys.argv[2], sys.argv[1]], check=True,
                                capture_output=True, text=True).stdout)
PYTHON
  grep -q '^page size [0-9]*; [0-9]* frames .* in 3 commits$' "$TMP/census.out" &&
    grep -q '^t  *[1-9][0-9]* frames' "$TMP/census.out" &&
    grep -q '^t_x  *[1-9][0-9]* frames' "$TMP/census.out" ||
    fail "wal_census.py: census ($(cat "$TMP/census.out"))"
  if python3 "$WAL_CENSUS" "$TMP/none.db" 2> "$TMP/census.err"; then
    fail "wal_census.py counted a database without a WAL"
  fi
  grep -q 'does not exist' "$TMP/census.err" || fail "wal_census.py: no reason for refusing"
fi
# 6. bench/run's command line: --help teaches the knobs and does nothing else; an argument it
# does not know is refused with exit 2 before anything is installed, built or started.
RUN="$(dirname "$0")/run"
bash "$RUN" --help > "$TMP/help.out" || fail "bench/run --help exit status"
grep -q BENCH_SCENARIOS "$TMP/help.out" || fail "bench/run --help names no knobs"
grep -q 'removed at the end' "$TMP/help.out" || fail "bench/run --help cut short"
status=0; bash "$RUN" --workers 4 > /dev/null 2> "$TMP/run.err" || status=$?
[ "$status" = 2 ] || fail "bench/run with an unknown argument: status $status, not 2"
grep -q 'unknown argument "--workers"' "$TMP/run.err" || fail "bench/run: no reason for refusing"
echo "bench smoke test: ok"
