"""Pure conversions between client API formats and channel wire formats (OpenAI Chat is the pivot)."""
