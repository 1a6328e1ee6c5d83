# Run by `/bin/sh -c` as root in ubuntu/squid. As Dify's own entrypoint does
# (langgenius/dify 1.13.3, docker/ssrf_proxy/docker-entrypoint.sh: access log to
# a file under /var/log/squid, `tail -F` of it to the container's stdout), squid
# writes files its user owns; only root's processes touch stdout/stderr.
set -eu
printf '%s\n' "$SQUID_CONF" > /etc/squid/squid.conf
install -d -o proxy -g proxy /var/log/squid /var/spool/squid
install -o proxy -g proxy -m 0640 /dev/null /var/log/squid/access.log
tail -n 0 -F /var/log/squid/access.log &
# squid replaces the shell: it gets ECS's SIGTERM and its exit status is the
# task's. -d 1 writes cache.log messages to the inherited stderr.
exec /usr/sbin/squid -f /etc/squid/squid.conf -NYC -d 1
