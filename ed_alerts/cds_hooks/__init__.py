"""CDS Hooks 2.0 service: safeguarding flags as cards in the EHR when a child's record or encounter opens.

Modules: catalogue (the services, for discovery), hook_request (the request body, validated),
patient_match (which of our children the request is about), queries (their active flags),
cards (flags as cards), service (one request answered), router (the HTTP routes, thin).
"""
