"""ed-alerts: safeguarding flags and referral tracking for children attending emergency care."""
