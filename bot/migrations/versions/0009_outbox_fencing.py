"""outbox: a token per claim (fencing), when the current attempt started, and how many attempts ended
without a known outcome

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as b:
        b.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('attempt_started_at', bot.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('unknown_outcomes', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as b:
        b.drop_column('unknown_outcomes')
        b.drop_column('attempt_started_at')
        b.drop_column('claim_token')
