"""The default and null IPAM drivers: pure tests, no kernel."""

from __future__ import annotations

import ipaddress
import json
import threading
from contextlib import contextmanager

import pytest

from libnet.ipam import (
    AddressInUseError,
    AddressOutOfRangeError,
    AddressRequest,
    DefaultIPAM,
    IPAMConfig,
    IPAMConflictError,
    IPAMDriver,
    IPAMError,
    IPAMInvalidParameterError,
    IPAMNotFoundError,
    IPAMRegistry,
    IPAMUnavailableError,
    NoMoreSubnetsError,
    NullIPAM,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
    PoolRequest,
    PoolSpec,
    RecordingIPAM,
)

ip = ipaddress.ip_address
net = ipaddress.ip_network


@contextmanager
def unchanged(ipam, exc):
    """The block raises ``exc`` and leaves the driver's state as it was."""
    before = json.dumps(ipam.export_state(), sort_keys=True)
    with pytest.raises(exc) as info:
        yield info
    assert json.dumps(ipam.export_state(), sort_keys=True) == before


def alloc(ipam, pool_id, address=None, serial=None):
    return ipam.request_address(AddressRequest(pool_id, address, serial)).address


# -- errors ---------------------------------------------------------------


def test_error_categories_inherit_builtins():
    assert issubclass(PoolNotFoundError, LookupError)
    assert issubclass(IPAMInvalidParameterError, ValueError)
    assert issubclass(AddressOutOfRangeError, ValueError)
    assert issubclass(PoolOverlapError, IPAMConflictError)
    assert issubclass(AddressInUseError, IPAMConflictError)
    assert issubclass(PoolExhaustedError, IPAMUnavailableError)
    assert issubclass(NoMoreSubnetsError, IPAMUnavailableError)
    cats = {c.category for c in (IPAMNotFoundError, IPAMConflictError,
                                 IPAMInvalidParameterError, IPAMUnavailableError)}
    assert cats == {"not_found", "conflict", "invalid_parameter", "unavailable"}


# -- default pools --------------------------------------------------------


def test_default_local_pools_follow_docker():
    ipam = DefaultIPAM()
    got = [str(ipam.request_pool(PoolRequest()).subnet) for _ in range(17)]
    assert got[0] == "172.17.0.0/16"
    assert got[14] == "172.31.0.0/16"
    assert got[15:] == ["192.168.0.0/20", "192.168.16.0/20"]
    assert ipam.get_pool("local/172.17.0.0/16").gateway == ip("172.17.0.1")


def test_default_global_pool_is_ten_slash_eight_in_24s():
    ipam = DefaultIPAM()
    a = ipam.request_pool(PoolRequest(address_space="global"))
    b = ipam.request_pool(PoolRequest(address_space="global"))
    assert (a.id, b.id) == ("global/10.0.0.0/24", "global/10.0.1.0/24")
    # Spaces are independent: a local 10.0.0.0/24 does not clash with global.
    ipam.request_pool(PoolRequest(subnet="10.0.0.0/24"))


def test_predefined_skips_allocated_and_excluded():
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="172.17.128.0/24"))  # inside the first block
    p = ipam.request_pool(PoolRequest(exclude=("172.18.0.0/15", "10.0.0.0/8")))
    assert str(p.subnet) == "172.20.0.0/16"
    p = ipam.request_pool(PoolRequest())
    assert str(p.subnet) == "172.18.0.0/16"  # excludes applied to that request only


def test_predefined_fills_holes_between_pools():
    ipam = DefaultIPAM(IPAMConfig(local_pools=[{"base": "10.10.0.0/16", "size": 24}]))
    ids = [ipam.request_pool(PoolRequest()).id for _ in range(3)]
    assert ids == ["local/10.10.0.0/24", "local/10.10.1.0/24", "local/10.10.2.0/24"]
    ipam.release_pool("local/10.10.1.0/24")
    assert ipam.request_pool(PoolRequest()).id == "local/10.10.1.0/24"
    # An explicit /23 straddling the next two /24s is skipped over whole.
    ipam.request_pool(PoolRequest(subnet="10.10.4.0/23"))
    assert ipam.request_pool(PoolRequest()).id == "local/10.10.3.0/24"
    assert ipam.request_pool(PoolRequest()).id == "local/10.10.6.0/24"


