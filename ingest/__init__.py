"""SFTP ingest: member landing areas, control-file detection, parsing, validation rules, loading,
receipts and data-quality scorecards. Only the SFTP module imports paramiko.
"""
