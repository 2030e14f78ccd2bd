"""The HTTP surface: the GraphQL endpoint, health, metrics and the REST contract."""