def test_predefined_with_prefix_len():
    ipam = DefaultIPAM(IPAMConfig(local_pools=[PoolSpec("10.20.0.0/16", 24)]))
    assert str(ipam.request_pool(PoolRequest(prefix_len=26)).subnet) == "10.20.0.0/26"
    assert str(ipam.request_pool(PoolRequest(prefix_len=26)).subnet) == "10.20.0.64/26"
    assert str(ipam.request_pool(PoolRequest()).subnet) == "10.20.1.0/24"
    with unchanged(ipam, NoMoreSubnetsError):
        ipam.request_pool(PoolRequest(prefix_len=12))  # larger than the base


def test_predefined_exhaustion_is_unavailable_and_changes_nothing():
    ipam = DefaultIPAM(IPAMConfig(local_pools=[{"base": "10.30.0.0/23", "size": 24}]))
    ipam.request_pool(PoolRequest())
    ipam.request_pool(PoolRequest())
    with unchanged(ipam, NoMoreSubnetsError) as info:
        ipam.request_pool(PoolRequest())
    assert "no predefined IPv4 subnet" in str(info.value)


def test_config_validation():
    with pytest.raises(IPAMInvalidParameterError, match="between"):
        PoolSpec("10.0.0.0/16", 8)
    with pytest.raises(IPAMInvalidParameterError, match="unknown key"):
        IPAMConfig(local_pools=[{"base": "10.0.0.0/8", "size": 24, "sise": 1}])
    with pytest.raises(IPAMInvalidParameterError, match="host bits"):
        IPAMConfig(local_pools=[{"base": "10.0.0.1/8", "size": 24}])
    cfg = IPAMConfig(local_pools=[{"base": "10.0.0.0/8", "size": 24}])
    assert cfg.to_dict()["local_pools"] == [{"base": "10.0.0.0/8", "size": 24}]


# -- explicit subnets and overlaps ------------------------------------------


@pytest.mark.parametrize("subnet", ["10.1.0.0/16", "10.1.2.0/24", "10.0.0.0/8", "10.1.255.255/32"])
def test_explicit_subnet_overlap_refused(subnet):
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="10.1.0.0/16"))
    with unchanged(ipam, PoolOverlapError) as info:
        ipam.request_pool(PoolRequest(subnet=subnet))
    assert "overlaps pool local/10.1.0.0/16" in str(info.value)


def test_adjacent_subnets_do_not_overlap():
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="10.1.0.0/24"))
    ipam.request_pool(PoolRequest(subnet="10.1.1.0/24"))
    ipam.request_pool(PoolRequest(subnet="10.0.255.0/24"))
    assert len(list(ipam.pools())) == 3


@pytest.mark.parametrize("bad", ["10.0.0.0", "10.0.0.0/33", "10.0.0.1/24", "nonsense/8", "fd00::1/64"])
def test_invalid_cidr(bad):
    with pytest.raises(IPAMInvalidParameterError) as info:
        PoolRequest(subnet=bad)
    assert repr(bad) in str(info.value)


def test_request_validation_at_the_boundary():
    with pytest.raises(IPAMInvalidParameterError, match="address space"):
        PoolRequest(address_space="bogus")
    with pytest.raises(IPAMInvalidParameterError, match="needs an explicit subnet"):
        PoolRequest(ip_range="10.0.0.0/24")
    with pytest.raises(IPAMInvalidParameterError, match="needs an explicit subnet"):
        PoolRequest(gateway="10.0.0.1")
    with pytest.raises(IPAMInvalidParameterError, match="aux address"):
        PoolRequest(subnet="10.0.0.0/24", aux_addresses={"r": "10.0.0.999"})
    with pytest.raises(IPAMInvalidParameterError, match="10.0.0.300"):
        AddressRequest("local/10.0.0.0/24", "10.0.0.300")
    with pytest.raises(IPAMInvalidParameterError):
        AddressRequest("")


def test_release_pool_and_unknown_pool():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.5.0.0/24"))
    ipam.release_pool(p.id)
    with pytest.raises(PoolNotFoundError, match="10.5.0.0/24"):
        ipam.release_pool(p.id)
    with pytest.raises(LookupError):
        ipam.request_address(AddressRequest(p.id))
    with pytest.raises(LookupError):
        ipam.usage(p.id)
    # Released subnet can be taken again.
    assert ipam.request_pool(PoolRequest(subnet="10.5.0.0/24")).id == p.id


# -- gateway, aux, ip-range ---------------------------------------------------


