"""Operator tools for outreach events: entry points, printable posters, and benefit reports."""
