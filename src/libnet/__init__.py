"""libnet: container networking for Linux, over a Cython netlink core."""

__version__ = "0.1.0"
