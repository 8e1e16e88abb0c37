"""The web pages' switching on a MicroPython board (docs/portal.md): the setup access point,
the server of the pages, the scan of the networks in range.

mpboard imports this module when the pages' mode changes or a scan is asked for and forgets
it again (docs/design.md, Memory); the pages' own modules stay while they serve.
"""

import network

from modem.compat import asyncio, forget
from modem.errors import NetError


async def scan(link):
    """WiFiLink's scan: [(ssid, rssi, secured)] of the networks in range (the web page's
    scan). Blocks the loop for the scan (~2 s): the watchdog is fed first."""
    w = link.iface()
    w.active(True)
    if link.before_block:
        link.before_block()
    out = []
    seen = set()
    for r in w.scan():  # (ssid, bssid, channel, rssi, security, hidden)
        try:
            ssid = r[0].decode()
        except UnicodeError:
            continue
        if ssid and ssid not in seen:
            seen.add(ssid)
            out.append((ssid, r[3], r[4] != 0))
    return out


def ap_start(link, name, password):
    """The setup access point (WPA2), beside the station; its address."""
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    ap.config(ssid=name, key=password)
    sec = getattr(network, "AUTH_WPA2_PSK", None)  # ESP32; the Pico W's default is WPA2
    if sec is not None:
        ap.config(security=sec)
    link.log("wifi: access point %s open" % name)  # never its password
    return ap.ifconfig()[0]


def ap_stop(link):
    network.WLAN(network.AP_IF).active(False)
    link.log("wifi: access point closed")


async def switch(board, modem, want):
    """MPBoard's web task: from the mode the pages are in to want ("setup", "status" or
    None); the pages' modules leave the heap with None."""
    if board.web_task is not None:
        board.web_task.cancel()
        board.web_task = None
        await asyncio.sleep(0)
    if board.ap is not None and want != "setup":
        ap_stop(board.link)
        board.ap = None
    board.web_mode = want
    if want is None:
        forget("portal")
        forget("web")
        return
    from modem import portal

    if want == "setup" and board.ap is None:
        uid = board.uid()
        pw = modem.values["SETUPPW"]
        pw = pw if len(pw) >= 8 else portal.ap_password(uid)  # WPA2: 8 at least
        name = portal.ap_name(uid)
        board.ap = (name, ap_start(board.link, name, pw))
    try:
        server = await portal.open_server(
            modem, want == "setup", modem.values["WEBPORT"], None, board.ap
        )
    except NetError as e:  # the port is taken: try again at the next poll
        board.log("web: %s" % e.text)
        board.web_mode = None
        return
    board.web_task = asyncio.create_task(server.serve())
