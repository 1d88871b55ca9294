"""libnet.netns: namespaces made, opened, entered and removed in-process."""
from __future__ import annotations

import os
import socket

import pytest

from libnet import _netlink as nl
from libnet import netns
from libnet.netlink import RouteSocket

from conftest import needs_root

pytestmark = needs_root


def _ns_id(path="/proc/thread-self/ns/net"):
    return os.stat(path).st_ino


def test_create_is_a_new_namespace_and_thread_is_restored(run_dir):
    before = _ns_id()
    ns = netns.create("alpha", run_dir)
    try:
        assert _ns_id() == before                      # the thread came back
        assert os.path.ismount(ns.path) or _ns_id(ns.path) != before
        assert _ns_id(ns.path) != before
        assert netns.list_netns(run_dir) == ["alpha"]
        with RouteSocket(ns) as r:
            assert [l.name for l in r.link_dump()] == ["lo"]
    finally:
        netns.delete(ns)
    assert netns.list_netns(run_dir) == []


def test_create_makes_the_run_dir_and_can_return_the_path_only(run_dir):
    deeper = os.path.join(run_dir, "a", "b")           # not there yet
    ns = netns.create("beta", deeper, keep_open=False)
    try:
        assert ns.closed and ns.path == os.path.join(deeper, "beta")
        assert _ns_id(ns.path) != _ns_id()             # mounted all the same
        with RouteSocket(ns.path) as r:
            assert [l.name for l in r.link_dump()] == ["lo"]
    finally:
        netns.delete(ns.path)
    assert netns.list_netns(deeper) == []


def test_create_duplicate_and_bad_names(run_dir):
    ns = netns.create("dup", run_dir)
    try:
        with pytest.raises(FileExistsError):
            netns.create("dup", run_dir)
        assert netns.list_netns(run_dir) == ["dup"]    # the failure left nothing
        for bad in ("", ".", "..", "a/b", "x" * 256):
            with pytest.raises(ValueError):
                netns.create(bad, run_dir)
        with pytest.raises(TypeError):
            netns.create(5, run_dir)
    finally:
        netns.delete(ns)


def test_make_with_an_fd_a_socket_and_the_loopback_up(run_dir):
    """netns.make: one call of the core makes the namespace and, inside it,
    what a sandbox needs first; the thread comes back."""
    before = _ns_id()
    path = os.path.join(run_dir, "made")
    ns_fd, sock_fd = netns.make(path, fd=True, route_socket=True, loopback_up=True)
    try:
        assert _ns_id() == before
        assert os.fstat(ns_fd).st_ino == _ns_id(path) != before
        with RouteSocket.over(nl.NetlinkSocket(fd=sock_fd)) as r:   # a socket inside
            (lo,) = r.link_dump()
            assert lo.name == "lo" and lo.flags & nl.IFF_UP
            r.link_add("made0", "bridge")
        with RouteSocket(path) as r:
            assert sorted(l.name for l in r.link_dump()) == ["lo", "made0"]
    finally:
        os.close(ns_fd)
        netns.delete(path)
    assert netns.make(path) == (-1, -1)              # nothing asked for: no descriptor
    with RouteSocket(path) as r:
        (lo,) = r.link_dump()
        assert not lo.flags & nl.IFF_UP
    netns.delete(path)


def test_make_refuses_a_taken_path_and_leaves_nothing(run_dir):
    path = os.path.join(run_dir, "taken")
    netns.make(path)
    try:
        fds = len(os.listdir("/proc/self/fd"))
        with pytest.raises(FileExistsError):
            netns.make(path, fd=True, route_socket=True, loopback_up=True)
        assert len(os.listdir("/proc/self/fd")) == fds and netns.list_netns(run_dir) == ["taken"]
    finally:
        netns.delete(path)
    blocker = os.path.join(run_dir, "file")
    open(blocker, "w").close()
    with pytest.raises(NotADirectoryError):       # its folder is a file
        netns.make(os.path.join(blocker, "x"), fd=True)
    assert netns.list_netns(run_dir) == ["file"]


def test_delete_is_idempotent(run_dir):
    ns = netns.create("gone", run_dir)
    path = ns.path
    netns.delete(ns)
    netns.delete("gone", run_dir)
    netns.delete(path)
    assert not os.path.exists(path)


def test_open_by_name_path_and_fd(run_dir):
    ns = netns.create("beta", run_dir)
    try:
        ino = _ns_id(ns.path)
        with netns.open_netns("beta", run_dir) as a:
            assert os.fstat(a.fileno()).st_ino == ino and a.name == "beta"
        with netns.open_netns(ns.path) as b:
            assert os.fstat(b.fileno()).st_ino == ino
        with netns.open_netns(ns.fileno()) as c:
            assert os.fstat(c.fileno()).st_ino == ino and c.fileno() != ns.fileno()
        with pytest.raises(FileNotFoundError):
            netns.open_netns("missing", run_dir)
        with pytest.raises(TypeError):
            netns.open_netns(3.5)
    finally:
        netns.delete(ns)


def test_enter_and_restore(run_dir):
    before = _ns_id()
    ns = netns.create("gamma", run_dir)
    try:
        with netns.enter(ns) as entered:
            assert _ns_id() == _ns_id(ns.path)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            assert entered.name == "gamma"
        assert _ns_id() == before
        # A socket opened inside stays in that namespace: lo is down there,
        # so binding to 127.0.0.1 works but the address belongs to gamma.
        with s:
            s.bind(("127.0.0.1", 0))
        with pytest.raises(RuntimeError):
            with netns.enter(ns):
                raise RuntimeError("boom")
        assert _ns_id() == before                      # restored on error too
    finally:
        netns.delete(ns)


def test_socket_bound_to_namespace_whatever_the_thread_does(run_dir):
    a = netns.create("a", run_dir)
    b = netns.create("b", run_dir)
    try:
        ra = RouteSocket(a)
        with netns.enter(b):
            ra.link_add("only-in-a", "bridge")         # goes to a, not b
        with RouteSocket(b) as rb:
            assert [l.name for l in rb.link_dump()] == ["lo"]
        assert "only-in-a" in [l.name for l in ra.link_dump()]
        ra.close()
    finally:
        netns.delete(a)
        netns.delete(b)


def test_default_run_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LIBNET_RUN_DIR", str(tmp_path))
    assert netns.default_run_dir() == str(tmp_path / "netns")
    ns = netns.create("envns")
    try:
        assert ns.path == str(tmp_path / "netns" / "envns")
    finally:
        netns.delete("envns")
