#!/usr/bin/env python3
"""libnetwork's README example, in Python with libnet.

Run as root:  unshare --net --mount python3 examples/readme.py

It makes its own "host" namespace (so nothing touches the machine's
network), then follows libnetwork's example: a controller with the bridge
driver configured, a network, an endpoint with a published port, a
sandbox with a host name and a domain name, the join, and the endpoint's
driver info (MAC address and port map).  Everything is removed at the end.
"""

import json
import shutil
import tempfile

from libnet import Config, Controller, netns


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="libnet-readme-")
    host = netns.create("host", f"{workdir}/netns")
    controller = None
    try:
        # Select and configure the network driver.
        network_type = "bridge"
        controller = Controller(Config(
            data_dir=f"{workdir}/data", run_dir=f"{workdir}/run", netns=host.path,
            driver_options={network_type: {"enable_ip_forwarding": True}}))

        # Create a network for containers to join.
        network = controller.new_network(network_type, "network1")

        # For each new container: allocate an IP and interfaces, here with a
        # published port (container port 80 on an ephemeral host port).
        ep = network.create_endpoint("Endpoint1",
                                     port_bindings=[{"proto": "tcp", "port": 80}])

        # Create the sandbox for the container.
        sbx = controller.new_sandbox("container1", hostname="test", domainname="docker.io")

        # A sandbox can join the endpoint via the join API.
        ep.join(sbx)

        # The endpoint's operational data, and the driver's view of it.
        info = ep.driver_info()
        print("endpoint:", json.dumps(ep.info()["interface"]))
        print("mac address:", info["com.docker.network.endpoint.macaddress"])
        for m in info["com.docker.network.portmap"]:
            print(f"port map: {m['proto']} {m['host_ip']}:{m['host_port']} -> "
                  f"{m['container_ip']}:{m['port']}")

        sbx.delete()
        ep.delete()
        network.delete()
    finally:
        if controller is not None:
            controller.stop()
        netns.delete(host)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
