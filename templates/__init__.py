"""Jinja templates and message catalogues, shipped in the wheel as picture_schedule.templates."""
