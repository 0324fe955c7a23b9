"""Azure OpenAI (new-api channel type 3): OpenAI's wire format under deployment URLs."""
