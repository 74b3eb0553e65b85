// bench_store_sim: the parser's SQLite write pattern on the scale scenario, without the
// crawler around it, to see how the store alone slows down as the URL count grows.
//
//   bench_store_sim --layout current|compact|staged|leveled|seqid [--batch PAGES] [--sorted]
//                   [--urls N] [--merge-urls N] [--level-ratio R] [--sweep] [--keep-indexes]
//                   [--no-frontier-index] [--no-bloom] [--page-size BYTES] NEW.db
//
// Each simulated page takes the next queued URL from the frontier, stores a page row, marks
// its URL done, deletes its frontier row and adds 100 links to new random URLs (an endless
// site, like bench_server's). Prints pages/s for every tenth of --urls. Left out: the FTS
// text, the pages_by_status index and the robots tables. With --sorted the first batch's
// pages are all seeds (the frontier is empty until it commits). Layouts:
//   current  the schema as it is (storage/schema.cpp, reduced to the columns written here):
//            urls keyed by the URL hash, frontier_by_url, link_edges_by_target;
//   compact  what a 3 -> 4 migration could make it: urls in discovery order with a UNIQUE
//            index on the hash, frontier rows deleted by seq, no link_edges_by_target;
//   staged   a two-level write path (an LSM with two levels): new URLs go to a small
//            urls_new table (it stays in the cache), which is merged into urls (keyed by the
//            hash, as now) in hash order every --merge-urls new URLs (default 1,000,000);
//            lookups check urls_new, then a Bloom filter in memory (10 bits per URL), then
//            urls; frontier rows deleted by seq, no frontier_by_url, no link_edges_by_target.
//   leveled  staged with three levels: urls_new is merged into urls_mid every --merge-urls
//            new URLs (default 250,000 here), and urls_mid into urls once it holds
//            --level-ratio (default 0.25) times as many rows as urls, so each merge into the
//            big table is paid for by a number of URLs that grows with it. Lookups check
//            urls_new, then one Bloom filter over urls_mid and urls, then both tables.
//            With --sweep, urls_mid goes into urls a hash range at a time instead: once it
//            holds --level-ratio times as many rows as urls, each commit moves the next range,
//            sized so that a sweep over all hashes ends after the commits have added half as
//            many URLs again as urls held when it began (rows added behind the sweep wait for
//            the next one).
//   seqid    urls, pages, link_edges and frontier keep the current schema, but a URL's id is
//            its discovery order (1, 2, 3, ...) instead of its hash, so every table and index
//            keyed by a URL id (urls, pages, frontier_by_url, link_edges_by_target) takes new
//            rows at its right edge. Only the hash -> id lookup is keyed by the hash, and it
//            is leveled as in `leveled` but with rows of two integers: url_keys_new (merged
//            into url_keys_mid every --merge-urls new URLs, default 250,000) and url_keys_mid
//            into url_keys at --level-ratio, with --sweep as above; one Bloom filter over
//            url_keys_mid and url_keys (--no-bloom: none; a lookup probes all three levels).
//            Frontier rows are deleted by url_id, as now.
// --keep-indexes (staged, leveled) keeps frontier_by_url and link_edges_by_target, and
// deletes frontier rows by url_id as the current layout does. --no-frontier-index (current)
// drops frontier_by_url and deletes frontier rows by seq. Other combinations are refused.
// --sorted processes a batch's links in hash order (one pass over each index per commit), as
// the crawler does since 7433643. --page-size sets the database's page size (SQLite's
// default, 4096, unless given).
// The pragmas are the parser's (crawler/parser_process.cpp). docs/PERFORMANCE.md has results.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/bloom_filter.h"

namespace {

sqlite3* g_db = nullptr;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_store_sim: %s: %s\n", what.c_str(), sqlite3_errmsg(g_db));
  std::exit(1);
}

void exec(const char* sql) {
  if (sqlite3_exec(g_db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) die(sql);
}

// Statements live until exit; the process is short-lived and sqlite3_close is not needed.
sqlite3_stmt* prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(g_db, sql, -1, &s, nullptr) != SQLITE_OK) die(sql);
  return s;
}