def test_gateway_default_explicit_and_none():
    ipam = DefaultIPAM()
    assert ipam.request_pool(PoolRequest(subnet="10.0.0.0/24")).gateway == ip("10.0.0.1")
    p = ipam.request_pool(PoolRequest(subnet="10.0.1.0/24", gateway="10.0.1.254"))
    assert p.gateway == ip("10.0.1.254")
    assert alloc(ipam, p.id) == ip("10.0.1.1")
    p = ipam.request_pool(PoolRequest(subnet="10.0.2.0/24", allocate_gateway=False))
    assert p.gateway is None
    assert alloc(ipam, p.id) == ip("10.0.2.1")


@pytest.mark.parametrize(
    ("gateway", "exc", "text"),
    [
        ("10.0.1.1", AddressOutOfRangeError, "gateway 10.0.1.1 is not in subnet 10.0.0.0/24"),
        ("10.0.0.0", AddressOutOfRangeError, "network address"),
        ("10.0.0.255", AddressOutOfRangeError, "broadcast address"),
        ("fd00::1", AddressOutOfRangeError, "not in subnet"),
    ],
)
def test_bad_gateway_refused_and_changes_nothing(gateway, exc, text):
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="192.168.50.0/24"))
    with unchanged(ipam, exc) as info:
        ipam.request_pool(PoolRequest(subnet="10.0.0.0/24", gateway=gateway))
    assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_aux_addresses_reserved_and_checked():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(
        subnet="10.0.0.0/29", aux_addresses={"router": "10.0.0.1", "dns": "10.0.0.3"}))
    assert p.aux == {"dns": ip("10.0.0.3"), "router": ip("10.0.0.1")}
    assert p.gateway == ip("10.0.0.2")  # first usable address not reserved as aux
    assert [alloc(ipam, p.id) for _ in range(3)] == [ip("10.0.0.4"), ip("10.0.0.5"), ip("10.0.0.6")]
    with unchanged(ipam, PoolExhaustedError):
        alloc(ipam, p.id)
    with unchanged(ipam, AddressInUseError) as info:
        alloc(ipam, p.id, "10.0.0.3")
    assert "aux address 'dns'" in str(info.value)
    with unchanged(ipam, IPAMConflictError) as info:
        ipam.release_address(p.id, "10.0.0.1")
    assert "released with the pool" in str(info.value)
    with unchanged(ipam, IPAMConflictError):
        ipam.release_address(p.id, "10.0.0.2")  # the gateway


@pytest.mark.parametrize(
    ("kwargs", "exc", "text"),
    [
        ({"aux_addresses": {"r": "10.9.0.1"}}, AddressOutOfRangeError, "aux address 'r' 10.9.0.1 is not in"),
        ({"aux_addresses": {"r": "10.0.0.5", "s": "10.0.0.5"}}, AddressInUseError, "is also aux address"),
        ({"aux_addresses": {"r": "10.0.0.5"}, "gateway": "10.0.0.5"}, AddressInUseError, "gateway 10.0.0.5"),
        ({"ip_range": "10.0.1.0/25"}, IPAMInvalidParameterError, "not inside subnet"),
        ({"ip_range": "10.0.0.0/32"}, IPAMInvalidParameterError, "no usable address"),
        ({"ip_range": "fd00::/64"}, IPAMInvalidParameterError, "not inside subnet"),
    ],
)
def test_bad_pool_requests_change_nothing(kwargs, exc, text):
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="10.1.0.0/24"))
    with unchanged(ipam, exc) as info:
        ipam.request_pool(PoolRequest(subnet="10.0.0.0/24", **kwargs))
    assert text in str(info.value)


def test_ip_range_limits_dynamic_not_static():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24", ip_range="10.0.0.128/30"))
    assert p.gateway == ip("10.0.0.1")  # the subnet's first address, as Docker
    assert str(p.ip_range) == "10.0.0.128/30"
    got = [alloc(ipam, p.id) for _ in range(4)]
    assert got == [ip(f"10.0.0.{n}") for n in (128, 129, 130, 131)]
    with unchanged(ipam, PoolExhaustedError) as info:
        alloc(ipam, p.id)
    assert "10.0.0.128/30" in str(info.value)
    # Static addresses may lie anywhere in the subnet, as in Docker.
    assert alloc(ipam, p.id, "10.0.0.50") == ip("10.0.0.50")
    u = ipam.usage(p.id)
    assert (u.total, u.allocated, u.free) == (254, 6, 248)
    assert (u.dynamic_total, u.dynamic_allocated, u.dynamic_free) == (4, 4, 0)
    ipam.release_address(p.id, "10.0.0.130")
    assert alloc(ipam, p.id) == ip("10.0.0.130")


