"""Who may connect to the MLLP listener, and who may send for which site; and its TLS context.

Two lists of addresses or networks: `ED_ALERTS_MLLP_ALLOWED_PEERS` (trusted for every sender, such
as the hospital's interface engine) and each site's `mllp_peers` in the registry (trusted for that
sender only). A connection is accepted from any listed peer; each message is then accepted only if
its peer is a global one or one listed for its sender (MSH-4). With no list at all every peer is
accepted, which production refuses unless `ED_ALERTS_MLLP_ALLOW_ANY_PEER=true` says it is meant.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable

from ed_alerts.settings import Settings
from ed_alerts.sites.registry import SiteRegistry

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class MLLPConfigError(ValueError):
    pass


def _networks(peers: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(p.strip(), strict=False) for p in peers if p.strip()]


def _in(host: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in n for n in networks)


class PeerPolicy:
    def __init__(self, global_peers: Iterable[str], sites: SiteRegistry) -> None:
        self._global_text = [p.strip() for p in global_peers if p.strip()]
        self._global = _networks(self._global_text)
        self._sites = sites
        self._per_site = {s.code.upper(): _networks(s.mllp_peers) for s in sites.sites if s.mllp_peers}

    @classmethod
    def from_settings(cls, settings: Settings, sites: SiteRegistry) -> PeerPolicy:
        policy = cls(settings.mllp_allowed_peers, sites)
        if policy.unrestricted and settings.environment == "production" and not settings.mllp_allow_any_peer:
            raise MLLPConfigError(
                "the MLLP listener would accept connections from anywhere: list the senders' addresses "
                "in ED_ALERTS_MLLP_ALLOWED_PEERS or the sites' mllp_peers, or set "
                "ED_ALERTS_MLLP_ALLOW_ANY_PEER=true if the network already restricts it")
        return policy

    @property
    def unrestricted(self) -> bool:
        return not self._global and not self._per_site

    def connection_allowlist(self) -> set[str] | None:
        """For MLLPServer(allowed_peers=...): None accepts every peer."""
        if self.unrestricted:
            return None
        return set(self._global_text) | {p.strip() for s in self._sites.sites for p in s.mllp_peers}

    def refusal(self, peer_host: str, sender: str | None) -> str | None:
        """None when this peer may send a message from `sender`; otherwise why not."""
        if self.unrestricted or _in(peer_host, self._global):
            return None
        if sender is not None and _in(peer_host, self._per_site.get(sender.upper(), [])):
            return None
        return f"peer {peer_host} may not send messages for sender {sender or '(unreadable)'}"


def build_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS for the listener when a certificate is configured; client certificates are then required
    if a CA for them is given (mutual TLS), and verified against that CA only."""
    if settings.mllp_tls_cert_file is None or settings.mllp_tls_key_file is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.mllp_tls_cert_file, settings.mllp_tls_key_file)
    if settings.mllp_tls_client_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.mllp_tls_client_ca_file))
        context.verify_mode = ssl.CERT_REQUIRED
    return context
