"""SFTP transport of the ingest stage: the members' server, their landing-area view, the host key
and the member upload tool. The only package that imports paramiko; importing this package itself
imports nothing heavy (use the submodules: ``server``, ``filesystem``, ``hostkey``, ``client``,
``control``).
"""
