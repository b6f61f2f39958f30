"""``calroulette serve``: the member pages (sign up, manage, leave) and the organizer's view.

A Starlette app (:func:`.app.create_app`) served by uvicorn. Like the CLI it is thin: each route
parses the form, calls one :mod:`calroulette.service` function named like the operation, and
renders a Jinja2 template (autoescaped). :mod:`.security` holds what a public page needs: the
CSRF check of every form, the security headers (a strict CSP), rate limits and the client
address.
"""
