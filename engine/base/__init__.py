"""Shared leaves every layer may use: results, dates, money, conditions, identifiers, masking,
wording and translation."""
