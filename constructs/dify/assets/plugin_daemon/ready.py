# The plugin daemon's container health check (run by ECS as `python3 - <<'EOF' … EOF` under
# /bin/sh in the daemon's image, Ubuntu 24.04 with python3.12 and no AWS SDK): healthy only once
# this node runs every installed plugin, so a rolling deploy keeps the old task until the new
# one can serve. dify-plugin-daemon 0.5.5 answers /health/check before it launches plugins
# (internal/server/server.go), lists the installed ones under S3 `plugin/` every 30 s
# (server_local.go) and serves a plugin only from the node that runs it. The probe is the lookup
# every request goes through: 400 (body rejected) when the runtime is here, 404 "no available
# node" when not (internal/server/middleware.go, http_server.go at 0.5.5). The reading of the
# source is in docs/research-daemon-readiness.md; tests/artifact/test_plugin_daemon_ready.py runs
# this script from the template against a fake daemon and S3.
import hashlib, hmac, json, os, re, sys, time, urllib.error, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
MARK = "/tmp/.plugins-ready"   # latch: once every installed plugin was up, only liveness is checked
# >0: latch anyway once the container is this many seconds old, so one plugin that can never
# start on a fresh node delays a rollout instead of blocking it forever.
DEADLINE = int(os.environ.get("PLUGIN_READINESS_DEADLINE_SECONDS", "0"))
BASE = "http://127.0.0.1:" + os.environ.get("SERVER_PORT", "5002")
RX = re.compile(r"^(?:[a-z0-9_-]{1,64}/)?[a-z0-9_-]{1,255}:[0-9]{1,4}(\.[0-9]{1,4}){1,3}(-\w{1,16})?@[a-f0-9]{32,64}$", re.A)

LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never proxy 127.0.0.1 / 169.254.170.2

def http(req, timeout=3, opener=LOCAL):
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def done(ok, msg=""):
    if msg:
        print(msg)
    sys.exit(0 if ok else 1)

def creds():
    rel = os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    full = os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if not (rel or full):  # static keys, as the daemon reads them
        return os.environ["AWS_ACCESS_KEY"], os.environ["AWS_SECRET_KEY"], None
    req = urllib.request.Request(full or "http://169.254.170.2" + rel)
    if os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        req.add_header("Authorization", os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
    c = json.loads(http(req)[1])
    return c["AccessKeyId"], c["SecretAccessKey"], c.get("Token")

def q(s):
    return urllib.parse.quote(s, safe="-_.~")

def s3_keys(prefix):
    region, bucket = os.environ["AWS_REGION"], os.environ["PLUGIN_STORAGE_OSS_BUCKET"]
    ep = urllib.parse.urlsplit(os.environ.get("S3_ENDPOINT") or "https://s3.%s.amazonaws.com" % region)
    path_style = os.environ.get("S3_USE_PATH_STYLE", "true").lower() == "true"
    host, path = (ep.netloc, "/%s/" % bucket) if path_style else ("%s.%s" % (bucket, ep.netloc), "/")
    ak, sk, tk = creds()
    keys, token = [], None
    while True:
        params = {"list-type": "2", "prefix": prefix}
        if token:
            params["continuation-token"] = token
        query = "&".join(q(k) + "=" + q(v) for k, v in sorted(params.items()))
        amzdate = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
        h = {"host": host, "x-amz-date": amzdate, "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()}
        if tk:
            h["x-amz-security-token"] = tk
        signed = ";".join(sorted(h))
        canon = "\n".join(["GET", path, query, "".join("%s:%s\n" % (k, h[k]) for k in sorted(h)), signed, h["x-amz-content-sha256"]])
        key = ("AWS4" + sk).encode()
        for part in (amzdate[:8], region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canon.encode()).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request("%s://%s%s?%s" % (ep.scheme, host, path, query), headers={k: v for k, v in h.items() if k != "host"})
        req.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ak, scope, signed, sig))
        status, body = http(req, 5, urllib.request.build_opener())  # S3: honours HTTPS_PROXY like the daemon
        if status != 200:
            done(False, "S3 list %s: %s" % (status, body[:300]))
        el = {}
        for e in ET.fromstring(body).iter():
            tag = e.tag.rsplit("}", 1)[-1]
            if tag == "Key":
                keys.append(e.text or "")
            elif tag in ("IsTruncated", "NextContinuationToken"):
                el[tag] = e.text
        if el.get("IsTruncated") != "true":
            return keys
        token = el["NextContinuationToken"]

def launched(ident):  # same check the daemon makes before serving a request (NeedRedirecting)
    req = urllib.request.Request(BASE + "/v2/invoke/dispatch/model/schema", data=b"{}", method="POST", headers={
        "Content-Type": "application/json", "X-Api-Key": os.environ["SERVER_KEY"], "X-Plugin-Unique-Identifier": ident})
    status, body = http(req)
    if status == 401:
        done(False, "SERVER_KEY rejected")
    return status == 400  # 400 = reached the handler (runtime on this node); 404 = "no available node"

if http(BASE + "/health/check")[0] != 200:
    done(False, "daemon not answering /health/check")
if os.path.exists(MARK):
    done(True)
prefix = os.environ.get("PLUGIN_INSTALLED_PATH", "plugin").rstrip("/") + "/"
ids = sorted(i for i in (k[len(prefix):].lstrip("/") for k in s3_keys(prefix)) if not i.startswith(".") and RX.match(i))
for n, ident in enumerate(ids):
    if not launched(ident):
        if DEADLINE:
            up = float(open("/proc/uptime").read().split()[0])
            start = int(open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            if up - start > DEADLINE:
                print("container older than %ds: latching ready although %s is not launched" % (DEADLINE, ident))
                break
        done(False, "%d/%d installed plugins launched; waiting for %s" % (n, len(ids), ident))
else:
    print("all %d installed plugins launched" % len(ids))
open(MARK, "w").close()
done(True)
