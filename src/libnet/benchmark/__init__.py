"""Benchmarks shipped with libnet: ``libnet bench`` (``density``) sets up and
tears down the networking of N containers with libnet, its peers and the
kernel's own cost, in throwaway namespaces, and reports per-container latency."""
