"""the web console: changes made in it (console_action), the review of residents' questions
(question_review), retraining runs (training_run); the Q&A's score and decision on each message

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'console_action',
        sa.Column('id', _ID, nullable=False),
        sa.Column('at', bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('userid', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_console_action_at', 'console_action', ['at'])
    op.create_table(
        'question_review',
        sa.Column('id', _ID, nullable=False),
        sa.Column('message_id', _ID, nullable=False),
        sa.Column('marked_wrong_by', sa.String(length=100), nullable=True),
        sa.Column('marked_wrong_at', bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('label', sa.String(length=32), nullable=True),
        sa.Column('labelled_by', sa.String(length=100), nullable=True),
        sa.Column('labelled_at', bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('example_file', sa.String(length=255), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['inbound_message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'))
    op.create_table(
        'training_run',
        sa.Column('id', _ID, nullable=False),
        sa.Column('started_by', sa.String(length=100), nullable=False),
        sa.Column('started_at', bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('examples', sa.Integer(), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=True),
        sa.Column('weights_path', sa.String(length=500), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('inbound_message') as b:
        b.add_column(sa.Column('score', sa.Float(), nullable=True))
        b.add_column(sa.Column('decision', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_message') as b:
        b.drop_column('decision')
        b.drop_column('score')
    op.drop_table('training_run')
    op.drop_table('question_review')
    op.drop_index('ix_console_action_at', table_name='console_action')
    op.drop_table('console_action')
