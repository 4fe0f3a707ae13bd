"""Industry delinquency releases: statistics from the warehouse, seasonal adjustment, disclosure
control, versioned HTML/PDF/CSV publications.
"""
