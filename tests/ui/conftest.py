"""UI tests reuse the accounts fixtures: clinicians in two clinics and a signed-in client."""

from tests.accounts.conftest import people  # noqa: F401  (a fixture)
