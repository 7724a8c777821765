"""Volunteers, teams, activities with shifts, check-in, service hours and certificates (docs/volunteers.md)."""
