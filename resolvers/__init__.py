"""Thin resolvers: check the arguments, run the statements of `gateway.*.queries`, map rows."""
