"""One instance per data directory: the second is refused naming the holder; the lock
goes with its holder; a directory that cannot be written is named with the fix."""

from __future__ import annotations

import os

import pytest

from actors.runtime.persistence.data_dir_lock import (
    LOCK_FILE,
    DataDirLock,
    DataDirUnavailable,
    holder,
)


def test_a_second_claim_is_refused_naming_the_holder_until_the_first_lets_go(tmp_path):
    data = tmp_path / "data"
    with DataDirLock(data):
        assert (data / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        with pytest.raises(
            DataDirUnavailable, match=rf"in use by another basis instance \(process {os.getpid()}\)"
        ):
            DataDirLock(data)
    with DataDirLock(data):  # released with its holder
        pass


def test_a_data_dir_that_is_a_file_is_named_with_the_fix(tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("not a directory")
    with pytest.raises(DataDirUnavailable, match="give --data-dir"):
        DataDirLock(taken)


def test_the_holder_is_named_while_held_and_asking_leaves_the_lock_free(tmp_path):
    data = tmp_path / "data"
    assert holder(data) is None  # never used
    with DataDirLock(data):
        assert holder(data) == str(os.getpid())
    assert holder(data) is None
    with DataDirLock(data):  # asking took nothing away
        pass
