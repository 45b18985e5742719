"""``field__any=[…]``: membership in a long list of values as one array parameter.

``field__in=[…]`` sends one placeholder per value; with thousands of values (an import's ID
numbers, a bulk load's household ids) building and parsing that query text costs more than
running it (psycopg splits the query at every placeholder on the client). On PostgreSQL this
lookup is ``field = ANY(%s)`` with the list as one array; elsewhere it is the same ``IN (…)``
as ``__in``. Registered on every field by ``accounts.apps`` (the first app to load).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, Lookup


class Any(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = self.rhs
        if not all(type(v) in (int, str) for v in values):  # plain keys go as they are
            values = [field.get_db_prep_value(field.get_prep_value(v), connection) for v in values]
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def register() -> None:
    from django.db.models import ForeignObject

    Field.register_lookup(Any)
    ForeignObject.register_lookup(Any)  # a relation keeps its own lookups, not Field's
