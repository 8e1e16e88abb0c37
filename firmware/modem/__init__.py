"""Multi-Tech GPRS IP-connectivity modem, re-implemented: the hardware-free core."""
