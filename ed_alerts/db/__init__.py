"""Database: the declarative base, engine construction and the one way to get a session."""
