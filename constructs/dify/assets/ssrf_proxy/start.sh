printf '%s\n' "$SQUID_CONF" > /etc/squid/squid.conf && exec /usr/sbin/squid -f /etc/squid/squid.conf -NYC