def test_ip_range_equal_to_subnet_is_no_range():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24", ip_range="10.0.0.0/24"))
    assert p.ip_range is None


# -- addresses -----------------------------------------------------------------


def test_slash_30_exhausted_after_two_with_gateway():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/30"))
    assert p.gateway == ip("10.0.0.1")
    assert alloc(ipam, p.id) == ip("10.0.0.2")
    with unchanged(ipam, PoolExhaustedError) as info:
        alloc(ipam, p.id)
    assert "pool local/10.0.0.0/30 is exhausted" in str(info.value)
    assert isinstance(info.value, IPAMUnavailableError)


def test_slash_31_and_32_use_every_address():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/31", allocate_gateway=False))
    assert [alloc(ipam, p.id) for _ in range(2)] == [ip("10.0.0.0"), ip("10.0.0.1")]
    p = ipam.request_pool(PoolRequest(subnet="10.0.1.7/32"))
    assert p.gateway == ip("10.0.1.7")
    with pytest.raises(PoolExhaustedError):
        alloc(ipam, p.id)


def test_static_addresses():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    assert alloc(ipam, p.id, "10.0.0.9") == ip("10.0.0.9")
    with unchanged(ipam, AddressInUseError) as info:
        alloc(ipam, p.id, "10.0.0.9")
    assert str(info.value) == "address 10.0.0.9 is already allocated in pool local/10.0.0.0/24"
    with unchanged(ipam, AddressInUseError) as info:
        alloc(ipam, p.id, "10.0.0.1")
    assert "(the gateway)" in str(info.value)
    with unchanged(ipam, AddressOutOfRangeError) as info:
        alloc(ipam, p.id, "10.0.1.9")
    assert str(info.value) == "address 10.0.1.9 is not in subnet 10.0.0.0/24 of pool local/10.0.0.0/24"
    with unchanged(ipam, AddressOutOfRangeError):
        alloc(ipam, p.id, "10.0.0.255")
    with unchanged(ipam, AddressOutOfRangeError):
        alloc(ipam, p.id, "::1")
    # Dynamic allocation skips the static one.
    assert [alloc(ipam, p.id) for _ in range(8)][-1] == ip("10.0.0.10")


def test_first_free_reuses_lowest_released():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    got = [alloc(ipam, p.id) for _ in range(10)]
    assert got[0] == ip("10.0.0.2") and got[-1] == ip("10.0.0.11")
    assert ipam.release_address(p.id, "10.0.0.5") is True
    assert ipam.release_address(p.id, "10.0.0.3") is True
    assert alloc(ipam, p.id) == ip("10.0.0.3")
    assert alloc(ipam, p.id) == ip("10.0.0.5")
    assert alloc(ipam, p.id) == ip("10.0.0.12")


