"""Referrals to the local authority: decisions, the referral lifecycle, delivery through an outbox,
escalations and the safeguarding queue. docs/referrals.md describes the lifecycle and settings."""
