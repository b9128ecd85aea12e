"""The attacker holds a copy of the data directory, master key included, and
digs in data.mdb for key material that kmsd has destroyed (issue 10, item 5).

LMDB never overwrites a page in place: before the fix, a destroyed key's
sealed material stayed in the file's free pages, and opening every candidate
offset with the master key recovered it. Here a real kmsd creates keys,
rotates and uses them, destroys one when its deletion date passes on the
service clock, and the test scans the raw bytes of data.mdb: the live key's
material is found (so the scan works), the destroyed key's is not. The same
after `kmsctl rekey`: nothing sealed under the old master key is left.

Records are opened with an independent implementation of the keystore's
sealing (docs/keystore.md, "Record sealing"): XChaCha20-Poly1305 built from
python cryptography's ChaCha20Poly1305 and HChaCha20 written out here from
draft-irtf-cfrg-xchacha-03, checked against that draft's test vector."""
import os
import struct
import time
import unittest

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kmsd_harness import Kmsd, err, kmsctl, main

DAY = 86400
MASK = 0xFFFFFFFF
SEAL_OVERHEAD = 1 + 24 + 16
MATERIAL_BYTES = 32


def _rotl(v, c):
    return ((v << c) & MASK) | (v >> (32 - c))


def _qr(x, a, b, c, d):
    x[a] = (x[a] + x[b]) & MASK
    x[d] = _rotl(x[d] ^ x[a], 16)
    x[c] = (x[c] + x[d]) & MASK
    x[b] = _rotl(x[b] ^ x[c], 12)
    x[a] = (x[a] + x[b]) & MASK
    x[d] = _rotl(x[d] ^ x[a], 8)
    x[c] = (x[c] + x[d]) & MASK
    x[b] = _rotl(x[b] ^ x[c], 7)


def hchacha20(key, nonce16):
    # draft-irtf-cfrg-xchacha-03 section 2.2: ChaCha20's rounds, no final addition.
    x = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574] + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(x, 0, 4, 8, 12)
        _qr(x, 1, 5, 9, 13)
        _qr(x, 2, 6, 10, 14)
        _qr(x, 3, 7, 11, 15)
        _qr(x, 0, 5, 10, 15)
        _qr(x, 1, 6, 11, 12)
        _qr(x, 2, 7, 8, 13)
        _qr(x, 3, 4, 9, 14)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def material_ad(account, region, key_id, version):
    rid = "%s/%s/%s/%08x" % (account, region, key_id, version)
    return b"\x01" + b"kms_material\x00" + rid.encode()


def read_current(path):
    """The bytes of the file that is `path` when the read ends.

    A compaction renames a new data.mdb over the old one and then zeroes the
    old file in place (docs/keystore.md, "Destruction"). A read that opened the
    old file before the rename would see a mix: zeros where the shredding has
    passed, old pages (stale copies included) where it has not. Such a read is
    of a file nobody can open any more, so it is thrown away and done again."""
    while True:
        with open(path, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno())
        try:
            cur = os.stat(path)
        except FileNotFoundError:
            continue
        if (st.st_dev, st.st_ino) == (cur.st_dev, cur.st_ino) and st.st_nlink > 0:
            return data


def scan(path, master_key, ads, pt_len=MATERIAL_BYTES):
    """How many places in the file open, under master_key, as each AD's record."""
    data = read_current(path)
    found = {ad: 0 for ad in ads}
    sl = pt_len + SEAL_OVERHEAD
    subkeys = {}
    off = data.find(b"\x01")
    while off >= 0 and off + sl <= len(data):
        nonce = data[off + 1:off + 25]
        sub = subkeys.get(nonce[:16])
        if sub is None:
            sub = subkeys[nonce[:16]] = hchacha20(master_key, nonce[:16])
        aead = ChaCha20Poly1305(sub)
        for ad in ads:
            try:
                aead.decrypt(b"\x00" * 4 + nonce[16:], data[off + 25:off + sl], ad)
                found[ad] += 1
            except Exception:
                pass
        off = data.find(b"\x01", off + 1)
    return found


