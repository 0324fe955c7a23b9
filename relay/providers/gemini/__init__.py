"""The Google Gemini provider (new-api channel type 24)."""
