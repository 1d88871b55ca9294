"""Controller logic against recording stubs: a driver that records its calls
(and fails on demand) and the IPAM's RecordingIPAM.  No kernel work: the
sandboxes share the test process's namespace (use_host_netns) and the
stub driver configures no interface."""
from __future__ import annotations

from typing import Any, Mapping

import pytest

from libnet import Config, Controller
from libnet.drivers.api import Driver, EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo
from libnet.errors import ConflictError, ForbiddenError, UnavailableError
from libnet.firewall import RecordingFirewall
from libnet.ipam import RecordingIPAM


class Boom(RuntimeError):
    pass


class RecordingDriver(Driver):
    name = "rec"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_on: set[str] = set()
        self.gateway = "10.0.0.1"

    def _rec(self, what: str, ref: str) -> None:
        self.calls.append((what, ref))
        if what in self.fail_on:
            raise Boom(what)

    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        self._rec("create_network", nw.name)
        return {"made": nw.name}

    def delete_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> None:
        self._rec("delete_network", state["made"])

    def create_endpoint(self, nw, ep, state):
        self._rec("create_endpoint", ep.name)
        return {}

    def delete_endpoint(self, nw, ep, state):
        self._rec("delete_endpoint", ep.name)

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        self._rec("join", ep.name)
        return JoinInfo(gateway4=None if nw.options.internal else self.gateway, interface=False)

    def leave(self, nw, ep, sb, state, sandbox_going=False):
        self._rec("leave" + (" (sandbox going)" if sandbox_going else ""), ep.name)


@pytest.fixture
def env(tmp_path):
    drv = RecordingDriver()
    ipam = RecordingIPAM()
    cfg = Config(data_dir=str(tmp_path / "data"), run_dir=str(tmp_path / "run"),
                 resolv_conf_source="/dev/null")
    c = Controller(cfg, drivers={"rec": drv}, ipam_drivers={"rec": ipam},
                   firewall=RecordingFirewall())
    yield c, drv, ipam, cfg
    c.stop()


def net_opts(subnet="10.0.0.0/24", **kw):
    return {"ipam": {"driver": "rec", "ipv4": [{"subnet": subnet}]}, **kw}


def store_state(c):
    return [(r.kind, r.id, r.data) for k in ("network", "endpoint", "sandbox") for r in c.store.list(k)]


def test_network_failure_releases_pool_and_store(env):
    c, drv, ipam, _ = env
    drv.fail_on = {"create_network"}
    with pytest.raises(Boom):
        c.new_network("rec", "n", **net_opts())
    assert c.networks() == [] and store_state(c) == []
    assert [m for m, _ in ipam.calls] == ["request_pool", "release_pool"]
    drv.fail_on = set()
    assert c.new_network("rec", "n", **net_opts()).pools4[0].subnet.exploded == "10.0.0.0/24"


def test_endpoint_failure_releases_address(env):
    c, drv, ipam, _ = env
    net = c.new_network("rec", "n", **net_opts())
    drv.fail_on = {"create_endpoint"}
    before = store_state(c)
    with pytest.raises(Boom):
        net.create_endpoint("e")
    assert store_state(c) == before and net.endpoints() == []
    assert [m for m, _ in ipam.calls][-2:] == ["request_address", "release_address"]
    drv.fail_on = set()
    assert net.create_endpoint("e").ipv4 == "10.0.0.2/24"       # .2 was given back


def test_ipam_failure_on_nth_call_is_undone(env):
    c, drv, ipam, _ = env
    net = c.new_network("rec", "n", enable_ipv6=True,
                        ipam={"driver": "rec", "ipv4": [{"subnet": "10.0.0.0/24"}],
                              "ipv6": [{"subnet": "fd00::/64"}]})
    ipam.fail("request_address", Boom("no v6"), on_call=2)      # the IPv6 address
    with pytest.raises(Boom):
        net.create_endpoint("e")
    assert [m for m, _ in ipam.calls][-1] == "release_address"  # IPv4 given back
    assert net.create_endpoint("e2").ipv4 == "10.0.0.2/24"


def test_join_failure_leaves_nothing_joined(env):
    c, drv, ipam, _ = env
    net = c.new_network("rec", "n", **net_opts())
    ep = net.create_endpoint("e")
    sb = c.new_sandbox("c", use_host_netns=True)
    drv.fail_on = {"join"}
    before = store_state(c)
    with pytest.raises(Boom):
        ep.join(sb)
    assert ep.sandbox_id is None and sb.endpoints() == [] and store_state(c) == before


