"""The firewall's whole ruleset, as `nft list ruleset` prints it, for the
standard scenarios, compared with tests/golden/firewall/*.nft.

Each scenario runs in a fresh namespace ("host") holding the bridges and the
addresses it names.  Hash sets print their elements in hash order (the seed
is random per set), so element lists are normalised to one sorted element a
line.  Regenerate with LIBNET_GOLDEN_UPDATE=1.
"""

from __future__ import annotations

import os
import re

import pytest

from libnet.firewall import FirewallNetwork, NftFirewall, PublishRequest
from libnet.netlink import RouteSocket
from libnet.options import PortBinding

from nft_support import list_ruleset, namespace, need_nft

pytestmark = need_nft

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "firewall")


def normalise(text: str) -> str:
    def sort_block(m):
        items = [x.strip() for x in re.split(r",\s*", m.group(2).strip())]
        indent = m.group(1)
        return f"{indent}elements = {{\n" + "".join(
            f"{indent}\t{x}\n" for x in sorted(items)) + f"{indent}}}"
    return re.sub(r"(\t+)elements = \{ (.*?) \}", sort_block, text, flags=re.S)


def _host(ns, bridges, addrs=()):
    with RouteSocket(ns) as h:
        h.link_set("lo", up=True)
        for br, cidrs in bridges.items():
            h.link_add(br, "bridge", up=True)
            for c in cidrs:
                h.addr_add(br, c)
        for dev, cidr in addrs:
            h.addr_add(dev, cidr)


def scenario_default_bridge(ns):
    _host(ns, {"docker0": ["172.17.0.1/16"], "eth0": ["192.0.2.10/24", "192.0.2.11/24"]})
    fw = NftFirewall(ns)
    fw.ensure()
    fw.add_network(FirewallNetwork("bridge", "docker0", ("172.17.0.0/16",)))
    fw.publish(PublishRequest("ep1", "bridge", "172.17.0.2", None, (
        PortBinding("tcp", 80, host_port=8080), PortBinding("udp", 53, host_port=5353),
        PortBinding("sctp", 9, host_port=9999),
        PortBinding("tcp", 3000, port_end=3002, host_port=13000))))
    fw.publish(PublishRequest("ep2", "bridge", "172.17.0.3", None, (
        PortBinding("tcp", 443, host_ip="192.0.2.10", host_port=443),
        PortBinding("tcp", 443, host_ip="192.0.2.11", host_port=443))))
    return fw


def scenario_two_networks(ns):
    _host(ns, {"br-front": ["172.18.0.1/16"], "br-back": ["172.19.0.1/16"]})
    fw = NftFirewall(ns)
    fw.ensure()
    fw.add_network(FirewallNetwork("front", "br-front", ("172.18.0.0/16",)))
    fw.add_network(FirewallNetwork("back", "br-back", ("172.19.0.0/16",), masquerade=False))
    fw.publish(PublishRequest("web", "front", "172.18.0.2", None,
                              (PortBinding("tcp", 80, host_port=80),)))
    return fw


def scenario_icc_off(ns):
    _host(ns, {"br-quiet": ["172.20.0.1/16"]})
    fw = NftFirewall(ns)
    fw.ensure()
    fw.add_network(FirewallNetwork("quiet", "br-quiet", ("172.20.0.0/16",), icc=False,
                                   snat_ipv4="172.20.0.1"))
    return fw


def scenario_internal(ns):
    _host(ns, {"br-int": ["172.21.0.1/16"], "docker0": ["172.17.0.1/16"]})
    fw = NftFirewall(ns)
    fw.ensure()
    fw.add_network(FirewallNetwork("bridge", "docker0", ("172.17.0.0/16",)))
    fw.add_network(FirewallNetwork("sealed", "br-int", ("172.21.0.0/16",), internal=True))
    return fw


def scenario_ipv6(ns):
    _host(ns, {"br-v6": ["172.22.0.1/16", "fd00:22::1/64"], "eth0": ["2001:db8::10/64"]})
    fw = NftFirewall(ns)
    fw.ensure()
    fw.add_network(FirewallNetwork("dual", "br-v6", ("172.22.0.0/16",), ("fd00:22::/64",)))
    fw.publish(PublishRequest("ep", "dual", "172.22.0.2", "fd00:22::2", (
        PortBinding("tcp", 80, host_port=8080),
        PortBinding("udp", 53, host_ip="2001:db8::10", host_port=53))))
    return fw


SCENARIOS = {"default_bridge": scenario_default_bridge, "two_networks": scenario_two_networks,
             "icc_off": scenario_icc_off, "internal": scenario_internal, "ipv6": scenario_ipv6}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_ruleset(tmp_path, name):
    with namespace(tmp_path, "host") as ns:
        fw = SCENARIOS[name](ns)
        try:
            got = normalise(list_ruleset(ns))
        finally:
            fw.close()
    path = os.path.join(GOLDEN, f"{name}.nft")
    if os.environ.get("LIBNET_GOLDEN_UPDATE"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        assert got == f.read()


def test_normalise_sorts_elements():
    text = "\t\telements = { b . 2,\n\t\t\t     a . 1 }\n"
    assert normalise(text) == "\t\telements = {\n\t\t\ta . 1\n\t\t\tb . 2\n\t\t}\n"
