"""inbound_message.intent: what the Q&A answered, for follow-ups, rate limits and statistics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:38:49.607096
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intent', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_inbound_chat_sender_time', ['chat_id', 'sender', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_chat_sender_time')
        batch_op.drop_column('intent')

