"""The data laboratory: lab projects, JupyterHub configuration and authenticator against the
registry, de-identified project data, output checking. Only this package imports jupyterhub.
"""
