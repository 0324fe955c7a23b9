"""Pure conversions between client formats and channel wire formats; OpenAI Chat is the pivot."""
