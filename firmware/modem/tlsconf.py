"""What a network adapter needs for a TLS handshake: a plain object, importable on its own."""


class TLSConfig:
    """Server name (SNI and certificate check), whether to verify, and an extra CA file."""

    def __init__(self, server_hostname, verify=True, cafile=None):
        self.server_hostname = server_hostname
        self.verify = verify
        self.cafile = cafile  # PEM file of trusted CAs; None: the platform's defaults