bool step(sqlite3_stmt* s) {  // true if a row came back
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) die("step");
  const bool row = rc == SQLITE_ROW;
  sqlite3_reset(s);
  return row;
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_store_sim --layout current|compact|staged|leveled|seqid [--batch PAGES] "
               "[--sorted] [--urls N] [--merge-urls N] [--level-ratio R] [--sweep] [--keep-indexes] "
               "[--no-frontier-index] [--no-bloom] [--page-size BYTES] NEW.db\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string layout, path;
  int batch = 1000;
  bool sorted = false, sweep = false, keep_indexes = false, no_frontier_index = false,
       no_bloom = false;
  long target = 10'000'000;
  long merge_urls = 0;  // 0: the layout's default
  double level_ratio = 0.25;
  int page_size = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--layout" && i + 1 < argc) layout = argv[++i];
    else if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (a == "--urls" && i + 1 < argc) target = std::atol(argv[++i]);
    else if (a == "--merge-urls" && i + 1 < argc) merge_urls = std::atol(argv[++i]);
    else if (a == "--level-ratio" && i + 1 < argc) level_ratio = std::atof(argv[++i]);
    else if (a == "--page-size" && i + 1 < argc) page_size = std::atoi(argv[++i]);
    else if (a == "--sorted") sorted = true;
    else if (a == "--sweep") sweep = true;
    else if (a == "--keep-indexes") keep_indexes = true;
    else if (a == "--no-frontier-index") no_frontier_index = true;
    else if (a == "--no-bloom") no_bloom = true;
    else if (!a.empty() && a[0] != '-' && path.empty()) path = a;
    else return usage();
  }
  if ((layout != "current" && layout != "compact" && layout != "staged" && layout != "leveled" &&
       layout != "seqid") ||
      path.empty() || batch < 1 || target < 10 || merge_urls < 0 || page_size < 0 ||
      !(level_ratio > 0) || (sweep && layout != "leveled" && layout != "seqid") ||
      (keep_indexes && layout != "staged" && layout != "leveled") ||
      (no_frontier_index && layout != "current") || (no_bloom && layout != "seqid")) {
    return usage();
  }
  const bool compact = layout == "compact";
  const bool seqid = layout == "seqid";
  const bool leveled = layout == "leveled";
  const bool staged = layout == "staged" || leveled;  // leveled is staged plus urls_mid
  if (merge_urls == 0) merge_urls = leveled || seqid ? 250'000 : 1'000'000;
  // The three levels that --sweep and the merges move rows between: whole urls rows
  // (leveled) or the hash -> id rows (seqid).
  const std::string level_new = seqid ? "url_keys_new" : "urls_new";
  const std::string level_mid = seqid ? "url_keys_mid" : "urls_mid";
  const std::string level_big = seqid ? "url_keys" : "urls";
  // A new file only: never write into (or delete) a crawl database given by mistake.
  if (sqlite3_open_v2(path.c_str(), &g_db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    std::fprintf(stderr, "bench_store_sim: %s exists; give the path of a new file\n", path.c_str());
    return 2;
  }
  sqlite3_close(g_db);
  if (sqlite3_open(path.c_str(), &g_db) != SQLITE_OK) die("open " + path);
  if (page_size > 0) exec(("PRAGMA page_size=" + std::to_string(page_size)).c_str());
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-98304; "
       "PRAGMA wal_autocheckpoint=16384;");
  exec(compact ? "CREATE TABLE urls(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, "
                 "url TEXT NOT NULL, host TEXT NOT NULL, depth INTEGER NOT NULL, "
                 "state TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
                 "discovered_at TEXT NOT NULL)"
               : "CREATE TABLE urls(id INTEGER PRIMARY KEY, url TEXT NOT NULL, "
                 "host TEXT NOT NULL, depth INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, "
                 "attempts INTEGER NOT NULL DEFAULT 0, discovered_at TEXT NOT NULL)");
  exec("CREATE TABLE frontier(seq INTEGER PRIMARY KEY AUTOINCREMENT, url_id INTEGER NOT NULL, "
       "url TEXT NOT NULL, depth INTEGER NOT NULL)");
  exec("CREATE TABLE pages(url_id INTEGER PRIMARY KEY, url TEXT NOT NULL, status INTEGER, "
       "fetched_at TEXT NOT NULL, title TEXT)");
  exec("CREATE TABLE link_edges(from_id INTEGER NOT NULL, to_id INTEGER NOT NULL, "
       "follow INTEGER NOT NULL, PRIMARY KEY(from_id, to_id)) WITHOUT ROWID");
  // Frontier rows deleted by seq, without frontier_by_url.
  const bool by_seq = compact || (staged && !keep_indexes) || no_frontier_index;  // not seqid
  if (!by_seq) exec("CREATE INDEX frontier_by_url ON frontier(url_id)");
  if ((!compact && !staged) || keep_indexes) {  // current, seqid, --keep-indexes
    exec("CREATE INDEX link_edges_by_target ON link_edges(to_id)");
  }
  if (staged) {
    exec("CREATE TABLE urls_new(id INTEGER PRIMARY KEY, url TEXT NOT NULL, "
         "host TEXT NOT NULL, depth INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, "
         "attempts INTEGER NOT NULL DEFAULT 0, discovered_at TEXT NOT NULL)");
  }
  if (leveled) {
    exec("CREATE TABLE urls_mid(id INTEGER PRIMARY KEY, url TEXT NOT NULL, "
         "host TEXT NOT NULL, depth INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, "
         "attempts INTEGER NOT NULL DEFAULT 0, discovered_at TEXT NOT NULL)");
  }
  if (seqid) {
    for (const std::string& t : {level_new, level_mid, level_big}) {
      exec(("CREATE TABLE " + t + "(hash INTEGER PRIMARY KEY, id INTEGER NOT NULL)").c_str());
    }
  }
  // staged, seqid: a Bloom filter over the merged urls, 10 bits per URL of --urls rounded up
  // to a power of two (13.4 bits per URL at 10 M), the crawler's own (storage/bloom_filter.h).
  // Before aa62e4a it had its own probes over exactly 10 bits per URL (a modulo, so unlike
  // the crawler's old filter it used every bit of the key): runs from before are comparable
  // only roughly. Its keys go through BloomFilter::key_of_hash63, as UrlKeys' do.
  storage::BloomFilter bloom;
  if (staged || seqid) bloom = storage::BloomFilter(static_cast<std::size_t>(target) * 10 / 64 + 1);
  sqlite3_stmt* next = prepare("SELECT seq, url_id FROM frontier WHERE seq > ? ORDER BY seq LIMIT 1");
  sqlite3_stmt* insert_page =
      prepare("INSERT INTO pages VALUES(?, ?, 200, '2026-11-23T10:00:00.000Z', 'a title')");
  sqlite3_stmt* mark_done = prepare("UPDATE urls SET state = 'done' WHERE id = ?");
  sqlite3_stmt* dequeue = prepare(by_seq ? "DELETE FROM frontier WHERE seq = ?"
                                         : "DELETE FROM frontier WHERE url_id = ?");
  sqlite3_stmt* mark_done_new =
      staged ? prepare("UPDATE urls_new SET state = 'done' WHERE id = ?") : nullptr;
  sqlite3_stmt* select_new = staged ? prepare("SELECT depth, state FROM urls_new WHERE id = ?")
                                    : nullptr;
  sqlite3_stmt* mark_done_mid =
      leveled ? prepare("UPDATE urls_mid SET state = 'done' WHERE id = ?") : nullptr;
  sqlite3_stmt* select_mid = leveled ? prepare("SELECT depth, state FROM urls_mid WHERE id = ?")
                                     : nullptr;
  sqlite3_stmt* insert_edge = prepare("INSERT OR IGNORE INTO link_edges VALUES(?, ?, 1)");
  sqlite3_stmt* select_url = prepare("SELECT depth, state FROM urls WHERE id = ?");
  sqlite3_stmt* insert_url = prepare(
      staged ? "INSERT INTO urls_new(id, url, host, depth, state, discovered_at) "
               "VALUES(?, ?, ?, 1, 'queued', '2026-11-23T10:00:00.000Z')"
             : "INSERT INTO urls(id, url, host, depth, state, discovered_at) "
               "VALUES(?, ?, ?, 1, 'queued', '2026-11-23T10:00:00.000Z')");
  long staged_urls = 0, mid_urls = 0, big_urls = 0;
  double merge_s = 0, big_merge_s = 0;
  int big_merges = 0;
  bool sweeping = false;
  double sweep_at = 0;      // --sweep: the next range starts at this hash (0 .. 2^63)
  double sweep_budget = 0;  // --sweep: new URLs over which the current sweep is spread
  const double kHashSpace = 9223372036854775808.0;
  const std::string key = seqid ? "hash" : "id";  // the levels' hash column
  auto move_range = [&](std::int64_t lo, std::int64_t hi) {  // [lo, hi] from mid to big
    const std::string where =
        " WHERE " + key + " BETWEEN " + std::to_string(lo) + " AND " + std::to_string(hi);
    exec(("INSERT INTO " + level_big + " SELECT * FROM " + level_mid + where + " ORDER BY " +
          key).c_str());
    exec(("DELETE FROM " + level_mid + where).c_str());
    const long moved = sqlite3_changes(g_db);
    mid_urls -= moved;
    big_urls += moved;
  };
  sqlite3_stmt* enqueue = prepare("INSERT INTO frontier(url_id, url, depth) VALUES(?, ?, 1)");
  auto prepare_for = [&](bool when, const std::string& sql) {
    return when ? prepare(sql.c_str()) : nullptr;
  };
  sqlite3_stmt* select_key_new = prepare_for(seqid, "SELECT id FROM " + level_new + " WHERE hash = ?");
  sqlite3_stmt* select_key_mid = prepare_for(seqid, "SELECT id FROM " + level_mid + " WHERE hash = ?");
  sqlite3_stmt* select_key_big = prepare_for(seqid, "SELECT id FROM " + level_big + " WHERE hash = ?");
  sqlite3_stmt* insert_key = prepare_for(seqid, "INSERT INTO " + level_new + " VALUES(?, ?)");
  std::int64_t next_id = 0;  // seqid: the last id given to a URL
  // seqid: the id stored under `hash` at `level`, or 0.
  auto key_at = [](sqlite3_stmt* level, std::int64_t hash) {
    sqlite3_bind_int64(level, 1, hash);
    std::int64_t id = 0;
    const int rc = sqlite3_step(level);
    if (rc == SQLITE_ROW) id = sqlite3_column_int64(level, 0);
    else if (rc != SQLITE_DONE) die("step");
    sqlite3_reset(level);
    return id;
  };

  std::mt19937_64 rng(1);
  auto random_id = [&] { return static_cast<std::int64_t>(rng() >> 1); };
  auto url_of = [](std::int64_t id) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "http://127.0.1.%d:8080/p/%lld", static_cast<int>(id % 100) + 10,
                  static_cast<long long>(id));
    return std::string(buf);
  };
  long urls = 0, pages = 0, pages_at_mark = 0, next_mark = target / 10;
  std::int64_t cursor = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> links;  // (to, from)
  auto add_url = [&](std::int64_t id, const std::string& url) {  // its urls and frontier rows
    sqlite3_bind_int64(insert_url, 1, id);
    sqlite3_bind_text(insert_url, 2, url.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_url, 3, url.c_str() + 7, static_cast<int>(url.find('/', 7) - 7),
                      SQLITE_TRANSIENT);
    step(insert_url);
    sqlite3_bind_int64(enqueue, 1, id);
    sqlite3_bind_text(enqueue, 2, url.c_str(), -1, SQLITE_TRANSIENT);
    step(enqueue);
    ++urls;
  };
  auto add_link = [&](std::int64_t to, std::int64_t from) {
    if (seqid) {  // `to` is the target's hash; look its id up, or give it the next one
      std::int64_t id = key_at(select_key_new, to);
      if (id == 0 && (no_bloom || bloom.may_contain(storage::BloomFilter::key_of_hash63(to)))) {
        id = key_at(select_key_mid, to);
        if (id == 0) id = key_at(select_key_big, to);
      }
      if (id == 0) {
        id = ++next_id;
        sqlite3_bind_int64(insert_key, 1, to);
        sqlite3_bind_int64(insert_key, 2, id);
        step(insert_key);
        ++staged_urls;
        add_url(id, url_of(to));
      }
      sqlite3_bind_int64(insert_edge, 1, from);
      sqlite3_bind_int64(insert_edge, 2, id);
      step(insert_edge);
      return;
    }
    sqlite3_bind_int64(insert_edge, 1, from);
    sqlite3_bind_int64(insert_edge, 2, to);
    step(insert_edge);
    if (staged) {
      sqlite3_bind_int64(select_new, 1, to);
      if (step(select_new)) return;
      if (bloom.may_contain(storage::BloomFilter::key_of_hash63(to))) {
        if (leveled) {
          sqlite3_bind_int64(select_mid, 1, to);
          if (step(select_mid)) return;
        }
        sqlite3_bind_int64(select_url, 1, to);
        if (step(select_url)) return;
      }
      ++staged_urls;
    } else {
      sqlite3_bind_int64(select_url, 1, to);
      if (step(select_url)) return;
    }
    add_url(to, url_of(to));
  };
  const auto start = std::chrono::steady_clock::now();
  auto mark = start;
  while (urls < target) {
    const long urls_before = urls;
    exec("BEGIN IMMEDIATE");
    for (int b = 0; b < batch; ++b) {
      sqlite3_bind_int64(next, 1, cursor);
      std::int64_t seq = 0, id = 0;
      if (sqlite3_step(next) == SQLITE_ROW) {
        seq = sqlite3_column_int64(next, 0);
        id = sqlite3_column_int64(next, 1);
      }
      sqlite3_reset(next);
      if (seq > 0) cursor = seq;
      if (id == 0) id = seqid ? ++next_id : random_id();  // the first page: a seed
      const std::string url = url_of(id);
      sqlite3_bind_int64(insert_page, 1, id);
      sqlite3_bind_text(insert_page, 2, url.c_str(), -1, SQLITE_TRANSIENT);
      step(insert_page);
      if (staged) {
        sqlite3_bind_int64(mark_done_new, 1, id);
        step(mark_done_new);
      }
      if (leveled && sqlite3_changes(g_db) == 0) {
        sqlite3_bind_int64(mark_done_mid, 1, id);
        step(mark_done_mid);
      }
      if (!staged || sqlite3_changes(g_db) == 0) {
        sqlite3_bind_int64(mark_done, 1, id);
        step(mark_done);
      }
      sqlite3_bind_int64(dequeue, 1, by_seq ? seq : id);
      step(dequeue);
      for (int l = 0; l < 100; ++l) {
        if (sorted) links.emplace_back(random_id(), id);
        else add_link(random_id(), id);
      }
      ++pages;
    }
    if (sorted) {
      std::sort(links.begin(), links.end());
      for (const auto& [to, from] : links) add_link(to, from);
      links.clear();
    }
    if ((staged || seqid) && staged_urls >= merge_urls) {
      // The merge: urls_new into urls in hash order (each leaf of urls written at most once),
      // in the same transaction, and the Bloom filter learns the merged ids.
      const auto t0 = std::chrono::steady_clock::now();
      sqlite3_stmt* ids = prepare(("SELECT " + key + " FROM " + level_new).c_str());
      while (sqlite3_step(ids) == SQLITE_ROW) {
        bloom.add(storage::BloomFilter::key_of_hash63(sqlite3_column_int64(ids, 0)));
      }
      sqlite3_finalize(ids);
      if (!leveled && !seqid) {
        exec("INSERT INTO urls SELECT * FROM urls_new ORDER BY id; DELETE FROM urls_new;");
      } else {
        exec(("INSERT INTO " + level_mid + " SELECT * FROM " + level_new + " ORDER BY " + key +
              "; DELETE FROM " + level_new).c_str());
        mid_urls += staged_urls;
        if (!sweep && static_cast<double>(mid_urls) >= level_ratio * static_cast<double>(big_urls)) {
          const auto t1 = std::chrono::steady_clock::now();
          exec(("INSERT INTO " + level_big + " SELECT * FROM " + level_mid + " ORDER BY " + key +
                "; DELETE FROM " + level_mid).c_str());
          big_merge_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
          ++big_merges;
          big_urls += mid_urls;
          mid_urls = 0;
        }
      }
      merge_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      staged_urls = 0;
    }
    if ((leveled || seqid) && sweep) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!sweeping && mid_urls > 0 &&
          static_cast<double>(mid_urls) >= level_ratio * static_cast<double>(big_urls)) {
        sweeping = true;
        sweep_at = 0;
        sweep_budget = std::max(static_cast<double>(merge_urls),
                                level_ratio * static_cast<double>(big_urls) / 2);
        ++big_merges;
      }
      if (sweeping) {
        const double end =
            sweep_at + kHashSpace * static_cast<double>(urls - urls_before) / sweep_budget;
        const auto lo = static_cast<std::int64_t>(sweep_at);
        if (end >= kHashSpace) {
          move_range(lo, INT64_MAX);
          sweeping = false;
        } else {
          move_range(lo, static_cast<std::int64_t>(end) - 1);
          sweep_at = static_cast<double>(static_cast<std::int64_t>(end));
        }
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      merge_s += s;
      big_merge_s += s;
    }
    exec("COMMIT");
    if (urls >= next_mark) {
      const auto now = std::chrono::steady_clock::now();
      const double s = std::chrono::duration<double>(now - mark).count();
      std::printf("%s batch %d%s: %ld urls: %.1f pages/s\n", layout.c_str(), batch,
                  sorted ? " sorted" : "", urls, static_cast<double>(pages - pages_at_mark) / s);
      std::fflush(stdout);
      mark = now;
      pages_at_mark = pages;
      next_mark += target / 10;
    }
  }
  std::printf("total %.1f s", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (staged || seqid) std::printf(", merges %.1f s", merge_s);
  if (leveled || seqid) std::printf(" (%d into urls, %.1f s)", big_merges, big_merge_s);
  std::printf("\n");
  return 0;
}
