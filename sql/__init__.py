"""ClickHouse SQL of the exchange: numbered migrations, named queries, cluster variants.

Shipped as package data so an installed ``jdx`` finds it; see ``warehouse.sqlfiles``.
"""
