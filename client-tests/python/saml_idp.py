"""A SAML 2.0 identity provider for tests: a signing key and certificate, and signed
authentication responses for AWS sign-in, made with signxml and lxml (an implementation of
XML-DSig and exclusive canonicalization independent of the emulator's).

    python saml_idp.py keypair DIR
    python saml_idp.py response DIR ISSUER ROLE_ARN PROVIDER_ARN NOW_RFC3339 SIGN [SUBJECT]

SIGN is "assertion" or "response": which element carries the enveloped signature. The response
is printed base64-encoded, as AssumeRoleWithSAML takes it.
"""

import base64
import datetime
import sys
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def keypair(directory):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-idp.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def response(directory, issuer, role_arn, provider_arn, now, sign, subject="alice@example.com"):
    d = Path(directory)
    now = datetime.datetime.fromisoformat(now.replace("Z", "+00:00"))
    later = now + datetime.timedelta(minutes=5)
    rid, aid = "_" + uuid.uuid4().hex, "_" + uuid.uuid4().hex
    aws = "https://signin.aws.amazon.com/saml"
    attr = "https://aws.amazon.com/SAML/Attributes/"
    doc = f"""<samlp:Response xmlns:samlp="{SAMLP}" ID="{rid}" Version="2.0" IssueInstant="{iso(now)}" Destination="{aws}">
  <saml:Issuer xmlns:saml="{SAML}">{issuer}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion xmlns:saml="{SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" Version="2.0" IssueInstant="{iso(now)}">
    <saml:Issuer>{issuer}</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{iso(later)}" Recipient="{aws}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{iso(now)}" NotOnOrAfter="{iso(later)}">
      <saml:AudienceRestriction><saml:Audience>{aws}</saml:Audience></saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{iso(now)}" SessionIndex="{aid}">
      <saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="{attr}Role"><saml:AttributeValue xsi:type="xs:string">{role_arn},{provider_arn}</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="{attr}RoleSessionName"><saml:AttributeValue xsi:type="xs:string">{subject}</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="{attr}PrincipalTag:CostCenter"><saml:AttributeValue xsi:type="xs:string">987654</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="{attr}SourceIdentity"><saml:AttributeValue xsi:type="xs:string">alice</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
    root = etree.fromstring(doc.encode())
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    key = (d / "key.pem").read_bytes()
    cert = (d / "cert.pem").read_bytes()
    if sign == "assertion":
        assertion = root.find(f"{{{SAML}}}Assertion")
        signed = signer.sign(assertion, key=key, cert=cert, reference_uri=aid)
        root.replace(assertion, signed)
    else:
        root = signer.sign(root, key=key, cert=cert, reference_uri=rid)
    return base64.b64encode(etree.tostring(root)).decode()


if __name__ == "__main__":
    if sys.argv[1] == "keypair":
        keypair(sys.argv[2])
    else:
        print(response(*sys.argv[2:]))
