"""What the fake external services (fake local authority, fake CP-IS) share, so each fake holds only
its own app, state and steering.

Modules: server (a uvicorn server on a loopback socket that can go down and come back up on the
same port, and the base class of the fakes), client (the base of the clients that steer a fake in
another process over HTTP), answer (a canned HTTP answer, what a fake's state decides to send).
Nothing is imported here, so that a fake's client does not pay for uvicorn.
"""
