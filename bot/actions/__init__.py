"""SapaLapor's custom actions (``rasa run actions --actions bot.actions`` loads every module).

* ``report_form``: the report form's validation, its questions, filing and cancelling;
* ``read_back``: voice answers confirmed before they are kept;
* ``status``: status look-up by tracking number (and PIN for anonymous reports);
* ``rating``: the satisfaction question after filing;
* ``conversation``: session start, greeting, help, repeat, preferences, handover;
* ``runtime``: settings, database, identity and measurement shared by all of them.

Flow diagrams: ``report_form.mmd`` and ``status_form.mmd`` next to this file.
"""
