//! Forgiving parsers for LLM output. PLACEHOLDER: being implemented.
