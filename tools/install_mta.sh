#!/usr/bin/env bash
# Install Postfix + Dovecot (POP3) for the loopback mail-server tests in host_tests/.
#
# Idempotent and non-interactive; must run as root on Debian 12. The tests start their own
# isolated Postfix/Dovecot instances (see host_tests/mta.py), so the system services that the
# packages ship are kept from starting, and stopped and disabled should they be running.
set -euo pipefail

start=$(date +%s)
pkgs=(postfix dovecot-core dovecot-pop3d openssl)

have_all() {
    local p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
    done
    [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/dovecot ]
}

stop_system_services() {
    local svc
    for svc in postfix dovecot; do
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            systemctl stop "$svc" >/dev/null 2>&1 || true
            systemctl disable "$svc" >/dev/null 2>&1 || true
        elif [ -x "/etc/init.d/$svc" ]; then
            "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
            update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
    done
    # The system Postfix's master (if one runs despite the above) uses the default config dir.
    if [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; then
        /usr/sbin/postfix stop >/dev/null 2>&1 || true
    fi
}

if [ "$(id -u)" -ne 0 ]; then
    echo "install_mta.sh: must run as root" >&2
    exit 1
fi

action="already installed"
if ! have_all; then
    action="installed"
    export DEBIAN_FRONTEND=noninteractive
    # "No configuration": no /etc/postfix/main.cf is written and no questions are asked.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections

    # Keep maintainer scripts from starting the system daemons during install.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
    trap cleanup EXIT

    apt_install() {
        apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"
    }
    if ! apt_install >/tmp/install_mta.log 2>&1; then
        apt-get update -q >>/tmp/install_mta.log 2>&1
        if ! apt_install >>/tmp/install_mta.log 2>&1; then
            tail -n 40 /tmp/install_mta.log >&2
            echo "install_mta.sh: apt-get install failed (log: /tmp/install_mta.log)" >&2
            exit 1
        fi
    fi
    cleanup
    trap - EXIT
fi

stop_system_services

pf_ver=$(/usr/sbin/postconf -d -h mail_version 2>/dev/null || echo '?')
dc_ver=$(/usr/sbin/dovecot --version 2>/dev/null | cut -d' ' -f1 || echo '?')
echo "install_mta.sh: ${action}: postfix ${pf_ver}, dovecot ${dc_ver}" \
    "($(($(date +%s) - start))s; system services stopped)"
