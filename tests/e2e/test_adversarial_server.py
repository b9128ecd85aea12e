"""The attacker's tests for the HTTP front (issue 10, items 10 and 12):
connections that open, send part of a request head and go quiet must not lock
real clients out; the process keeps no core dumps of its memory.
"""
import os
import resource
import socket
import time
import unittest

from kmsd_harness import Kmsd, main

HALF_OPEN = 1100


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class HalfOpenConnections(unittest.TestCase):
    """1,100 connections that each sent a partial request head and went quiet
    (more than the per-IP cap of 512 and the connection cap of 1,024: on
    loopback every client shares one address) must not stop a real client."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd().start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def open_half(self, n):
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.k.port), timeout=5)
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.ListKeys\r\n")
            socks.append(s)
        return socks

    def test_real_client_served_within_a_second(self):
        if raise_fd_limit(HALF_OPEN + 256) < HALF_OPEN + 64:
            self.fail("needs %d file descriptors" % (HALF_OPEN + 64))
        kms = self.k.client("kms")
        kms.list_keys()  # warm: credentials cached, client built
        socks = self.open_half(HALF_OPEN)
        try:
            time.sleep(0.5)  # the server has seen them all
            for attempt in range(3):
                fresh = self.k.client("kms")  # a new connection, as the aws CLI makes
                t0 = time.monotonic()
                fresh.list_keys()
                took = time.monotonic() - t0
                self.assertLess(took, 1.0, "a real client waited %.2f s behind half-open connections" % took)
                print("\nreal client served in %.3f s beside %d half-open connections" % (took, HALF_OPEN))
            rc, out, err = self.k.cli("sts", "get-caller-identity", check=False)
            self.assertEqual(rc, 0, err)
        finally:
            for s in socks:
                s.close()

    def test_busy_keepalive_clients_are_not_shed_first(self):
        """Shedding takes the oldest incomplete or idle connections: a client
        that completes requests keeps being served while half-open ones come."""
        raise_fd_limit(HALF_OPEN + 256)
        kms = self.k.client("kms")
        socks = []
        try:
            for i in range(11):
                socks += self.open_half(100)
                kms.generate_random(NumberOfBytes=8)
        finally:
            for s in socks:
                s.close()


class HeadDeadline(unittest.TestCase):
    """A request head has its own deadline, counted from accept."""

    @classmethod
    def setUpClass(cls):
        cls.k = Kmsd("--head-timeout", "3").start()

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_head_has_its_own_deadline(self):
        """A request head that never completes is closed by the head deadline,
        long before the idle connection timeout (here --head-timeout 3)."""
        s = socket.create_connection(("127.0.0.1", self.k.port), timeout=30)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            t0 = time.monotonic()
            s.settimeout(25)
            data = s.recv(4096)  # b"" when the server closes
            took = time.monotonic() - t0
            self.assertEqual(data, b"")
            self.assertLess(took, 6, "the half-open head stayed %.1f s" % took)
        finally:
            s.close()

    def test_trickled_head_still_has_its_deadline(self):
        """Sending one byte every second does not extend the head deadline."""
        s = socket.create_connection(("127.0.0.1", self.k.port), timeout=30)
        t0 = time.monotonic()
        closed = False
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while time.monotonic() - t0 < 25:
                try:
                    s.sendall(b"X")
                except OSError:
                    closed = True
                    break
                s.settimeout(1.0)
                try:
                    if s.recv(4096) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
            self.assertTrue(closed, "a trickled head stayed open for 25 s")
            self.assertLess(time.monotonic() - t0, 6)
        finally:
            s.close()

    def test_complete_requests_are_unaffected(self):
        kms = self.k.client("kms")
        kms.list_keys()
        time.sleep(4)  # past the head deadline, idle on keep-alive
        kms.list_keys()


class ProcessMemory(unittest.TestCase):
    """Issue 10 item 10: kmsd writes no core dump, and the --passphrase-env
    variable does not stay readable in its environment."""

    PASS = "kmsd-e2e-passphrase-4b1d7c29e3"

    @classmethod
    def setUpClass(cls):
        # As a shell with `ulimit -c unlimited` would start it. ASan itself
        # lowers the core limit unless told not to; the check is kmsd's own.
        env = {"KMSD_E2E_PASS": cls.PASS, "ASAN_OPTIONS": "disable_coredump=0:" + os.environ.get("ASAN_OPTIONS", "")}
        cls.k = Kmsd("--passphrase-env", "KMSD_E2E_PASS", env=env)
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        try:
            cls.k.start()
        finally:
            resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))

    @classmethod
    def tearDownClass(cls):
        cls.k.cleanup()

    def test_core_dumps_disabled(self):
        with open("/proc/%d/limits" % self.k.proc.pid) as f:
            line = [l for l in f if l.startswith("Max core file size")][0]
        self.assertEqual(line.split()[4:6], ["0", "0"], line)

    def test_passphrase_not_in_environment(self):
        self.k.client("kms").list_keys()  # the server runs on the passphrase-derived key
        try:
            with open("/proc/%d/environ" % self.k.proc.pid, "rb") as f:
                environ = f.read()
        except PermissionError:
            return  # not dumpable and not root: the environment is not readable at all
        self.assertIn(b"ASAN_OPTIONS", environ)  # the file is readable and is kmsd's
        self.assertNotIn(self.PASS.encode(), environ)


if __name__ == "__main__":
    main()
