#!/usr/bin/env python3
"""wal_census.py: which tables and indexes the frames of a database's current WAL belong to.

Not run by bench/run. Maps every page number to its owner with SQLite's dbstat (on a
read-only connection, which never checkpoints), then reads DB-wal frame by frame, up to the
first frame of an older cycle of the log, and prints the frames per owner. Run beside a
crawl, it shows where the commits' writes go (docs/PERFORMANCE.md, "Where the WAL's bytes
go"):

  bench/wal_census.py DB

The map is read first and the log after it, while the crawl writes on: pages freed since
the map was read, or allocated after it, count as "(free or new)", and a few frames may be
attributed to a page's owner before or after it was freed and reused.
"""
import collections
import os
import sqlite3
import struct
import sys

WAL_HEADER = 32
FRAME_HEADER = 24


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.exit(__doc__)
    path = argv[1]
    if not os.path.exists(path + "-wal"):
        sys.exit("wal_census.py: %s-wal does not exist (no crawl is writing %s?)" % (path, path))
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        owner = dict((pageno, name) for name, pageno in
                     db.execute("SELECT name, pageno FROM dbstat"))
        db.close()
    except sqlite3.Error as e:
        sys.exit("wal_census.py: %s: %s" % (path, e))
    frames, pages = collections.Counter(), collections.defaultdict(set)
    commits = 0
    with open(path + "-wal", "rb") as wal:
        header = wal.read(WAL_HEADER)
        if len(header) < WAL_HEADER:
            sys.exit("wal_census.py: %s-wal has no header yet" % path)
        page_size = struct.unpack(">I", header[8:12])[0]
        salts = header[16:24]
        while True:
            frame = wal.read(FRAME_HEADER)
            if len(frame) < FRAME_HEADER or frame[8:16] != salts:
                break  # the end, or a frame of the log before it started over
            if len(wal.read(page_size)) < page_size:
                break  # a frame being written
            pageno, commit_size = struct.unpack(">II", frame[:8])
            name = owner.get(pageno, "(free or new)")
            frames[name] += 1
            pages[name].add(pageno)
            commits += commit_size != 0
    total = sum(frames.values())
    print("page size %d; %d frames (%.0f MiB) in %d commits" %
          (page_size, total, total * page_size / 2**20, commits))
    for name, n in frames.most_common():
        print("%-28s %8d frames %5.1f%%  %7d distinct pages" %
              (name, n, 100.0 * n / total, len(pages[name])))


if __name__ == "__main__":
    main(sys.argv)
