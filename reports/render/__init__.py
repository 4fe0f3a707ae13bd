"""Rendering a :class:`~reports.publication.Publication`: CSV tables and data dictionary
(:mod:`.csvfiles`), charts through kaleido (:mod:`.charts`), HTML through jinja2 (:mod:`.html`)
and the PDF through weasyprint (:mod:`.pdf`). Every output reads the same published rows, so a
figure hidden by disclosure control is absent from all of them.
"""
