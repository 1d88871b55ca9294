"""A sandbox's /etc/hosts and /etc/resolv.conf, written atomically.

Each file is written to a temporary name in the same folder and renamed
over the old one, so a reader (or a container bind-mounting it) never sees
half a file.
"""

from __future__ import annotations

import ipaddress
import os
import functools
from typing import Iterable

__all__ = ["write_atomic", "write_new", "hosts_content", "resolv_conf_content",
           "host_resolv_conf"]

_HOSTS_HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def write_atomic(path: str, content: str, mode: int = 0o644) -> None:
    """Write to ``.NAME.tmp`` beside ``path``, then rename over it.  One
    writer per sandbox (the controller's lock), so a fixed temporary name
    is safe, and cheaper than mkstemp's random names."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, content.encode())
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        # Interrupted (Ctrl-C) around the rename: the rename may have
        # happened, so the temporary may be gone; the interruption wins.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_new(path: str, content: str, mode: int = 0o644) -> None:
    """Create ``path`` with ``content``, when nothing can be reading it yet
    (a file of a sandbox being created); if it exists after all (a
    leftover), replace it atomically instead."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except FileExistsError:
        write_atomic(path, content, mode)
        return
    try:
        os.write(fd, content.encode())
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


def hosts_content(hostname: str, domainname: str, addresses: Iterable[str],
                  aliases: Iterable[str], extra_hosts: Iterable[tuple[str, str]]) -> str:
    """The standard header, this sandbox's own addresses with its host name,
    FQDN and endpoint aliases, then the extra hosts, as Docker writes them."""
    lines = [_HOSTS_HEADER]
    names = []
    if hostname:
        if domainname:
            names.append(f"{hostname}.{domainname}")
        names.append(hostname)
    names.extend(a for a in aliases if a not in names)
    if names:
        for addr in addresses:
            lines.append(f"{ipaddress.ip_interface(addr).ip}\t{' '.join(names)}\n")
    for name, ip in extra_hosts:
        lines.append(f"{ip}\t{name}\n")
    return "".join(lines)


def host_resolv_conf(path: str = "/etc/resolv.conf") -> tuple[list[str], list[str], list[str]]:
    """Nameservers (loopback ones dropped: they mean nothing inside a
    container's namespace), search domains and options of the host; read
    again only when the file changes."""
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None
    return _parse_resolv_conf(path, stamp)


@functools.lru_cache(maxsize=4)
def _parse_resolv_conf(path: str, stamp: object) -> tuple[list[str], list[str], list[str]]:
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return servers, search, options
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            try:
                if not ipaddress.ip_address(parts[1].split("%")[0]).is_loopback:
                    servers.append(parts[1])
            except ValueError:
                continue
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            options.extend(parts[1:])
    return servers, search, options


def resolv_conf_content(servers: Iterable[str], search: Iterable[str],
                        options: Iterable[str]) -> str:
    out = [f"nameserver {s}\n" for s in servers]
    search = list(search)
    if search:
        out.append(f"search {' '.join(search)}\n")
    options = list(options)
    if options:
        out.append(f"options {' '.join(options)}\n")
    return "".join(out)
