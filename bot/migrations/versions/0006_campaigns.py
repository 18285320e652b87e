"""campaigns: delivery log per (campaign, slot, group) and paused state

Revision ID: 0006
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_delivery',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('campaign', sa.String(length=40), nullable=False),
                    sa.Column('slot', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('group_id', sa.String(length=64), nullable=False),
                    sa.Column('item_id', sa.String(length=80), nullable=True),
                    sa.Column('intent', sa.String(length=32), nullable=True),
                    sa.Column('state', sa.String(length=16), nullable=False),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('outbox_key', sa.String(length=255), nullable=True),
                    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('campaign', 'slot', 'group_id', name='uq_campaign_slot_group'))
    op.create_index('ix_campaign_delivery_group_slot', 'campaign_delivery', ['group_id', 'slot'])
    op.create_table('campaign_state',
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('paused', sa.Boolean(), nullable=False),
                    sa.Column('changed_by', sa.String(length=100), nullable=True),
                    sa.Column('changed_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('campaign_state')
    op.drop_index('ix_campaign_delivery_group_slot', table_name='campaign_delivery')
    op.drop_table('campaign_delivery')
