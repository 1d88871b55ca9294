"""The SQLite store on its own: records, listing order, one writer, migration."""
from __future__ import annotations

import sqlite3

import pytest

from libnet.store import SQLiteStore, StoreInUseError, StoreRecord
from libnet.store.sqlite import SCHEMA_VERSION, WAL_CHECKPOINT_BYTES


def test_records_round_trip_in_creation_order(tmp_path):
    st = SQLiteStore(str(tmp_path))
    try:
        for name in ("b", "a", "c"):
            st.put(StoreRecord("network", f"id-{name}", name, {"n": name}))
        st.put(StoreRecord("endpoint", "e1", "web", {"x": [1, 2]}, parent="id-a"))
        # An update keeps the record's place; a delete removes only its kind's row.
        st.put(StoreRecord("network", "id-b", "b2", {"n": "b2"}))
        st.put(StoreRecord("sandbox", "id-a", "ctr", {}))
        st.delete("sandbox", "id-a")
        assert [(r.id, r.name) for r in st.list("network")] == [
            ("id-b", "b2"), ("id-a", "a"), ("id-c", "c")]
        assert st.get("endpoint", "e1") == StoreRecord("endpoint", "e1", "web", {"x": [1, 2]}, "id-a")
        assert st.get("network", "id-a").parent is None
        assert st.list("sandbox") == [] and st.get("sandbox", "id-a") is None
        with pytest.raises(ValueError):
            st.put(StoreRecord("volume", "v", "v", {}))
    finally:
        st.close()
    again = SQLiteStore(str(tmp_path))
    try:
        assert [r.id for r in again.list("network")] == ["id-b", "id-a", "id-c"]
        again.put(StoreRecord("network", "id-d", "d", {}))
        assert again.list("network")[-1].id == "id-d"      # after the restored ones
    finally:
        again.close()


def test_records_are_stored_as_compact_json(tmp_path):
    """No spaces after separators; anything JSON holds comes back equal,
    and a record an earlier libnet wrote with spaces still reads."""
    data = {"a": [1, 2.5, None, True], "b": {"c": "d e", "é": "ü"}, "f": []}
    st = SQLiteStore(str(tmp_path))
    try:
        st.put(StoreRecord("sandbox", "s1", "c1", data))
        (text,) = st._db.execute("SELECT data FROM record WHERE id = 's1'").fetchone()
        assert text == '{"a":[1,2.5,null,true],"b":{"c":"d e","\\u00e9":"\\u00fc"},"f":[]}'
        assert st.get("sandbox", "s1").data == data
        st._db.execute("UPDATE record SET data = ? WHERE id = 's1'", ('{"a": [1, 2]}',))
        assert st.get("sandbox", "s1").data == {"a": [1, 2]}
    finally:
        st.close()


def test_one_writer(tmp_path):
    st = SQLiteStore(str(tmp_path))
    try:
        with pytest.raises(StoreInUseError, match="in use by another libnet controller"):
            SQLiteStore(str(tmp_path))
        st.put(StoreRecord("network", "n", "n", {}))      # the holder is unaffected
    finally:
        st.close()
    SQLiteStore(str(tmp_path)).close()


def test_a_failed_transaction_changes_nothing(tmp_path):
    st = SQLiteStore(str(tmp_path))
    try:
        st.put(StoreRecord("network", "n1", "one", {}))
        with pytest.raises(RuntimeError):
            with st.transaction():
                st.delete("network", "n1")
                st.put(StoreRecord("network", "n2", "two", {}))
                raise RuntimeError("boom")
        assert [r.id for r in st.list("network")] == ["n1"]
    finally:
        st.close()


