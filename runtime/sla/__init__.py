"""Service-level agreements: business calendars (``calendar``), and in time policies, timers and escalations."""
