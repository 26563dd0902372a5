"""Routing-ready records: where a report happened, what it is about, and who should act on it.

``regions`` normalises a free-text place to Kemendagri codes, ``categories`` suggests the LAPOR!
category, ``agencies`` reads the operator-edited routing table, and ``suggest`` puts the three
together for one report. Each module is importable on its own; none imports Rasa.
"""
