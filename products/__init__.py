"""Lookup products: the FastAPI service for members' risk systems (multi-loan, time-series, batch,
usage and billing). Only this package imports fastapi.
"""
