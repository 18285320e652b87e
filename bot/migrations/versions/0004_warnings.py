"""warnings: the warning and its audit trail

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('warning',
                    sa.Column('id', _ID, nullable=False),
                    sa.Column('number', sa.String(length=32), nullable=False),
                    sa.Column('day', sa.String(length=8), nullable=False),
                    sa.Column('seq', sa.Integer(), nullable=False),
                    sa.Column('external_id', sa.String(length=100), nullable=True),
                    sa.Column('source', sa.String(length=16), nullable=False),
                    sa.Column('source_ref', sa.String(length=255), nullable=True),
                    sa.Column('created_by', sa.String(length=100), nullable=False),
                    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('name', sa.String(length=50), nullable=True),
                    sa.Column('phone', sa.String(length=32), nullable=False),
                    sa.Column('place', sa.String(length=200), nullable=False),
                    sa.Column('fraud_type', sa.String(length=32), nullable=True),
                    sa.Column('level', sa.String(length=4), nullable=False),
                    sa.Column('note', sa.Text(), nullable=False),
                    sa.Column('station_id', sa.String(length=64), nullable=True),
                    sa.Column('assignment', sa.Integer(), nullable=False),
                    sa.Column('dispatched_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('state', sa.String(length=16), nullable=False),
                    sa.Column('signed_by', sa.String(length=100), nullable=True),
                    sa.Column('signed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('result', sa.String(length=16), nullable=True),
                    sa.Column('result_note', sa.Text(), nullable=True),
                    sa.Column('reports', sa.Integer(), nullable=False),
                    sa.Column('reported_by', sa.String(length=100), nullable=True),
                    sa.Column('reported_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('closed_by', sa.String(length=100), nullable=True),
                    sa.Column('closed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('day', 'seq', name='uq_warning_day_seq'),
                    sa.UniqueConstraint('external_id'),
                    sa.UniqueConstraint('number'),
                    sa.UniqueConstraint('source_ref'))
    op.create_index('ix_warning_state_dispatched', 'warning', ['state', 'dispatched_at'])
    op.create_index(op.f('ix_warning_station_id'), 'warning', ['station_id'])
    op.create_table('warning_event',
                    sa.Column('id', _ID, nullable=False),
                    sa.Column('warning_id', _ID, nullable=False),
                    sa.Column('at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('actor', sa.String(length=100), nullable=False),
                    sa.Column('kind', sa.String(length=24), nullable=False),
                    sa.Column('from_state', sa.String(length=16), nullable=True),
                    sa.Column('to_state', sa.String(length=16), nullable=True),
                    sa.Column('channel', sa.String(length=16), nullable=True),
                    sa.Column('message_ref', sa.String(length=255), nullable=True),
                    sa.Column('step', sa.String(length=40), nullable=True),
                    sa.Column('detail', sa.JSON(), nullable=True),
                    sa.ForeignKeyConstraint(['warning_id'], ['warning.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('warning_id', 'step', name='uq_warning_event_step'))
    op.create_index(op.f('ix_warning_event_warning_id'), 'warning_event', ['warning_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_warning_event_warning_id'), table_name='warning_event')
    op.drop_table('warning_event')
    op.drop_index(op.f('ix_warning_station_id'), table_name='warning')
    op.drop_index('ix_warning_state_dispatched', table_name='warning')
    op.drop_table('warning')
