"""`python -m ed_alerts` runs the CLI."""

from ed_alerts.cli import main

main()
