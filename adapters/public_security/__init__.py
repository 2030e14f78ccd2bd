"""Public security (公安): deaths and vehicle registrations pulled from the bureau's paged feed."""
