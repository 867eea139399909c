"""Cold starts stay cheap: each function's import loads only the packages on its list.

No API handler, nor the authorizer, loads boto3 (the CSV import creates its S3 client on its first event,
secrets load it where a deployment has them); `ping`, which never touches the database, loads no driver; the
authorizer loads neither the driver nor boto3. Powertools imports botocore's bare package for its user agent
(under 1 ms); its session and client machinery, what costs, must stay unloaded. A package that joins a list
costs every cold start of the function: README, Speed (bench/cold_start.py) says how much they are worth.
"""

import ast
import json
import subprocess
import sys

import pytest

from conftest import ROOT

POWERTOOLS = {"aws_lambda_powertools", "botocore", "jmespath", "typing_extensions"}
DATABASE = {"pymysql"}  # without the cryptography it would import: people_api/driver.py
PACKAGES = {
    "ping": POWERTOOLS,
    "authorizer": POWERTOOLS | {"jwt", "cryptography"},
    "docs": POWERTOOLS,
    "import_csv": POWERTOOLS | DATABASE,
    **{
        name: POWERTOOLS | DATABASE
        for name in (
            "create_export",
            "create_person",
            "delete_person",
            "export_people",
            "get_export",
            "get_import",
            "get_person",
            "ids_by_last_name",
            "list_exports",
            "list_imports",
            "list_people",
            "migrate",
            "people_by_age",
            "people_changes",
            "purge_changes",
            "purge_exports",
            "purge_imports",
            "update_person",
        )
    },
}
# Modules that only some functions load at cold start: the change feed's (its feed, its purge, the import's writes;
# the API's writes load it on their first write), and Powertools' authorizer response, which every API function
# would load through auth/access.py (the authorizer loads it on its first call).
LOADED_ONLY_BY = {
    "people_api.people.changes": {"people_changes", "purge_changes", "import_csv"},
    "aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event": set(),
}
PROBE = """
import json, sys
import functions.{function}.app
top = {{name.split(".")[0] for name in sys.modules}}
print(json.dumps({{
    "packages": sorted(n for n in top - set(sys.stdlib_module_names) if not n.startswith("_")),
    "botocore.session": "botocore.session" in sys.modules,
    "modules": sorted(set(sys.modules) & {modules!r}),
}}))
"""


def loaded(function: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(function=function, modules=set(LOADED_ONLY_BY))],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_every_function_has_a_list():
    assert set(PACKAGES) == {path.name for path in (ROOT / "functions").iterdir() if (path / "app.py").exists()}


@pytest.mark.parametrize("function", sorted(PACKAGES))
def test_a_function_loads_only_the_packages_on_its_list(function):
    imported = loaded(function)
    extra = {"functions", "people_api"}
    assert set(imported["packages"]) - extra == PACKAGES[function]
    assert not imported["botocore.session"]
    assert set(imported["modules"]) == {module for module, loaders in LOADED_ONLY_BY.items() if function in loaders}


RSA_EXCHANGE = """
import os, sys
import functions.list_people.app
from pymysql import _auth
assert "cryptography" not in sys.modules
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
salt = os.urandom(20)
sent = _auth.sha2_rsa_encrypt(b"s3cr3t", salt, public)
oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
print(key.decrypt(sent, oaep) == _auth._xor_password(b"s3cr3t\\0", salt))
"""


def test_a_login_that_needs_rsa_still_gets_it_without_cryptography_loaded_up_front():
    # caching_sha2_password's exchange without TLS (MySQL 8.4), which the local MariaDB cannot offer: the
    # password PyMySQL would send, decrypted with the server's private key, is the one it must send.
    out = subprocess.run(
        [sys.executable, "-c", RSA_EXCHANGE],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["True"]


def test_every_dataclass_of_the_layer_has_a_docstring():
    # Without one, @dataclass writes one from inspect.signature(cls): 3 to 12 ms per class at each cold start.
    bare = [
        f"{path.relative_to(ROOT)}:{node.name}"
        for path in sorted((ROOT / "layers" / "people_api").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any("dataclass" in ast.unparse(decorator) for decorator in node.decorator_list)
        and ast.get_docstring(node) is None
    ]
    assert bare == []
