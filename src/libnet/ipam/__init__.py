"""IP address management (IPAM)."""
