"""Campaigns: 6·26 days, outreach series, contest seasons and second-classroom terms, scoped to a region."""
