"""collection: production and ready batches, counter assignment, hand-over details, surcharge receipts

- application.in_production_at, cancelled_at: when a supervisor sent the card to production or
  cancelled the application; collection_counter_id: the collection counter the applicant is sent
  to, assigned at the first scan of the receipt once the card is ready.
- collection: the fee receipt brought back, who collected (applicant, representative, guardian),
  the authorisation on the receipt, the identity check, the new card's serial read at the
  hand-over, what happened to the former card (and its row), the police loss report and the
  surcharge receipt when the former card could not be presented.
- receipt.kind: "fee" (the application's fees) or "collection-surcharge".

Revision ID: db97b4d45b9b
Revises: 0b546656165c
Create Date: 2026-11-21 15:59:56.292141
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'db97b4d45b9b'
down_revision: str | None = '0b546656165c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_APPLICATION_COUNTER = 'fk_application_collection_counter_id_counter'
FK_COLLECTION_FORMER_CARD = 'fk_collection_former_card_id_issuedcard'
FK_COLLECTION_SURCHARGE = 'fk_collection_surcharge_receipt_id_receipt'
FK_COLLECTION_RECEIPT = 'fk_collection_receipt_id_receipt'


def upgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_production_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('collection_counter_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FK_APPLICATION_COUNTER, 'counter', ['collection_counter_id'], ['id'])

    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('collector', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='applicant'))
        batch_op.add_column(sa.Column('authorisation_confirmed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('identity_checked', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('card_serial', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('card_check', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('former_card_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('police_report', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('surcharge_receipt_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FK_COLLECTION_FORMER_CARD, 'issuedcard', ['former_card_id'], ['id'])
        batch_op.create_foreign_key(FK_COLLECTION_SURCHARGE, 'receipt', ['surcharge_receipt_id'], ['id'])
        batch_op.create_foreign_key(FK_COLLECTION_RECEIPT, 'receipt', ['receipt_id'], ['id'])

    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False, server_default='fee'))


def downgrade() -> None:
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.drop_constraint(FK_COLLECTION_RECEIPT, type_='foreignkey')
        batch_op.drop_constraint(FK_COLLECTION_SURCHARGE, type_='foreignkey')
        batch_op.drop_constraint(FK_COLLECTION_FORMER_CARD, type_='foreignkey')
        batch_op.drop_column('surcharge_receipt_id')
        batch_op.drop_column('police_report')
        batch_op.drop_column('former_card_id')
        batch_op.drop_column('card_check')
        batch_op.drop_column('card_serial')
        batch_op.drop_column('identity_checked')
        batch_op.drop_column('authorisation_confirmed')
        batch_op.drop_column('collector')
        batch_op.drop_column('receipt_id')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(FK_APPLICATION_COUNTER, type_='foreignkey')
        batch_op.drop_column('collection_counter_id')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('in_production_at')
