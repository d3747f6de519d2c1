"""Join the webhooks, API contract and accounts/UI branches into one history.

Revision ID: 0005_merge_features
Revises: 0002_webhooks, 0003_api_contract, 0004_accounts_ui
"""

revision = "0005_merge_features"
down_revision = ("0002_webhooks", "0003_api_contract", "0004_accounts_ui")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
