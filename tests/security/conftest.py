"""The security tests reuse the clinicians (tests/accounts) and portal (tests/embed) fixtures."""

from tests.accounts.conftest import people  # noqa: F401 - a fixture
from tests.embed.conftest import portals  # noqa: F401 - a fixture
