"""The sandbox's files: written whole, never seen half-written."""
from __future__ import annotations

import os

import pytest

from libnet.sandbox_files import (hosts_content, resolv_conf_content, write_atomic,
                                  write_new)


def test_write_new_creates_and_falls_back_to_an_atomic_replace(tmp_path):
    p = str(tmp_path / "hosts")
    write_new(p, "first\n")
    assert open(p).read() == "first\n" and oct(os.stat(p).st_mode & 0o777) == "0o644"
    inode = os.stat(p).st_ino
    write_new(p, "second\n")                      # a leftover: replaced, not appended
    assert open(p).read() == "second\n" and os.stat(p).st_ino != inode
    assert sorted(os.listdir(tmp_path)) == ["hosts"]


def test_write_atomic_replaces_the_file_a_reader_holds(tmp_path):
    p = str(tmp_path / "resolv.conf")
    write_atomic(p, "nameserver 192.0.2.1\n")
    with open(p) as reader:                       # a container's bind mount sees one or the other
        write_atomic(p, "nameserver 192.0.2.2\n")
        assert reader.read() == "nameserver 192.0.2.1\n"
    assert open(p).read() == "nameserver 192.0.2.2\n"
    assert sorted(os.listdir(tmp_path)) == ["resolv.conf"]


def test_write_new_into_a_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_new(str(tmp_path / "gone" / "hosts"), "x")
    assert os.listdir(tmp_path) == []


def test_contents():
    hosts = hosts_content("web", "example.org", ["10.0.0.2/24", "fd00::2/64"], ["www"],
                          [("db", "10.0.0.9")])
    assert "10.0.0.2\tweb.example.org web www\n" in hosts
    assert "fd00::2\tweb.example.org web www\n" in hosts
    assert hosts.endswith("10.0.0.9\tdb\n")
    assert resolv_conf_content(["192.0.2.53"], ["a.example"], ["ndots:2"]) == (
        "nameserver 192.0.2.53\nsearch a.example\noptions ndots:2\n")