def test_schema_1_is_migrated(tmp_path):
    db = sqlite3.connect(tmp_path / "libnet.db")
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE network (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
        CREATE TABLE endpoint (id TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT NOT NULL,
                               data TEXT NOT NULL, UNIQUE (parent, name));
        CREATE TABLE sandbox (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        INSERT INTO network VALUES ('n2', 'second', '{"k": 2}');
        INSERT INTO network VALUES ('n1', 'first', '{"k": 1}');
        INSERT INTO endpoint VALUES ('e1', 'web', 'n1', '{}');
        INSERT INTO sandbox VALUES ('s1', 'ctr', '{"joined": ["e1"]}');
    """)
    db.close()
    st = SQLiteStore(str(tmp_path))
    try:
        assert [(r.id, r.name, r.data) for r in st.list("network")] == [
            ("n2", "second", {"k": 2}), ("n1", "first", {"k": 1})]
        assert st.list("endpoint") == [StoreRecord("endpoint", "e1", "web", {}, "n1")]
        assert st.list("sandbox") == [StoreRecord("sandbox", "s1", "ctr", {"joined": ["e1"]})]
        st.put(StoreRecord("network", "n3", "third", {}))
        assert st.list("network")[-1].id == "n3"
    finally:
        st.close()
    db = sqlite3.connect(tmp_path / "libnet.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "record"}
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_an_unknown_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "libnet.db")
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema', '99');")
    db.close()
    with pytest.raises(RuntimeError, match="schema 99"):
        SQLiteStore(str(tmp_path))


def test_option_records_leave_out_defaults():
    from libnet.options import (EndpointOptions, NetworkOptions, build, from_jsonable,
                                to_jsonable)
    opts = build(EndpointOptions, {"port_bindings": [
        {"proto": "tcp", "port": 80 + i, "host_port": 0} for i in range(4)],
        "aliases": ["web"], "priority": 3}, "endpoint")
    rec = to_jsonable(opts)
    assert set(rec) == {"port_bindings", "aliases", "priority"}
    assert rec["port_bindings"][0] == {"port": 80}              # tcp is the default
    assert from_jsonable(EndpointOptions, rec) == opts
    assert to_jsonable(build(EndpointOptions, {}, "endpoint")) == {}
    net = build(NetworkOptions, {"internal": True, "ipam": {"ipv4": [{"subnet": "10.1.0.0/24"}]}},
                "network")
    assert from_jsonable(NetworkOptions, to_jsonable(net)) == net


def test_delete_many_searches_by_key():
    """One primary-key search per record, never a scan of every record
    (its cost would grow with the containers on the host)."""
    from libnet.store.sqlite import _SCHEMA, _delete_many_sql
    db = sqlite3.connect(":memory:")
    db.executescript(_SCHEMA)
    for n in (1, 2, 5):
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _delete_many_sql(n),
                                             ["k", "i"] * n)]
        assert not any(step.startswith("SCAN") for step in plan), plan
        assert sum("USING PRIMARY KEY" in step for step in plan) == n, plan


def test_delete_many_is_one_statement(tmp_path):
    st = SQLiteStore(str(tmp_path))
    try:
        for i in range(3):
            st.put(StoreRecord("endpoint", f"e{i}", f"e{i}", {}, parent="n"))
        st.put(StoreRecord("sandbox", "s", "ctr", {}))
        seen = []
        st._db.set_trace_callback(seen.append)
        st.delete_many([("endpoint", "e0"), ("endpoint", "e2"), ("sandbox", "s"),
                        ("sandbox", "missing")])
        st._db.set_trace_callback(None)
        assert len(seen) == 1 and seen[0].startswith("DELETE")
        assert [r.id for r in st.list("endpoint")] == ["e1"] and st.list("sandbox") == []
        with pytest.raises(ValueError):
            st.delete_many([("volume", "v")])
        st.delete_many([])
    finally:
        st.close()


def test_checkpoint_interval(tmp_path):
    """A checkpoint comes every WAL_CHECKPOINT_BYTES of WAL, whatever the
    file's page size."""
    for page in (4096, 1024):
        d = tmp_path / str(page)
        d.mkdir()
        db = sqlite3.connect(d / "libnet.db")
        db.execute(f"PRAGMA page_size={page}")
        db.execute("CREATE TABLE t (x)")
        db.close()
        s = SQLiteStore(str(d))
        assert s._db.execute("PRAGMA page_size").fetchone()[0] == page
        assert s._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == \
            WAL_CHECKPOINT_BYTES // page
        s.put(StoreRecord("network", "n1", "a", {"x": 1}))
        assert s.get("network", "n1").data == {"x": 1}
        s.close()
    s = SQLiteStore(str(tmp_path / "new"))
    assert s._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_CHECKPOINT_BYTES // 4096
    s.close()
