"""The KMS error catalogue (kms/kms_errors.def) against the botocore model of
KMS (issue 17 item 8): every code kmsd renders that is an error shape of
the model has the status the model assigns it - error.httpStatusCode when
the shape has one, otherwise 500 for a "fault" (server) shape and 400 for a
client shape, the awsJson1_1 defaults botocore applies. The one documented
exception is DryRunOperationException, 412 in AWS's Smithy model
(httpError) and on the wire. Codes that are not shapes of the model must be
the protocol's common errors. No server is started."""
import glob
import gzip
import json
import os
import re
import unittest

import botocore

SOURCE_DIR = os.environ.get("KMSD_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Statuses AWS documents where botocore's model has none: the Smithy model's
# httpError trait (com.amazonaws.kms#DryRunOperationException: 412).
DOCUMENTED = {"DryRunOperationException": 412}
# Errors every AWS JSON API can answer that are not KMS shapes
# (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html).
COMMON = {"AccessDeniedException", "ExpiredTokenException", "IncompleteSignatureException",
          "InvalidSignatureException", "MissingAuthenticationTokenException", "NotAuthorizedException",
          "SerializationException", "UnknownOperationException", "UnrecognizedClientException",
          "ValidationException"}


def catalogue():
    rows = []
    with open(os.path.join(SOURCE_DIR, "kms", "kms_errors.def")) as f:
        for line in f:
            m = re.match(r'X\((KMS_E_\w+), "(\w+)", (\d+)\)', line)
            if m:
                rows.append((m.group(1), m.group(2), int(m.group(3))))
            elif line.startswith("X("):
                raise AssertionError("unparsed catalogue row: " + line)
    return rows


def model():
    base = os.path.join(os.path.dirname(botocore.__file__), "data", "kms")
    paths = sorted(glob.glob(os.path.join(base, "*", "service-2.json*")))
    assert paths, "no botocore KMS model under " + base
    p = paths[-1]
    with (gzip.open(p, "rt") if p.endswith(".gz") else open(p)) as f:
        return json.load(f)


def expected_status(shape):
    err = shape.get("error") or {}
    if "httpStatusCode" in err:
        return err["httpStatusCode"]
    return 500 if shape.get("fault") else 400


class ErrorCatalogue(unittest.TestCase):
    def test_statuses_match_the_model(self):
        shapes = model()["shapes"]
        rows = catalogue()
        self.assertGreater(len(rows), 20)
        seen = set()
        for enum, code, status in rows:
            with self.subTest(code=code):
                self.assertNotIn(code, seen, "duplicate code")
                seen.add(code)
                shape = shapes.get(code)
                if shape is None or not shape.get("exception"):
                    self.assertIn(code, COMMON, "%s is neither a KMS error shape nor a common error" % code)
                    self.assertIn(status, (400, 403), code)
                    continue
                want = DOCUMENTED.get(code, expected_status(shape))
                self.assertEqual(status, want, "%s (%s): catalogue %d, model %d" % (code, enum, status, want))

    def test_every_code_kmsd_renders_is_in_the_catalogue(self):
        # kms_fail takes the enum; no source may render a code by string any more.
        codes = {c for _, c, _ in catalogue()}
        for path in glob.glob(os.path.join(SOURCE_DIR, "kms", "*.c")):
            with open(path) as f:
                text = f.read()
            with self.subTest(file=os.path.basename(path)):
                m = re.search(r'kms_fail\([^,]+, "\w+"', text)
                self.assertIsNone(m, "string error code: %s" % (m.group(0) if m else ""))
                if os.path.basename(path) != "kms_errors.c":
                    m = re.search(r'core_reply_error\([^;]*', text)
                    self.assertIsNone(m, "status chosen outside the catalogue: %s" % (m.group(0) if m else ""))
                for m in re.finditer(r"KMS_E_[A-Z_]+", text):
                    self.assertIn(m.group(0), {e for e, _, _ in catalogue()} | {"KMS_E_COUNT"})
        self.assertIn("NotFoundException", codes)

    def test_fault_shapes_are_500(self):
        shapes = model()["shapes"]
        rows = {c: s for _, c, s in catalogue()}
        for name, shape in shapes.items():
            if shape.get("exception") and shape.get("fault") and name in rows:
                self.assertEqual(rows[name], 500, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