class Destruction(unittest.TestCase):
    """A kmsd whose service clock the test moves (--clock-file)."""

    def setUp(self):
        self.k = Kmsd()
        self.clock = os.path.join(self.k.root, "clock")
        self.days_ahead(0)
        self.k.extra_args += ["--clock-file", self.clock]
        self.kms = self.k.start().client("kms")
        self.data = os.path.join(self.k.data_dir, "data.mdb")
        self.addCleanup(self.k.cleanup)

    def days_ahead(self, days):
        with open(self.clock + ".tmp", "w") as f:
            f.write("%ds\n" % (days * DAY))
        os.replace(self.clock + ".tmp", self.clock)

    def master_key(self):
        with open(os.path.join(self.k.data_dir, "master.key"), "rb") as f:
            return f.read()

    def test_hchacha20_vector(self):
        # draft-irtf-cfrg-xchacha-03, section 2.2.1.
        key = bytes(range(32))
        nonce = bytes.fromhex("000000090000004a0000000031415927")
        self.assertEqual(hchacha20(key, nonce).hex(),
                         "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")

    def key_ads(self, kid, versions):
        meta = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        arn = meta["Arn"].split(":")
        return [material_ad(arn[4], arn[3], kid, v) for v in range(1, versions + 1)]

    def busy_work(self, keep):
        """Writes that copy leaf pages on write, as a running kmsd does."""
        for i in range(15):
            self.kms.tag_resource(KeyId=keep, Tags=[{"TagKey": "t%d" % i, "TagValue": "v" * 200}])
            self.kms.create_key(Description="filler %d" % i)

    @unittest.skipIf(os.environ.get("KMSD_STORE"), "scans LMDB's data.mdb for old copies; over etcd the records "
                     "live in etcd, where tests/e2e/test_etcd_destroy.py checks the history compaction instead")
    def test_destroyed_key_material_is_gone_from_the_data_file(self):
        kms = self.kms
        doomed = kms.create_key()["KeyMetadata"]["KeyId"]
        keep = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=doomed, Plaintext=b"secret")["CiphertextBlob"]
        for _ in range(2):
            kms.rotate_key_on_demand(KeyId=doomed)
            self.busy_work(keep)
        doomed_ads = self.key_ads(doomed, 3)
        keep_ads = self.key_ads(keep, 1)
        master = self.master_key()

        before = scan(self.data, master, doomed_ads + keep_ads)
        for ad in doomed_ads + keep_ads:
            self.assertGreaterEqual(before[ad], 1, "the scan finds live material")
        print("copies of the doomed key's 3 material versions before deletion:",
              sum(before[a] for a in doomed_ads))

        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        self.days_ahead(8)
        deadline = time.time() + 30
        while True:
            try:
                kms.describe_key(KeyId=doomed)
            except kms.exceptions.NotFoundException:
                break
            self.assertLess(time.time(), deadline, "key not destroyed after its deletion date")
            time.sleep(0.2)
        with self.assertRaises(Exception) as cm:
            kms.decrypt(CiphertextBlob=blob)
        self.assertIn(err(cm.exception)[0], ("NotFoundException", "InvalidCiphertextException"))

        # The delete is visible to readers at commit; the compaction that
        # removes the old copies runs right after it, before the writer's
        # commit returns (docs/keystore.md). Give it a bounded moment. A scan
        # takes seconds under a loaded ASan suite and may have read the file
        # before the swap, so the bound counts scans as well as time: the
        # verdict comes from a scan that began after the deadline, or a clean one.
        scrub_deadline = time.time() + 20
        while True:
            started = time.time()
            after = scan(self.data, master, doomed_ads + keep_ads)
            if [after[a] for a in doomed_ads] == [0, 0, 0] or started > scrub_deadline:
                break
            time.sleep(0.2)
        self.assertEqual([after[a] for a in doomed_ads], [0, 0, 0],
                         "destroyed material recovered from data.mdb; kmsd's log:\n" + self.k.stderr()[-4000:])
        self.assertEqual([after[a] for a in keep_ads], [1],
                         "live material survives, once; kmsd's log:\n" + self.k.stderr()[-4000:])
        self.assertEqual(kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=keep, Plaintext=b"x")["CiphertextBlob"])
                         ["Plaintext"], b"x")

        # After a rekey nothing sealed under the old master key is left.
        self.k.stop()
        rc, out, errout = kmsctl("rekey", "--data-dir", self.k.data_dir, "--new-key-file")
        self.assertEqual(rc, 0, errout)
        self.assertNotEqual(self.master_key(), master)
        self.assertEqual(sum(scan(self.data, master, keep_ads).values()), 0, "old-key record in data.mdb")
        self.assertEqual(sum(scan(self.data, self.master_key(), keep_ads).values()), 1)


if __name__ == "__main__":
    main()