def test_serial_continues_after_last_and_wraps():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/29", serial=True))
    assert [alloc(ipam, p.id) for _ in range(3)] == [ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.4")]
    ipam.release_address(p.id, "10.0.0.3")
    assert alloc(ipam, p.id) == ip("10.0.0.5")  # not the released .3
    assert alloc(ipam, p.id) == ip("10.0.0.6")
    assert alloc(ipam, p.id) == ip("10.0.0.3")  # wrapped
    with pytest.raises(PoolExhaustedError):
        alloc(ipam, p.id)
    ipam.release_address(p.id, "10.0.0.2")
    ipam.release_address(p.id, "10.0.0.6")
    assert alloc(ipam, p.id) == ip("10.0.0.6")
    assert alloc(ipam, p.id) == ip("10.0.0.2")


def test_serial_wraps_from_the_middle():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/29", serial=True))
    assert [alloc(ipam, p.id) for _ in range(3)][-1] == ip("10.0.0.4")  # cursor at .5
    alloc(ipam, p.id, "10.0.0.5")
    alloc(ipam, p.id, "10.0.0.6")
    ipam.release_address(p.id, "10.0.0.2")
    assert alloc(ipam, p.id) == ip("10.0.0.2")  # nothing free after .4: wrap to the start


def test_serial_per_request_override():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    for _ in range(4):
        alloc(ipam, p.id)  # .2 .. .5
    ipam.release_address(p.id, "10.0.0.3")
    assert alloc(ipam, p.id, serial=True) == ip("10.0.0.6")
    assert alloc(ipam, p.id) == ip("10.0.0.3")


def test_release_is_idempotent_but_checks_range():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    a = alloc(ipam, p.id)
    assert ipam.release_address(p.id, a) is True
    assert ipam.release_address(p.id, str(a)) is False
    with unchanged(ipam, AddressOutOfRangeError):
        ipam.release_address(p.id, "10.9.9.9")
    with unchanged(ipam, PoolNotFoundError):
        ipam.release_address("local/10.9.0.0/24", "10.9.0.2")


def test_usage_counts():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/16"))
    u = ipam.usage(p.id)
    assert (u.total, u.allocated, u.free) == (65534, 1, 65533)
    for _ in range(100):
        alloc(ipam, p.id)
    u = ipam.usage(p.id)
    assert (u.allocated, u.free, u.dynamic_free) == (101, 65433, 65433)
    assert ipam.allocated(p.id)[:3] == [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")]
    assert ipam.is_allocated(p.id, "10.0.0.101")
    assert not ipam.is_allocated(p.id, "10.0.0.102")


# -- IPv6 ---------------------------------------------------------------------


def test_ipv6_slash_64_is_sparse():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="fd12:3456::/64"))
    assert p.v6 and p.gateway == ip("fd12:3456::1")
    assert alloc(ipam, p.id) == ip("fd12:3456::2")
    top = "fd12:3456::ffff:ffff:ffff:ffff"
    assert alloc(ipam, p.id, top) == ip(top)  # no broadcast in IPv6
    with unchanged(ipam, AddressOutOfRangeError) as info:
        alloc(ipam, p.id, "fd12:3456::")
    assert "subnet-router anycast" in str(info.value)
    u = ipam.usage(p.id)
    assert u.total == 2**64 - 1 and u.allocated == 3
    bitmap = ipam._pools[p.id]._bitmap
    assert sum(len(level) for level in bitmap._levels) <= 2 * 11  # words, not 2**64 bits
    state = ipam.export_state()["pools"][0]
    assert state["allocated"] == ["fd12:3456::1-fd12:3456::2", top]


def test_ipv6_dynamic_pool_and_range():
    ipam = DefaultIPAM()
    a = ipam.request_pool(PoolRequest(v6=True))
    b = ipam.request_pool(PoolRequest(v6=True))
    assert (str(a.subnet), str(b.subnet)) == ("fd00::/64", "fd00:0:0:1::/64")
    p = ipam.request_pool(PoolRequest(subnet="2001:db8::/48", ip_range="2001:db8:0:5::/64"))
    assert p.gateway == ip("2001:db8::1")
    assert alloc(ipam, p.id) == ip("2001:db8:0:5::")
    assert ipam.usage(p.id).dynamic_total == 2**64


def test_v4_and_v6_pools_do_not_collide():
    ipam = DefaultIPAM()
    ipam.request_pool(PoolRequest(subnet="10.0.0.0/8"))
    ipam.request_pool(PoolRequest(subnet="::/0", allocate_gateway=False))
    assert len(list(ipam.pools())) == 2


# -- state -----------------------------------------------------------------------


def _busy_ipam():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/24", aux_addresses={"r": "10.0.0.200"}))
    s = ipam.request_pool(PoolRequest(subnet="10.1.0.0/24", ip_range="10.1.0.64/26", serial=True))
    v6 = ipam.request_pool(PoolRequest(v6=True))
    for _ in range(20):
        alloc(ipam, p.id)
        alloc(ipam, s.id)
        alloc(ipam, v6.id)
    for n in (3, 7, 8, 15):
        ipam.release_address(p.id, f"10.0.0.{n}")
        ipam.release_address(s.id, f"10.1.0.{60 + n}")
    alloc(ipam, p.id, "10.0.0.250")
    return ipam, (p.id, s.id, v6.id)


def test_state_round_trip_gives_same_next_addresses():
    ipam, ids = _busy_ipam()
    state = json.loads(json.dumps(ipam.export_state()))
    restored = DefaultIPAM.from_state(state)
    assert restored.export_state() == ipam.export_state()
    assert list(restored.pools()) == list(ipam.pools())
    for pool_id in ids:
        assert restored.usage(pool_id) == ipam.usage(pool_id)
        for serial in (None, True, False):
            assert alloc(restored, pool_id, serial=serial) == alloc(ipam, pool_id, serial=serial)


