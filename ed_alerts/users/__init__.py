"""Users: who may sign in, with which role and scope; feed API tokens for integration users.

Modules: models (tables), schemas (pydantic), api_tokens (secrets for feeds), service (create, list,
disable, tokens, passwords), router (the admin API), cli (`ed-alerts users ...`).
"""
