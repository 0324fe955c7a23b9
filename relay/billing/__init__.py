"""Prices, ratios and the quota arithmetic of new-api."""
