"""Finding new files cheaply (issue 12 case 13): an idle files source lists no directory and stats no seen file."""

import os
import sys
import time

from stream_nb import sources

SCHEMA = "device string"
_listings = []


def _audit(event, args):
    if event in ("os.scandir", "os.listdir") and isinstance(args[0], str):
        _listings.append(args[0])


sys.addaudithook(_audit)  # observes the real calls; an audit hook cannot be removed, so it only appends


def listings_during(poll):
    """The directories listed while ``poll()`` ran, and what it returned."""
    del _listings[:]
    result = poll()
    return list(_listings), result


def write(folder, name, text="device\na\n"):
    path = folder / name
    path.write_text(text)
    return str(path)


def settle(folder):
    """The directory last changed 10 s ago: past the window where a listing cannot trust its mtime."""
    past = time.time() - 10
    os.utime(folder, (past, past))


def test_files_idle_poll_lists_no_directory_once_it_has_settled(tmp_path):
    for i in range(50):
        write(tmp_path, f"{i:03d}.csv")
    src = sources.files(tmp_path, schema=SCHEMA)
    settle(tmp_path)
    listed, latest = listings_during(src.latest_offset)
    assert latest == 50 and listed == [str(tmp_path)]
    for _ in range(3):
        assert listings_during(src.latest_offset) == ([], 50)


def test_files_new_file_in_a_settled_directory_is_found_at_the_next_poll(tmp_path):
    write(tmp_path, "a.csv")
    src = sources.files(tmp_path, schema=SCHEMA)
    settle(tmp_path)
    assert src.latest_offset() == 1
    b = write(tmp_path, "b.csv")  # moves the directory's mtime
    assert src.latest_offset() == 2 and src.seen_files[1] == b


def test_files_file_added_within_the_mtime_tick_of_a_listing_is_still_found(tmp_path):
    """A coarse mtime clock can leave the mtime unchanged by a file added just after a listing: a directory
    that changed less than a second before its listing is listed again until it is still."""
    write(tmp_path, "a.csv")
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 1
    stamp = os.stat(tmp_path).st_mtime_ns
    write(tmp_path, "b.csv")
    os.utime(tmp_path, ns=(stamp, stamp))  # as if b.csv landed in the same tick
    assert src.latest_offset() == 2


def test_files_glob_over_directories_lists_only_the_one_that_changed(tmp_path):
    for day in ("day-1", "day-2"):
        (tmp_path / day).mkdir()
        write(tmp_path / day, "a.csv")
        settle(tmp_path / day)
    settle(tmp_path)
    src = sources.files(tmp_path / "day-*", schema=SCHEMA)
    assert src.latest_offset() == 2
    write(tmp_path / "day-2", "b.csv")
    listed, latest = listings_during(src.latest_offset)
    assert latest == 3 and listed == [str(tmp_path / "day-2")]
    (tmp_path / "day-3").mkdir()
    write(tmp_path / "day-3", "a.csv")
    assert src.latest_offset() == 4


def test_files_restored_seen_files_list_the_directory_again(tmp_path):
    write(tmp_path, "a.csv")
    write(tmp_path, "b.csv")
    settle(tmp_path)
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 2
    src.seen_files = src.seen_files[:1]  # as a checkpoint restore would: b.csv was never in a batch
    assert src.latest_offset() == 2


def test_files_directory_whose_mtime_lies_is_still_listed_again_after_a_while(tmp_path, monkeypatch):
    """A network mount may keep a stale mtime: every directory is listed again after RELIST_NS regardless."""
    from stream_nb.sources import listing

    write(tmp_path, "a.csv")
    settle(tmp_path)
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 1
    stale = os.stat(tmp_path).st_mtime_ns
    write(tmp_path, "b.csv")
    os.utime(tmp_path, ns=(stale, stale))
    assert src.latest_offset() == 1  # within RELIST_NS the (stale) mtime is trusted
    monkeypatch.setattr(listing, "RELIST_NS", 0)  # as if RELIST_NS had passed
    assert src.latest_offset() == 2
