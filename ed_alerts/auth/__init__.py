"""Sign-in and access control: who is asking (authentication) and what they may see (policy, scope).

Modules: roles (the five roles and their scopes), principal (the authenticated caller), passwords
(argon2id), keys (one key per purpose from the secret key), tokens (our signed JWTs), oidc (tokens from
a hospital's OpenID Connect issuer), ratelimit (failed sign-ins), csrf (form protection), authenticate
(a request to a Principal), signin (checking a password: rate limited, audited), policy
(`require(...)`/`public()`: who may use a route, recorded on it), scopes (which attendances, children
and feeds a principal may see), errors (401, 429, 503 with their headers), schemas and router
(`POST /auth/token`, `GET /auth/me`). See docs/auth.md.
"""