def test_per_pool_export_import():
    ipam, ids = _busy_ipam()
    other = DefaultIPAM()
    for pool_id in ids:
        other.import_pool(json.loads(json.dumps(ipam.export_pool(pool_id))))
    assert other.export_state() == ipam.export_state()
    with unchanged(other, PoolOverlapError):
        other.import_pool(ipam.export_pool(ids[0]))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s["pools"][0].update(subnet="10.0.0.0/33"),
        lambda s: s["pools"][0].update(allocated=["10.0.0.2-10.0.0.9"]),  # gateway not allocated
        lambda s: s["pools"][0].update(allocated=["10.0.0.1", "10.9.0.1"]),
        lambda s: s["pools"][0].update(cursor="10.0.0.255"),
        lambda s: s["pools"][0].update(version=99),
        lambda s: s["pools"][0].pop("gateway"),
        lambda s: s["pools"][1].update(subnet="10.0.0.0/25", id="local/10.0.0.0/25"),
        lambda s: s["pools"][1].update(id="local/whatever"),
        lambda s: s.update(driver="null"),
    ],
)
def test_restore_refuses_bad_state_and_changes_nothing(corrupt):
    ipam, _ = _busy_ipam()
    state = json.loads(json.dumps(ipam.export_state()))
    corrupt(state)
    target = DefaultIPAM()
    target.request_pool(PoolRequest(subnet="192.168.9.0/24"))
    with unchanged(target, IPAMError):
        target.restore_state(state)


# -- null IPAM and registry ----------------------------------------------------------


def test_null_ipam():
    null = NullIPAM()
    p = null.request_pool(PoolRequest())
    assert str(p.subnet) == "0.0.0.0/0" and p.gateway is None
    p6 = null.request_pool(PoolRequest(v6=True))
    assert str(p6.subnet) == "::/0"
    assert null.request_address(AddressRequest(p.id)) is None
    with pytest.raises(IPAMInvalidParameterError):
        null.request_address(AddressRequest(p.id, "10.0.0.1"))
    with pytest.raises(IPAMInvalidParameterError):
        null.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    restored = NullIPAM()
    restored.restore_state(json.loads(json.dumps(null.export_state())))
    assert list(restored.pools()) == list(null.pools())
    null.release_pool(p.id)
    null.release_pool(p6.id)
    with pytest.raises(PoolNotFoundError):
        null.release_pool(p.id)


def test_registry_is_explicit():
    reg = IPAMRegistry.builtin()
    assert reg.names() == ["default", "null"]
    assert isinstance(reg.get("default"), DefaultIPAM)
    assert all(isinstance(d, IPAMDriver) for _, d in reg)
    with pytest.raises(IPAMNotFoundError, match="'remote' is not registered"):
        reg.get("remote")
    with pytest.raises(IPAMConflictError):
        reg.register("null", NullIPAM())
    custom = IPAMConfig(local_pools=[PoolSpec("10.99.0.0/16", 24)])
    p = IPAMRegistry.builtin(custom).get("default").request_pool(PoolRequest())
    assert p.id == "local/10.99.0.0/24"


def test_recording_stub_records_and_injects_failures():
    rec = RecordingIPAM()
    p = rec.request_pool(PoolRequest(subnet="10.0.0.0/24"))
    rec.fail("request_address", PoolExhaustedError("injected"), on_call=2)
    assert alloc(rec, p.id) == ip("10.0.0.2")
    with unchanged(rec, PoolExhaustedError):
        alloc(rec, p.id)
    assert alloc(rec, p.id) == ip("10.0.0.3")  # one failure only
    rec.release_pool(p.id)
    assert rec.names() == ["request_pool", "request_address", "request_address",
                           "request_address", "release_pool"]
    assert [name for name, _, _ in rec.failures] == ["request_address"]
    assert list(rec.pools()) == []


def test_concurrent_requests_get_distinct_addresses():
    ipam = DefaultIPAM()
    p = ipam.request_pool(PoolRequest(subnet="10.0.0.0/16"))
    got: list = []

    def worker():
        mine = [alloc(ipam, p.id) for _ in range(500)]
        got.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 4000
    assert ipam.usage(p.id).allocated == 4001
    assert max(got) == ip("10.0.15.161")  # dense: .0.2 .. the 4,001st address
