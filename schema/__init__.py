"""The GraphQL schema: types, enums, scalars and the exported `schema.graphql`."""
