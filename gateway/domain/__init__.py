"""Pure domain code: no I/O, no ORM objects. Rules, enumerations and value checks live here."""
