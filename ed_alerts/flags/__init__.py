"""Flags: what the rules raised on an attendance, with evidence, and the decisions they require."""
