"""Households and their people: read queries and (later) the services that change them."""
