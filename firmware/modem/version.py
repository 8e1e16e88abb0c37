"""Who the modem says it is (AT+CGMI/CGMM/CGMR, ATI, #VVERSION)."""

# The originals answer as the Wavecom module inside the Multi-Tech box.
MANUFACTURER = "WAVECOM MODEM"
MODEL = "MULTIBAND  900E  1800"
NAME = "mtgw-V01.00"
BUILD = "Nov 28 2026 12:00:00"
REVISION = NAME + " " + BUILD
