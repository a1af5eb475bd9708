"""The dashboard tests use the web tests' app: a fake local authority, so referrals are delivered."""

from tests.referrals.conftest import fake_la, fake_la_server  # noqa: F401 - fixtures
from tests.web.conftest import settings  # noqa: F401 - fixture