def test_gateway_follows_priority(env):
    c, drv, _, _ = env
    a = c.new_network("rec", "a", **net_opts("10.0.1.0/24"))
    b = c.new_network("rec", "b", **net_opts("10.0.2.0/24"))
    i = c.new_network("rec", "i", **net_opts("10.0.3.0/24", internal=True))
    sb = c.new_sandbox("c", use_host_netns=True)
    ea, eb, ei = a.create_endpoint("ea"), b.create_endpoint("eb"), i.create_endpoint("ei")
    ea.join(sb)
    assert sb.gateway_endpoint == ea.id
    ei.join(sb, priority=50)                     # no gateway: never the carrier
    assert sb.gateway_endpoint == ea.id
    eb.join(sb, priority=5)
    assert sb.gateway_endpoint == eb.id
    eb.leave(sb)
    assert sb.gateway_endpoint == ea.id


def test_rules_of_the_model(env):
    c, drv, _, _ = env
    net = c.new_network("rec", "n", **net_opts())
    with pytest.raises(ConflictError):
        c.new_network("rec", "n", **net_opts("10.9.0.0/24"))
    ep = net.create_endpoint("e")
    sb = c.new_sandbox("c", use_host_netns=True)
    with pytest.raises(ConflictError):
        c.new_sandbox("c", use_host_netns=True)
    ep.join(sb)
    ep2 = net.create_endpoint("e2")
    with pytest.raises(ForbiddenError):          # one endpoint per network per sandbox
        ep2.join(sb)
    with pytest.raises(ForbiddenError):
        ep.delete()
    ep.delete(force=True)                        # leaves, then deletes
    assert ("leave", "e") in drv.calls and ("delete_endpoint", "e") in drv.calls


def test_sandbox_delete_skips_per_link_teardown(env):
    c, drv, _, _ = env
    nets = [c.new_network("rec", f"n{k}", **net_opts(f"10.1.{k}.0/24")) for k in range(3)]
    sb = c.new_sandbox("c", use_host_netns=True)
    for n in nets:
        n.create_endpoint("e").join(sb)
    drv.calls.clear()
    sb.delete()
    # As libnetwork's Sandbox.Delete: each endpoint leaves and is deleted.
    assert drv.calls == [("leave (sandbox going)", "e"), ("delete_endpoint", "e")] * 3
    assert all(n.endpoints() == [] for n in nets)
    assert [r.kind for k in ("endpoint", "sandbox") for r in c.store.list(k)] == []


def test_restart_restores_through_injected_drivers(env):
    c, drv, ipam, cfg = env
    net = c.new_network("rec", "n", **net_opts())
    eps = [net.create_endpoint(f"e{k}") for k in range(3)]
    sb = c.new_sandbox("c", use_host_netns=True)
    eps[1].join(sb)
    c.stop()
    drv2 = RecordingDriver()
    c2 = Controller(cfg, drivers={"rec": drv2}, ipam_drivers={"rec": RecordingIPAM()},
                    firewall=RecordingFirewall())
    try:
        n2 = c2.network("n")
        assert n2.driver_state == {"made": "n"}
        assert [e.ipv4 for e in n2.endpoints()] == ["10.0.0.2/24", "10.0.0.3/24", "10.0.0.4/24"]
        assert n2.endpoint_by_name("e1").sandbox_id == c2.sandbox_by_container("c").id
    finally:
        c2.stop()


def test_pool_exhaustion_is_unavailable(env):
    c, _, _, _ = env
    net = c.new_network("rec", "tiny", **net_opts("10.0.0.0/30"))
    net.create_endpoint("only")
    with pytest.raises(UnavailableError):
        net.create_endpoint("none-left")


def test_sandbox_delete_keeps_an_endpoint_its_driver_would_not_delete(env):
    c, drv, ipam, _ = env
    net = c.new_network("rec", "n", **net_opts())
    ok, stuck = net.create_endpoint("ok"), net.create_endpoint("stuck")
    sb = c.new_sandbox("c", use_host_netns=True)
    ok.join(sb)
    c.new_network("rec", "m", **net_opts("10.0.1.0/24")).create_endpoint("x")
    stuck2 = c.network("m").endpoint_by_name("x")
    stuck2.join(sb)
    drv.fail_on = {"delete_endpoint"}
    with pytest.raises(Boom):
        sb.delete()
    # Every endpoint left; the ones whose driver failed stay, unjoined, and
    # say so in the store; the sandbox is gone either way.
    assert sb.deleted and c.store.list("sandbox") == []
    kept = {r.name: r.data for r in c.store.list("endpoint")}
    assert set(kept) == {"ok", "stuck", "x"}
    assert all(d.get("sandbox") is None for d in kept.values())
    assert ok.sandbox_id is None and not ok.deleted and stuck.sandbox_id is None
    drv.fail_on = set()
    ok.delete()
    assert sorted(r.name for r in c.store.list("endpoint")) == ["stuck", "x"]
