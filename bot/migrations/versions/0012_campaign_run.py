"""the console's campaigns page: slots run by hand, keyed by the request (campaign_run)

Revision ID: 0012_campaign_run
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0012_campaign_run'
down_revision = '0011'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'campaign_run',
        sa.Column('id', _ID, nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('campaign', sa.String(length=40), nullable=False),
        sa.Column('slot', bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('requested_at', bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'))


def downgrade() -> None:
    op.drop_table('campaign_run')
