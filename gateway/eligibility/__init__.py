"""The eligibility lookup: is this person in a low-income household, and in which category."""
