"""The web UI: server-rendered pages on Jinja2 templates, mounted as a sub-application (app.py).

Pages: the ED board (board.py), the attendance page with its decision and referral forms
(attendance.py), the safeguarding queue, reviews, a child's timeline and the audit chain (queue.py),
the ICB dashboard and its CSV (dashboard.py, numbers from ed_alerts/dashboard); the sign-in page
(signin.py). Who may use each page: access.py. The shared layout is `templates/layout.html` (on
`base.html`), partial templates in `templates/partials/`; `rendering.py` renders them with the CSRF
token (templates.py) and the signed-in user's navigation. One small script and stylesheet in
`static/`, no build step, nothing fetched from elsewhere; every page reads without JavaScript.
docs/web.md describes the pages and who sees what.
"""
