"""Slow clients against the HTTP front (issue 14, "hold the tail"): a client
that sends its request head and then trickles the body at one byte a second
must not keep its connection (and so a slot of the connection cap) for
longer than the body deadline, which is the head deadline again, counted
from the end of the head. The idle timeout cannot do this: every byte
resets it. Functional bounds only: generous multiples of the deadline, no
performance threshold.
"""
import socket
import threading
import time
import unittest

from kmsd_harness import Kmsd, KmsdTestCase, main

DEADLINE = 3  # --head-timeout, seconds


def slow_body_head(port, length=200):
    """A complete request head announcing a body, and no body yet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
              b"X-Amz-Target: TrentService.ListKeys\r\nContent-Length: %d\r\n\r\n" % length)
    return s


def trickle_until_closed(s, limit):
    """Sends one body byte a second; returns the seconds until the server
    closed the connection, or None if it was still open after limit."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            s.sendall(b"{")
        except OSError:
            return time.monotonic() - t0
        s.settimeout(1.0)
        try:
            data = s.recv(4096)
            if data == b"" or data.startswith(b"HTTP/1.1 4"):
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - t0
    return None


class SlowBodies(KmsdTestCase):
    kmsd_args = ("--head-timeout", str(DEADLINE))

    def test_trickled_body_is_closed_at_the_body_deadline(self):
        """One byte a second after a complete head: closed by the body
        deadline (3 s here), not kept for as long as bytes keep coming."""
        s = slow_body_head(self.k.port)
        try:
            took = trickle_until_closed(s, 8 * DEADLINE)
        finally:
            s.close()
        self.assertIsNotNone(took, "a body trickled at 1 byte/s kept its connection for %d s" % (8 * DEADLINE))

    def test_slow_bodies_do_not_hold_the_server(self):
        """With 64 connections trickling bodies, signed requests are served
        while they trickle, and every trickling connection is closed."""
        socks = [slow_body_head(self.k.port) for _ in range(64)]
        closed = [None] * len(socks)

        def trickle(i):
            closed[i] = trickle_until_closed(socks[i], 8 * DEADLINE)

        threads = [threading.Thread(target=trickle, args=(i,)) for i in range(len(socks))]
        for t in threads:
            t.start()
        try:
            kms = self.k.client("kms")
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            for _ in range(20):
                ct = kms.encrypt(KeyId=key, Plaintext=b"x" * 32)["CiphertextBlob"]
                self.assertEqual(kms.decrypt(CiphertextBlob=ct)["Plaintext"], b"x" * 32)
        finally:
            for t in threads:
                t.join()
            for s in socks:
                s.close()
        self.assertEqual([c for c in closed if c is None], [], "trickling connections still open")

    def test_a_complete_body_after_the_head_is_served(self):
        """The deadline does not touch a normal request: a body that follows
        its head at once is answered (here, a signed Encrypt)."""
        kms = self.k.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        time.sleep(DEADLINE + 1)  # a keep-alive connection idle past the deadline is still usable
        self.assertIn("CiphertextBlob", kms.encrypt(KeyId=key, Plaintext=b"y"))


if __name__ == "__main__":
    main()
