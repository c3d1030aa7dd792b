//! SAML federation with real clients: an identity provider made of signxml and lxml
//! (`client-tests/python/saml_idp.py`, an XML-DSig implementation independent of ours) signs a
//! response, and boto3, the AWS CLI and aws-sdk-rust redeem it with `AssumeRoleWithSAML`, call
//! Personalize with the session, and the records are checked against the IAM User Guide's
//! example of an `AssumeRoleWithSAML` record.

use client_tests::python::Venv;
use client_tests::{ALICE, Creds, Emulator, Options};
use emulator::config::{RoleConfig, SamlProviderConfig};
use serde_json::{Value, json};

const IDP: &str = include_str!("../../python/saml_idp.py");
const ROLE: &str = "arn:aws:iam::123456789012:role/SamlFederated";
const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/TestIdP";
const ISSUER: &str = "https://test-idp.example.com/saml";

const BOTO3: &str = r#"
import json, sys
import boto3
endpoint, role, provider, assertion = sys.argv[1:5]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
got = sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion, DurationSeconds=900)
c = got["Credentials"]
p = boto3.client("personalize", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
listed = p.list_dataset_groups()
print(json.dumps({"requestId": got["ResponseMetadata"]["RequestId"], "key": c["AccessKeyId"],
    "subject": got["Subject"], "subjectType": got["SubjectType"], "nameQualifier": got["NameQualifier"],
    "listRequestId": listed["ResponseMetadata"]["RequestId"]}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_the_cli_and_aws_sdk_rust_redeem_a_signed_saml_response() {
    let venv = Venv::locate();
    let idp = tempfile::tempdir().unwrap();
    let dir = idp.path().to_str().unwrap().to_owned();
    venv.python("http://127.0.0.1:9", ALICE, IDP, &["keypair", &dir])
        .await
        .success();
    let certificate = std::fs::read_to_string(idp.path().join("cert.pem")).unwrap();
    let emu = Emulator::start_with(Options::default().file(move |f| {
        let account = &mut f.accounts[0];
        account.saml_providers.push(SamlProviderConfig {
            name: "TestIdP".into(),
            metadata: None,
            certificate: Some(certificate),
        });
        account.roles.push(RoleConfig {
            name: "SamlFederated".into(),
            path: "/".into(),
            role_id: None,
            sessions: Vec::new(),
            deny: Vec::new(),
            trust: Some(vec![PROVIDER.into()]),
            max_session_duration: 3600,
        });
    }))
    .await;
    let ep = emu.endpoint();
    let now = cloudtrail::timefmt::iso_seconds(emu.now());
    // The signed assertion alone, and the whole signed response around it.
    let mut made = Vec::new();
    for part in ["assertion", "response"] {
        let args = ["response", &dir, ISSUER, ROLE, PROVIDER, &now, part];
        let out = venv.python(ep, ALICE, IDP, &args).await;
        made.push(out.success().stdout.trim().to_owned());
    }
    let [assertion, whole] = <[String; 2]>::try_from(made).expect("two documents");

    let boto3_args = [ep, ROLE, PROVIDER, assertion.as_str()];
    let cli_args = [
        "sts",
        "assume-role-with-saml",
        "--role-arn",
        ROLE,
        "--principal-arn",
        PROVIDER,
        "--saml-assertion",
        whole.as_str(),
    ];
    let (by_boto3, by_cli) = tokio::join!(
        venv.python(ep, ALICE, BOTO3, &boto3_args),
        venv.aws(ep, ALICE, &cli_args),
    );
    let boto3 = by_boto3.success().json();
    let qualifier = sts::name_qualifier(ISSUER, "123456789012", "TestIdP");
    assert_eq!(boto3["subject"], "alice@example.com");
    assert_eq!(boto3["subjectType"], "persistent");
    assert_eq!(boto3["nameQualifier"], qualifier.as_str());
    let cli = by_cli.success().json();
    assert_eq!(
        cli["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/SamlFederated/alice@example.com"
    );
    let rust = emu
        .sts(ALICE)
        .assume_role_with_saml()
        .role_arn(ROLE)
        .principal_arn(PROVIDER)
        .saml_assertion(&assertion)
        .send()
        .await
        .expect("aws-sdk-rust AssumeRoleWithSAML");
    assert_eq!(rust.issuer(), Some(ISSUER));
    assert_eq!(rust.source_identity(), Some("alice"));
    let c = rust.credentials().unwrap();
    let session = Creds::leaked(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let listed = emu.personalize(session).list_dataset_groups().send().await;
    assert!(listed.is_ok(), "{listed:?}");
    // A response changed after signing is refused, with the error boto3 names.
    let forged = venv
        .python(ep, ALICE, BOTO3, &[ep, ROLE, PROVIDER, &tampered(&assertion)])
        .await;
    assert_ne!(forged.code, 0);
    assert!(
        forged.stderr.contains("InvalidIdentityToken")
            && forged.stderr.contains("Response signature invalid"),
        "{}",
        forged.stderr
    );

    let delivered = emu.delivered().await;
    let records = &delivered.records;
    let saml: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventName"] == "AssumeRoleWithSAML")
        .collect();
    assert_eq!(saml.len(), 4, "boto3, the CLI, aws-sdk-rust and the forged one");
    let mut agents: Vec<&str> = saml
        .iter()
        .map(|r| r["userAgent"].as_str().unwrap().split('/').next().unwrap())
        .collect();
    agents.sort_unstable();
    assert_eq!(agents, ["Boto3", "Boto3", "aws-cli", "aws-sdk-rust"]);
    let ok = records
        .iter()
        .find(|r| r["requestID"] == boto3["requestId"])
        .unwrap();
    // The members of the guide's example, in its order, with the session tags its
    // session-tags page shows.
    assert_eq!(
        ok["userIdentity"],
        json!({"type": "SAMLUser", "principalId": format!("{qualifier}:alice@example.com"),
               "userName": "alice@example.com", "identityProvider": qualifier})
    );
    let params: Vec<&str> = ok["requestParameters"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        params,
        [
            "sAMLAssertionID",
            "roleSessionName",
            "principalTags",
            "sourceIdentity",
            "durationSeconds",
            "roleArn",
            "principalArn"
        ]
    );
    assert_eq!(ok["requestParameters"]["durationSeconds"], 900);
    assert_eq!(ok["responseElements"]["subjectType"], "persistent");
    assert_eq!(ok["responseElements"]["nameQualifier"], qualifier.as_str());
    assert_eq!(
        ok["resources"][1],
        json!({"accountId": "123456789012", "type": "AWS::IAM::SAMLProvider", "ARN": PROVIDER})
    );
    let used = records
        .iter()
        .find(|r| r["requestID"] == boto3["listRequestId"])
        .unwrap();
    assert_eq!(used["userIdentity"]["accessKeyId"], boto3["key"]);
    assert_eq!(used["userIdentity"]["sessionContext"]["sourceIdentity"], "alice");
    let refused: Vec<&&Value> = saml.iter().filter(|r| r.get("errorCode").is_some()).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["errorCode"], "InvalidIdentityToken");
    assert_eq!(refused[0]["userIdentity"]["userName"], "root@example.com");
}

/// `b64` with its subject changed after it was signed.
fn tampered(b64: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(engine.decode(b64).unwrap()).unwrap();
    engine.encode(xml.replacen(
        ">alice@example.com</saml:NameID>",
        ">root@example.com</saml:NameID>",
        1,
    ))
}
