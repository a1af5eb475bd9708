"""Rule evaluation: the rule pack, its predicates, and the clinical NLP behind free-text disclosures."""
