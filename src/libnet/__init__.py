"""libnet: container networking for Linux, over a Cython netlink core.

The Container Network Model (after Docker's libnetwork)::

    from libnet import Controller, Config
    c = Controller(Config(data_dir=..., run_dir=...))
    net = c.new_network("bridge", "web")
    ep = net.create_endpoint("web1")
    sb = c.new_sandbox("container-1", hostname="web1")
    ep.join(sb)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Controller", "Config", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import libnet.ipam` (pure Python) does not load the core.
    if name in ("Controller", "Config"):
        from . import controller
        return getattr(controller, name)
    raise AttributeError(name)
