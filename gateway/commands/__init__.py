"""`lig` subcommands beyond the basics in `gateway.cli`, one module per area."""
