"""Attendances: one per ED visit or ambulance incident, amended by later messages."""
