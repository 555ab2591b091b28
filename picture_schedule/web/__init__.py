"""The unit's web page (Flask on waitress): staff pages over the roster, the patient's own page, the feeds."""
