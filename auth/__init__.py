"""Sign-in and authorisation of departments (OAuth 2.0, scopes). Issue 4."""
