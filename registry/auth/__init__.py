"""Who is asking (credentials, tokens, passwords, throttling) and what they may do (policy)."""
