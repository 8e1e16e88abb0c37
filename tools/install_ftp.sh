#!/usr/bin/env bash
# Install vsftpd for the loopback FTP tests in host_tests/ (test_ftp.py).
#
# Idempotent and non-interactive; must run as root on Debian 12. The tests start their own
# vsftpd instance with a generated config (host_tests/ftp_servers.py), so the system service
# the package ships is kept from starting, and stopped and disabled should it be running.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install_ftp.sh: must run as root" >&2
    exit 1
fi

action="already installed"
if ! dpkg-query -W -f='${Status}' vsftpd 2>/dev/null | grep -q 'install ok installed'; then
    action="installed"
    export DEBIAN_FRONTEND=noninteractive
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
    trap cleanup EXIT
    if ! apt-get install -y -q --no-install-recommends vsftpd >/tmp/install_ftp.log 2>&1; then
        apt-get update -q >>/tmp/install_ftp.log 2>&1
        apt-get install -y -q --no-install-recommends vsftpd >>/tmp/install_ftp.log 2>&1 || {
            tail -n 40 /tmp/install_ftp.log >&2
            echo "install_ftp.sh: apt-get install failed (log: /tmp/install_ftp.log)" >&2
            exit 1
        }
    fi
    cleanup
    trap - EXIT
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop vsftpd >/dev/null 2>&1 || true
    systemctl disable vsftpd >/dev/null 2>&1 || true
elif [ -x /etc/init.d/vsftpd ]; then
    /etc/init.d/vsftpd stop >/dev/null 2>&1 || true
    update-rc.d vsftpd disable >/dev/null 2>&1 || true
fi
echo "install_ftp.sh: ${action}: $(dpkg-query -W -f='vsftpd ${Version}' vsftpd) (system service stopped)"
