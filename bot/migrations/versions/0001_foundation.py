"""foundation: inbox (dedupe), callback replay guard, outbox, shared token cache

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 14:30:58.470423
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_token',
    sa.Column('app', sa.String(length=100), nullable=False),
    sa.Column('token', sa.String(length=600), nullable=False),
    sa.Column('expires_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app')
    )
    op.create_table('callback_signature',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('seen_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'signature')
    )
    with op.batch_alter_table('callback_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_signature_seen_at'), ['seen_at'], unique=False)

    op.create_table('inbound_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('chat_id', sa.String(length=100), nullable=True),
    sa.Column('sender', sa.String(length=100), nullable=False),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('handled_by', sa.String(length=64), nullable=True),
    sa.Column('replied_via', sa.String(length=16), nullable=True),
    sa.Column('passive_reply', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'dedupe_key', name='uq_inbound_channel_key')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=True),
    sa.Column('msgtype', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel_target_sent', ['channel', 'target', 'sent_at'], unique=False)
        batch_op.create_index('ix_outbox_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_group_id'), ['group_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_group_id'))
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_channel_target_sent')

    op.drop_table('outbox')
    op.drop_table('inbound_message')
    with op.batch_alter_table('callback_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_signature_seen_at'))

    op.drop_table('callback_signature')
    op.drop_table('access_token')
