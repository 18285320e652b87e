"""wechat: customer-group mass-send tasks and their per-group results

Revision ID: 0005
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mass_send_task',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
                    sa.Column('owner', sa.String(length=64), nullable=False),
                    sa.Column('text', sa.Text(), nullable=False),
                    sa.Column('state', sa.String(length=16), nullable=False),
                    sa.Column('msgid', sa.String(length=128), nullable=True),
                    sa.Column('source', sa.String(length=100), nullable=True),
                    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('task_created_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('polled_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('polls', sa.Integer(), nullable=False),
                    sa.Column('error', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('dedupe_key'))
    with op.batch_alter_table('mass_send_task', schema=None) as batch_op:
        batch_op.create_index('ix_mass_send_task_state', ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_mass_send_task_msgid'), ['msgid'], unique=False)
    op.create_table('mass_send_group',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('group_id', sa.String(length=64), nullable=False),
                    sa.Column('chat_id', sa.String(length=100), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('sent_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('updated_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['task_id'], ['mass_send_task.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('task_id', 'group_id', name='uq_mass_send_task_group'))
    with op.batch_alter_table('mass_send_group', schema=None) as batch_op:
        batch_op.create_index('ix_mass_send_group_group_status', ['group_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mass_send_group', schema=None) as batch_op:
        batch_op.drop_index('ix_mass_send_group_group_status')
    op.drop_table('mass_send_group')
    with op.batch_alter_table('mass_send_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mass_send_task_msgid'))
        batch_op.drop_index('ix_mass_send_task_state')
    op.drop_table('mass_send_task')
