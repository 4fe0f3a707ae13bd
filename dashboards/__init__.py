"""Dash dashboards: public industry pages, member portal, operations. Only this package imports
dash.
"""
