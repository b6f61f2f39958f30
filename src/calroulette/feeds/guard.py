"""The address guard: a member's calendar address (or a redirect from their server) must not make
the organizer's machine fetch from itself or from the networks beside it.

A calendar address is typed by a member, so without a guard it could point at loopback
(``http://127.0.0.1:8080/admin``), the organizer's LAN (``http://10.0.0.1/``) or a cloud's
metadata service (``http://169.254.169.254/``), and the member's "no meeting" note and the
``check`` line would tell them what answered: a server-side request forgery. So every host is
resolved with the system resolver and each address is checked (:func:`refusal`); the connection
is then made to the address that was checked (:func:`resolve` gives it, and
:mod:`.client`'s connections use it), never by a second lookup, so a name whose DNS answer
changes between the check and the connect (DNS rebinding) cannot slip through. Redirects are
new connections and are checked the same way.

An organizer whose calendars live on their own network (a CalDAV server on the LAN, the tests'
loopback server) sets ``allow_private_feeds = true`` in ``[community]``. Local files are not
fetched and not guarded.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Addresses that name a cloud's metadata service outside the ranges below (the ones inside
# them, 169.254.169.254 and fd00:ec2::254, are refused as link-local and private already).
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses reached through NAT64


class AddressRefused(Exception):
    """A host resolved to an address the guard refuses; ``what`` names the kind of address.

    Not an :class:`OSError`, so urllib3 does not retry it."""

    def __init__(self, host: str, what: str) -> None:
        super().__init__(f"{host}: {what}")
        self.host = host
        self.what = what


def refusal(address: IPAddress) -> str | None:
    """What kind of address ``address`` is when the guard refuses it ("a loopback address" …),
    ``None`` when it may be fetched from.

    >>> refusal(ipaddress.ip_address("127.0.0.1")), refusal(ipaddress.ip_address("93.184.215.14"))
    ('a loopback address', None)
    >>> refusal(ipaddress.ip_address("::ffff:10.1.2.3"))
    'a private network address'
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            return refusal(embedded)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or address in _SHARED or not address.is_global or address.is_reserved:
        return "a private network address"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """One address to connect to, as :func:`socket.getaddrinfo` gives it."""

    family: int
    kind: int
    proto: int
    sockaddr: Any  # (host, port) or (host, port, flowinfo, scope_id)


def resolve(host: str, port: int, *, allow_private: bool, timeout: float | None) -> list[Target]:
    """The addresses of ``host`` (a name or a literal address) to connect to, each checked.

    Raises :class:`AddressRefused` when any address the name resolves to is refused (a name
    with one public and one private address is refused: which one a connection would use is
    not ours to choose), :class:`socket.gaierror` when the name does not resolve and
    :class:`TimeoutError` when the resolver takes longer than ``timeout`` seconds (the
    lookup goes on in a daemon thread until the system resolver gives up).
    """
    host = host.strip("[]")
    found = _getaddrinfo(host, port, timeout)
    targets = [Target(f, k, p, sa) for f, k, p, _, sa in found]
    if not allow_private:
        for target in targets:
            what = refusal(ipaddress.ip_address(str(target.sockaddr[0]).split("%", 1)[0]))
            if what is not None:
                raise AddressRefused(host, what)
    return targets


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[Any]:
    if timeout is None:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    outcome: list[Any] = []

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(error)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if not outcome:
        raise TimeoutError(f"resolving {host} took longer than {timeout:g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: list[Any] = outcome[0]
    return result
