"""The bridge driver: containers on a Linux bridge, each through a veth pair."""

from .config import BridgeDriverConfig, BridgeNetworkConfig
from .driver import BridgeDriver

__all__ = ["BridgeDriver", "BridgeDriverConfig", "BridgeNetworkConfig"]
