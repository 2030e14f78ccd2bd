"""The disabled persons' federation (残联): disability certificates from its paged feed."""
