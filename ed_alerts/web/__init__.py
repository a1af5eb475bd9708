"""The web UI: server-rendered pages on Jinja2 templates that work without JavaScript.

So far: the sign-in page (`signin`). `templates/base.html` is the shared layout pages extend;
`templates.render` renders a page with its CSRF token (see ed_alerts/auth/csrf.py).
"""
