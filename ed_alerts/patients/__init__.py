"""Patients and their identifiers: linking every attendance to the right child."""
