"""A local etcd cluster for the scale-out tests (docs/scale-out.md).

EtcdCluster(n) starts n etcd members on free loopback ports, each with a
temporary data directory, and waits until the cluster answers. kill(i)
SIGKILLs a member, start_member(i) restarts it on its data, stop() ends them
all and removes the directories. Needs etcd on PATH (scripts/deps.sh --test).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class EtcdCluster:
    """tls: None, or {"ca": PEM path, "cert": server cert, "key": its key,
    "client_cert": ..., "client_key": ... (for the harness's own requests)}:
    the client URLs are https and require a client certificate signed by ca."""

    def __init__(self, n=3, tls=None):
        self.root = tempfile.mkdtemp(prefix="kmsd-etcd-")
        self.tls = tls
        self.n = n
        self.client_ports = [free_port() for _ in range(n)]
        self.peer_ports = [free_port() for _ in range(n)]
        self.procs = [None] * n
        self.names = ["m%d" % i for i in range(n)]
        self.initial = ",".join("%s=http://127.0.0.1:%d" % (self.names[i], self.peer_ports[i]) for i in range(n))

    @property
    def endpoints(self):
        return ",".join("127.0.0.1:%d" % p for p in self.client_ports)

    @property
    def store(self):
        return "etcd://" + self.endpoints

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def ssl_context(self):
        if not self.tls:
            return None
        import ssl
        ctx = ssl.create_default_context(cafile=self.tls["ca"])
        ctx.load_cert_chain(self.tls["client_cert"], self.tls["client_key"])
        return ctx

    def post(self, i, path, body, headers=None, timeout=5):
        """POSTs JSON body to member i's gateway; answers the parsed reply."""
        req = urllib.request.Request("%s://127.0.0.1:%d%s" % (self.scheme, self.client_ports[i], path),
                                     data=json.dumps(body).encode(), method="POST", headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context()) as r:
            return json.load(r)

    def start_member(self, i):
        c = "%s://127.0.0.1:%d" % (self.scheme, self.client_ports[i])
        p = "http://127.0.0.1:%d" % self.peer_ports[i]
        tls = []
        if self.tls:
            tls = ["--cert-file", self.tls["cert"], "--key-file", self.tls["key"],
                   "--trusted-ca-file", self.tls["ca"], "--client-cert-auth"]
        log = open(os.path.join(self.root, "%s.log" % self.names[i]), "ab")
        self.procs[i] = subprocess.Popen(
            ["etcd", "--name", self.names[i], "--data-dir", os.path.join(self.root, self.names[i]),
             "--listen-client-urls", c, "--advertise-client-urls", c,
             "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
             "--initial-cluster", self.initial, "--initial-cluster-state", "new",
             "--initial-cluster-token", os.path.basename(self.root),
             "--max-txn-ops", "10000", "--heartbeat-interval", "50", "--election-timeout", "500"] + tls,
            stdout=log, stderr=log)

    def start(self, timeout=30):
        for i in range(self.n):
            self.start_member(i)
        self.wait(timeout)
        return self

    def healthy(self, i):
        try:
            self.post(i, "/v3/kv/range", {"key": "AA=="}, timeout=2)
            return True
        except Exception:
            return False

    def wait(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if all(self.procs[i] is None or self.healthy(i) for i in range(self.n)):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd cluster did not become healthy; logs in " + self.root)

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.procs[i] = None

    def stop(self):
        for i, p in enumerate(self.procs):
            if p is not None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                self.procs[i] = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
