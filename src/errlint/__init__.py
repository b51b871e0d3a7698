"""errlint: finds the HTTP API error-handling mistakes that API documentation warns about."""

__version__ = "0.1.0"
