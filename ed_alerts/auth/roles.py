"""The roles of DESIGN.md section 8, and what each may be scoped to."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ED_NURSE = "ed_nurse"  # scoped to one or more sites
    SAFEGUARDING_NURSE = "safeguarding_nurse"  # scoped to a trust (and ambulance attendances in its area)
    ICB_LEAD = "icb_lead"  # aggregates only: never anything that identifies a child
    INTEGRATION = "integration"  # feeds and message health; optionally scoped to the sites it sends for
    ADMIN = "admin"  # users only


class ScopeError(ValueError):
    """A role given a scope it cannot have, or missing the scope it needs."""


def check_scope(role: Role, sites: list[str], trust: str | None) -> None:
    """Refuse combinations that would leave a user seeing nothing, or more than their role means."""
    if role is Role.ED_NURSE:
        if not sites:
            raise ScopeError("an ed_nurse needs at least one site (--site)")
        if trust:
            raise ScopeError("an ed_nurse is scoped by site, not by trust")
    elif role is Role.SAFEGUARDING_NURSE:
        if not trust:
            raise ScopeError("a safeguarding_nurse needs a trust (--trust)")
        if sites:
            raise ScopeError("a safeguarding_nurse is scoped by trust, not by site")
    elif role is Role.INTEGRATION:
        if trust:
            raise ScopeError("an integration user may be scoped by site (the feeds it sends for), not by trust")
    elif sites or trust:
        raise ScopeError(f"a {role.value} has no site or trust scope")
