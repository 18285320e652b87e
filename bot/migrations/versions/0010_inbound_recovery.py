"""inbound messages can be taken up again: the message itself, a lease while it is handled, the token
of who handles it, and the replies committed with its changes; follow-ups remember their message

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_message') as b:
        b.add_column(sa.Column('message', sa.JSON(), nullable=True))
        b.add_column(sa.Column('lease_until', bot.db.UTCDateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('handler_token', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('applied_reply', sa.Text(), nullable=True))
        b.create_index('ix_inbound_state_lease', ['state', 'lease_until'])
    with op.batch_alter_table('case_follow_up') as b:
        b.add_column(sa.Column('source_ref', sa.String(length=255), nullable=True))
        b.create_unique_constraint('uq_case_follow_up_source_ref', ['source_ref'])


def downgrade() -> None:
    with op.batch_alter_table('case_follow_up') as b:
        b.drop_constraint('uq_case_follow_up_source_ref', type_='unique')
        b.drop_column('source_ref')
    with op.batch_alter_table('inbound_message') as b:
        b.drop_index('ix_inbound_state_lease')
        b.drop_column('applied_reply')
        b.drop_column('handler_token')
        b.drop_column('lease_until')
        b.drop_column('message')
