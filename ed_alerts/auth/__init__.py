"""Sign-in and access control: who is asking (authentication) and what they may see (policy, scope).

Modules: roles (the five roles), principal (the authenticated caller), passwords (argon2),
tokens (our signed JWTs), oidc (tokens from a hospital's OpenID Connect issuer), ratelimit (failed
sign-ins), csrf (form protection), authenticate (a request to a Principal), signin (checking a
password, rate limited and audited), policy (`require(...)`: who may use a route, recorded on it),
scopes (which attendances and feeds a principal may see), router (`/auth/token`, `/auth/me`).
"""
