"""SapaLapor's custom actions (``rasa run actions --actions bot.actions`` loads every module).

* ``report_form``: the report form's validation, its questions, filing and cancelling;
* ``routing``: place -> region, description -> category, and routing at filing (issue 5);
* ``read_back``: voice answers confirmed before they are kept;
* ``status``: status look-up by tracking number (and PIN for anonymous reports, at most 3 wrong
  PINs per conversation), with the LAPOR! deadline that runs now;
* ``rating``: the satisfaction question after filing;
* ``conversation``: session start, greeting, help, repeat, preferences, handover;
* ``runtime``: settings, database, identity and measurement shared by all of them.

Flow diagrams: ``report_form.mmd`` and ``status_form.mmd`` next to this file.
"""
