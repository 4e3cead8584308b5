"""The shop and the warehouse of examples/sql_orders.toml: create them, sell, look. Offline.

    python examples/sql_shop.py            # create out/shop.db (5 orders) and out/warehouse.db (empty)
    python examples/sql_shop.py --sell 3   # 3 more orders in the shop
    python examples/sql_shop.py --show     # the orders in the warehouse

$SHOP_URL and $WAREHOUSE_URL (SQLAlchemy URLs) choose other databases, as in the pipeline.
"""

import argparse
import datetime
import os
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

SHOP_URL = os.environ.get("SHOP_URL", "sqlite:///out/shop.db")
WAREHOUSE_URL = os.environ.get("WAREHOUSE_URL", "sqlite:///out/warehouse.db")
CUSTOMERS = ["ada", "alan", "grace", "edsger", "barbara"]


def orders_table(metadata):
    """The same table in both databases: the warehouse's ids are the shop's."""
    return sa.Table("orders", metadata,
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("customer", sa.String(40), nullable=False),
                    sa.Column("total", sa.Numeric(10, 2), nullable=False),
                    sa.Column("ordered_at", sa.DateTime, nullable=False))


def create():
    Path("out").mkdir(exist_ok=True)
    for url in (SHOP_URL, WAREHOUSE_URL):
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        orders_table(metadata)
        metadata.drop_all(engine)
        metadata.create_all(engine)
        engine.dispose()
    sell(5)


def sell(count):
    engine = sa.create_engine(SHOP_URL)
    orders = orders_table(sa.MetaData())
    with engine.begin() as connection:
        sold = connection.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
        start = datetime.datetime(2024, 5, 1, 9, 0)
        connection.execute(sa.insert(orders), [
            {"customer": CUSTOMERS[n % len(CUSTOMERS)], "total": Decimal(n * 7 % 50) + Decimal("0.99"),
             "ordered_at": start + datetime.timedelta(minutes=n)}
            for n in range(sold, sold + count)])
    engine.dispose()


def show():
    engine = sa.create_engine(WAREHOUSE_URL)
    orders = orders_table(sa.MetaData())
    with engine.connect() as connection:
        for order in connection.execute(sa.select(orders).order_by(orders.c.id)):
            print(f"{order.id} {order.customer} {order.total} {order.ordered_at:%H:%M}")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sell", type=int, metavar="N", help="add N orders to the shop")
    parser.add_argument("--show", action="store_true", help="print the orders in the warehouse")
    arguments = parser.parse_args()
    if arguments.show:
        show()
    elif arguments.sell:
        sell(arguments.sell)
    else:
        create()
