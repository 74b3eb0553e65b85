#!/usr/bin/env python3
"""fts_replay.py: scenario 3's full-text writes alone, through the system's SQLite (FTS5).

Not run by bench/run. Inserts DOCS pages of text shaped like bench_server's endless site
(about 380 words from a 24-word list, and 100 link texts "Page N" with N unique) into a
`page_text` table made as the crawler makes it, BATCH pages per transaction, with the
crawler's page size, WAL and synchronous=NORMAL, then prints the median and longest commit
and the CPU seconds of each tenth of the pages (docs/PERFORMANCE.md, "automerge 16 made every
merge a crisis merge"). FTS5 settings are arguments; without them FTS5's own defaults
apply (automerge 4, crisismerge 16), so the crawler's schema 5 is automerge=16 crisismerge=64.
By default page_text keeps its own copy of the text, as schemas 2-5 did; with rows=1 the text
goes to page_text_rows and page_text is an external-content index over it, as schema 6 does
(storage/schema.cpp). Pages come in rowid order here, so rows=1 shows what the index and the
search cost, not the crawl's scattered ids that made schema 6 worth it (docs/PERFORMANCE.md):

  bench/fts_replay.py DB [docs=100000] [batch=500] [cache_kib=8192] [automerge=N]
                      [crisismerge=N] [hashsize=BYTES] [pgsz=BYTES] [search=1] [rows=1]

The last tenth also takes the pages that docs / 10 leaves over. With search=1, at the end of
each tenth (after the commit that ends it, or the next one) it also counts the index's
segments and times searches a user would run (the median of 5 runs each, after one to warm
the cache; outside the CPU per tenth), and prints their median and worst over the tenths:
merges leave a different number of segments at each point, and a search reads every segment.

DB must not exist (it is the scratch file, left behind for inspection).
"""
import os
import random
import sqlite3
import sys
import time

WORDS = ("crawler frontier latency socket page anchor parser queue host index breadth request "
         "window server epoll timer link storage journal commit sample memory limit bound").split()
SETTINGS = ("automerge", "crisismerge", "hashsize", "pgsz")
# What search=1 times: a word in every page, a token in one page only (a link text's number,
# {rare}), a word in no page, and the ten best pages for two words by bm25.
SEARCHES = (
    ("common word", "SELECT count(*) FROM page_text WHERE page_text MATCH 'crawler'"),
    ("rare token", "SELECT count(*) FROM page_text WHERE page_text MATCH '{rare}'"),
    ("absent word", "SELECT count(*) FROM page_text WHERE page_text MATCH 'zyzzyva'"),
    ("top 10 by rank", "SELECT rowid FROM page_text WHERE page_text MATCH 'frontier latency' "
                       "ORDER BY rank LIMIT 10"),
)


def time_searches(db, rare):
    """The segment count and, per search, the median seconds of 5 runs after a warm-up."""
    segments = db.execute("SELECT count(DISTINCT segid) FROM page_text_idx").fetchone()[0]
    times = []
    for _, sql in SEARCHES:
        sql = sql.format(rare=rare)
        db.execute(sql).fetchall()
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            db.execute(sql).fetchall()
            runs.append(time.perf_counter() - started)
        runs.sort()
        times.append(runs[2])
    return segments, times


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-") or "=" in argv[1]:
        sys.exit(__doc__)
    path = argv[1]
    args = {}
    for arg in argv[2:]:
        key, sep, value = arg.partition("=")
        known = ("docs", "batch", "cache_kib", "search", "rows") + SETTINGS
        if not sep or not value.isdigit() or key not in known:
            sys.exit("fts_replay.py: bad argument %r\n%s" % (arg, __doc__))
        args[key] = int(value)
    if os.path.exists(path):
        sys.exit("fts_replay.py: %s exists; give a new file" % path)
    docs, batch = args.get("docs", 100000), args.get("batch", 500)
    if docs < 10 or batch < 1:
        sys.exit("fts_replay.py: docs must be at least 10 and batch at least 1")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA page_size = 16384")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -%d" % args.get("cache_kib", 8192))
    rows = bool(args.get("rows"))
    if rows:
        db.execute("CREATE TABLE page_text_rows (url_id INTEGER NOT NULL UNIQUE, title TEXT, "
                   "body TEXT)")
    db.execute("CREATE VIRTUAL TABLE page_text USING fts5(title, body, " +
               ("content = 'page_text_rows', content_rowid = 'url_id', " if rows else "") +
               "tokenize = 'unicode61 remove_diacritics 2')")
    for key in SETTINGS:
        if key in args:
            db.execute("INSERT INTO page_text(page_text, rank) VALUES (?, ?)", (key, args[key]))
    rng = random.Random(1)
    commits, tenths, searched = [], [], []
    search_due = False
    rare = None  # a link number of the first page
    tenth = docs // 10
    cpu_mark = time.process_time()
    for d in range(docs):
        if d % batch == 0:
            db.execute("BEGIN")
            started = time.monotonic()
        words = " ".join(rng.choice(WORDS) for _ in range(190))
        numbers = [rng.getrandbits(62) for _ in range(100)]
        rare = rare or numbers[0]
        links = " ".join("Page %d" % n for n in numbers)
        page = (d + 1, "Page %d" % d, words + " " + links + " " + words)
        if rows:
            db.execute("INSERT INTO page_text_rows(url_id, title, body) VALUES (?, ?, ?)", page)
        db.execute("INSERT INTO page_text(rowid, title, body) VALUES (?, ?, ?)", page)
        if d % batch == batch - 1 or d == docs - 1:
            db.execute("COMMIT")
            commits.append(time.monotonic() - started)
        if ((d + 1) % tenth == 0 and len(tenths) < 9) or d == docs - 1:
            now = time.process_time()
            tenths.append(now - cpu_mark)
            cpu_mark = now
            search_due = bool(args.get("search"))
        # Searched between transactions only, so that a commit's time holds no search, and
        # outside the CPU of the tenths.
        if search_due and not db.in_transaction:
            before = time.process_time()
            searched.append(time_searches(db, rare))
            cpu_mark += time.process_time() - before
            search_due = False
    commits.sort()
    print("commits: %d, median %.3f s, longest %.3f s" %
          (len(commits), commits[len(commits) // 2], commits[-1]))
    print("CPU s per tenth of the pages: " + " ".join("%.2f" % t for t in tenths))
    print("total CPU %.1f s; database %.0f MB" %
          (sum(tenths), os.path.getsize(path) / 1e6))
    if searched:
        def spread(values, fmt):
            ordered = sorted(values)
            return (fmt + " median, " + fmt + " worst") % (ordered[len(ordered) // 2], ordered[-1])
        print("segments at the tenths: %s (%s)" % (" ".join(str(n) for n, _ in searched),
                                                 spread([n for n, _ in searched], "%d")))
        for i, (name, _) in enumerate(SEARCHES):
            print("search, %s: %s over the tenths" %
                  (name, spread([t[i] * 1000 for _, t in searched], "%.2f ms")))


if __name__ == "__main__":
    main(sys.argv)
