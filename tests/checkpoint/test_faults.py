"""A write that fails mid-batch (disk full, a read-only filesystem) fails the batch cleanly: the query stops
with the error, and the checkpoint stays valid, so a restart goes on and ends as an uninterrupted run."""

import errno
import os
import subprocess

import pytest

import stream_nb as sn

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a filesystem needs root")

SQL = "SELECT device, count(*) AS n, sum(temp) AS total FROM events GROUP BY device"


def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def events():
    source = sn.sources.memory("device string, temp double")
    return source


def feed(events, batch):
    events.add_data([{"device": f"device-{batch}-{i}", "temp": float(i)} for i in range(300)])


def uninterrupted(events):
    q = sn.start(SQL, sources={"events": events}, output_mode="complete", trigger="manual")
    q.process_all_available()
    return q.result.sort_values("device").reset_index(drop=True)


def test_disk_full_fails_the_batch_and_leaves_the_checkpoint_valid(events, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    mount("-t", "tmpfs", "-o", "size=96k", "tmpfs", str(small))
    try:
        q = sn.start(SQL, sources={"events": events}, checkpoint=small / "cp", output_mode="complete",
                     trigger="manual")
        with pytest.raises(sn.StreamingQueryException, match="No space left on device") as failed:
            for batch in range(200):
                feed(events, batch)
                q.step()
        assert failed.value.__cause__.errno == errno.ENOSPC and not q.is_active
        assert f"No space left on device: '{small / 'cp'}/" in str(failed.value)  # case 17: it names the file
        assert not [p for p in (small / "cp").rglob("*") if p.name.endswith(".tmp")]  # no half-written file
        mount("-o", "remount,size=64m", str(small))
        again = sn.start(SQL, sources={"events": events}, checkpoint=small / "cp", output_mode="complete",
                         trigger="manual")
        again.process_all_available()
        assert again.result.sort_values("device").reset_index(drop=True).equals(uninterrupted(events))
        again.stop()
    finally:
        sn.stop_all()
        subprocess.run(["umount", "--lazy", str(small)], check=False)  # detached even if a file is still open


def test_a_filesystem_turned_read_only_fails_the_batch_and_leaves_the_checkpoint_valid(events, tmp_path):
    cp = tmp_path / "cp"
    q = sn.start(SQL, sources={"events": events}, checkpoint=cp, output_mode="complete", trigger="manual")
    feed(events, 0)
    q.step()
    mount("--bind", str(cp), str(cp))
    try:
        mount("-o", "remount,ro,bind", str(cp))
        feed(events, 1)
        with pytest.raises(sn.StreamingQueryException, match="Read-only file system"):
            q.step()
        assert not q.is_active
    finally:
        subprocess.run(["umount", "--lazy", str(cp)], check=False)
    again = sn.start(SQL, sources={"events": events}, checkpoint=cp, output_mode="complete", trigger="manual")
    again.process_all_available()
    assert again.last_progress["batchId"] == 1
    assert again.result.sort_values("device").reset_index(drop=True).equals(uninterrupted(events))
