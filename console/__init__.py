"""The staff console: a web page for the people behind the assistant (issue 16).

Operators verify and route reports, agency officers handle the reports routed to their agency,
staff answer citizens who asked for a person, facilitators run outreach events, and
administrators manage accounts. Served by its own process (``python -m console``), server-side
rendered with Jinja2 on Sanic; it only reads and writes storage, and the channel gateway
delivers whatever it leaves for citizens (status notifications, staff messages). See
docs/console.md.
"""
