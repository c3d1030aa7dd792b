//! STS with real clients: aws-sdk-rust, boto3 and the AWS CLI assume a role and get session and
//! federation tokens, call Personalize with what they got, and the records are checked member
//! by member against the shapes of the AWS documentation's examples (the IAM User Guide's
//! "Example AWS STS API events in CloudTrail log" and CloudTrail's `userIdentity` page).

use client_tests::python::Venv;
use client_tests::{ALICE, Creds, Emulator, INTERN};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/PersonalizeAdmin";

fn record<'a>(records: &'a [Value], request_id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["requestID"] == request_id)
        .unwrap_or_else(|| panic!("no record of {request_id}"))
}

/// The members every STS record has, as AWS writes them.
fn assert_sts_record(r: &Value, name: &str) {
    assert_eq!(r["eventSource"], "sts.amazonaws.com", "{r}");
    assert_eq!(r["eventName"], name);
    assert_eq!(r["eventType"], "AwsApiCall");
    assert_eq!(r["managementEvent"], true);
    assert_eq!(r["eventCategory"], "Management");
    assert_eq!(r["recipientAccountId"], "123456789012");
    assert!(!r.to_string().contains("ecretAccessKey"), "a secret in {r}");
    if let Some(params) = r["requestParameters"].as_object() {
        assert!(
            params
                .keys()
                .all(|k| k.starts_with(|c: char| c.is_ascii_lowercase())),
            "{r}"
        );
    }
}

#[tokio::test]
async fn aws_sdk_rust_assumes_a_role_gets_tokens_and_calls_personalize_with_them() {
    let emu = Emulator::start().await;
    let sts = emu.sts(ALICE);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/alice"));

    let assumed = sts
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("sdk-session")
        .duration_seconds(1800)
        .source_identity("alice")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let role_creds = Creds::leaked(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/sdk-session"
    );
    let with_role = emu
        .personalize(role_creds)
        .list_dataset_groups()
        .send()
        .await
        .unwrap();
    let role_me = emu.sts(role_creds).get_caller_identity().send().await.unwrap();
    assert_eq!(role_me.user_id(), Some("AROAIOSFODNN7EXAMPLE1:sdk-session"));

    let token = sts
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = token.credentials().unwrap();
    let session_creds = Creds::leaked(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let with_session = emu
        .personalize(session_creds)
        .list_dataset_groups()
        .send()
        .await
        .unwrap();

    let fed = sts.get_federation_token().name("carol").send().await.unwrap();
    let c = fed.credentials().unwrap();
    let fed_creds = Creds::leaked(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let with_fed = emu
        .personalize(fed_creds)
        .list_dataset_groups()
        .send()
        .await
        .unwrap();

    let denied = emu
        .sts(INTERN)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/NoSuchRole")
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    let denied = denied.into_service_error();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&denied),
        Some("AccessDenied")
    );

    let request_id = |m: &dyn aws_sdk_sts::operation::RequestId| m.request_id().unwrap().to_owned();
    let personalize_id =
        |m: &dyn aws_sdk_personalize::operation::RequestId| m.request_id().unwrap().to_owned();
    let delivered = emu.delivered().await;
    let records = &delivered.records;

    let r = record(records, &request_id(&assumed));
    assert_sts_record(r, "AssumeRole");
    assert_eq!(r["readOnly"], true, "CloudTrail records STS calls as read-only");
    assert_eq!(
        r["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "sdk-session", "durationSeconds": 1800, "sourceIdentity": "alice"})
    );
    let creds = &r["responseElements"]["credentials"];
    assert_eq!(creds["accessKeyId"], role_creds.access_key_id);
    assert_eq!(creds["sessionToken"], role_creds.session_token.unwrap());
    // A Java date, as in every real AssumeRole record.
    assert!(
        creds["expiration"].as_str().unwrap().ends_with(" AM")
            || creds["expiration"].as_str().unwrap().ends_with(" PM")
    );
    assert_eq!(
        r["responseElements"]["assumedRoleUser"],
        json!({"assumedRoleId": "AROAIOSFODNN7EXAMPLE1:sdk-session",
               "arn": "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/sdk-session"})
    );
    assert_eq!(r["responseElements"]["sourceIdentity"], "alice");
    assert_eq!(
        r["resources"],
        json!([{"ARN": ROLE, "accountId": "123456789012", "type": "AWS::IAM::Role"}])
    );

    let u = &record(records, &personalize_id(&with_role))["userIdentity"];
    assert_eq!(u["type"], "AssumedRole");
    assert_eq!(u["principalId"], "AROAIOSFODNN7EXAMPLE1:sdk-session");
    assert_eq!(u["accessKeyId"], role_creds.access_key_id);
    assert_eq!(u["sessionContext"]["sessionIssuer"]["arn"], ROLE);
    assert_eq!(u["sessionContext"]["sourceIdentity"], "alice");
    assert_eq!(u["sessionContext"]["attributes"]["mfaAuthenticated"], "false");

    let u = &record(records, &personalize_id(&with_session))["userIdentity"];
    assert_eq!(u["type"], "IAMUser");
    assert_eq!(u["userName"], "alice");
    assert!(u["accessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(u["sessionContext"]["sessionIssuer"], json!({}));

    let u = &record(records, &personalize_id(&with_fed))["userIdentity"];
    assert_eq!(u["type"], "FederatedUser");
    assert_eq!(u["principalId"], "123456789012:carol");
    assert_eq!(u["sessionContext"]["sessionIssuer"]["type"], "IAMUser");

    let who = record(records, &request_id(&me));
    assert_sts_record(who, "GetCallerIdentity");
    assert_eq!(who["readOnly"], true);
    assert_eq!(who["responseElements"], Value::Null);
    let refusal = records
        .iter()
        .find(|r| r["eventName"] == "AssumeRole" && r["errorCode"].is_string())
        .unwrap();
    assert_eq!(refusal["errorCode"], "AccessDenied");
    assert_eq!(refusal["userIdentity"]["userName"], "intern");
}

const SCRIPT: &str = r#"
import json, sys
import boto3
from botocore.exceptions import ClientError

endpoint, role, https, ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
out = {"whoami": sts.get_caller_identity()["Arn"]}
# The same port over TLS, trusting the certificate the emulator made.
over_tls = boto3.client("sts", endpoint_url=https, region_name="us-east-1", verify=ca)
out["tlsRequestId"] = over_tls.get_caller_identity()["ResponseMetadata"]["RequestId"]
a = sts.assume_role(RoleArn=role, RoleSessionName="boto-session",
                    Tags=[{"Key": "Project", "Value": "recs"}], TransitiveTagKeys=["Project"])
c = a["Credentials"]
out["expirationType"] = type(c["Expiration"]).__name__
out["assumeRequestId"] = a["ResponseMetadata"]["RequestId"]
p = boto3.client("personalize", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                 aws_session_token=c["SessionToken"])
out["listRequestId"] = p.list_dataset_groups()["ResponseMetadata"]["RequestId"]
out["key"] = c["AccessKeyId"]
try:
    sts.assume_role(RoleArn=role, RoleSessionName="too-long", DurationSeconds=43200)
except ClientError as e:
    out["tooLong"] = e.response["Error"]["Code"]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
out["regions"] = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
try:
    ec2.describe_instances()
except ClientError as e:
    out["ec2"] = e.response["Error"]["Code"]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
try:
    iam.get_account_summary()
except ClientError as e:
    out["iam"] = e.response["Error"]["Code"]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_and_the_cli_assume_roles_and_read_unserved_services_errors() {
    let venv = Venv::locate();
    let emu = Emulator::start().await;
    let ep = emu.endpoint();
    let https = format!("https://localhost:{}", emu.addr().port());
    let ca = emu.data_dir().join(".tls/certificate.pem");
    let script_args = [ep, ROLE, https.as_str(), ca.to_str().unwrap()];
    let (run, cli_token) = tokio::join!(
        venv.python(ep, ALICE, SCRIPT, &script_args),
        venv.aws(
            ep,
            ALICE,
            &["sts", "get-session-token", "--duration-seconds", "900"]
        ),
    );
    let out = run.success().json();
    assert_eq!(out["whoami"], "arn:aws:iam::123456789012:user/alice");
    // botocore parsed the ISO 8601 expiration into a datetime.
    assert_eq!(out["expirationType"], "datetime");
    assert_eq!(out["tooLong"], "ValidationError");
    assert_eq!(out["ec2"], "InvalidAction");
    // What scanners ask EC2 first: the Regions to look at.
    let regions: Vec<&str> = out["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        regions.contains(&"us-east-1") && regions.contains(&"eu-west-1"),
        "{regions:?}"
    );
    assert!(
        !regions
            .iter()
            .any(|r| r.starts_with("cn-") || r.starts_with("us-gov-"))
    );
    assert_eq!(out["iam"], "InvalidAction");
    let token = cli_token.success().json();
    let c = &token["Credentials"];
    let creds = Creds::leaked(
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        c["SessionToken"].as_str(),
    );
    let listed = venv.aws(ep, creds, &["personalize", "list-dataset-groups"]).await;
    listed.success();

    let delivered = emu.delivered().await;
    let records = &delivered.records;
    // OpenSSL (through botocore) over the emulator's TLS: the handshake's own details.
    let over_tls = &record(records, out["tlsRequestId"].as_str().unwrap())["tlsDetails"];
    assert_eq!(over_tls["tlsVersion"], "TLSv1.3", "{over_tls}");
    assert!(
        over_tls["cipherSuite"].as_str().unwrap().starts_with("TLS_"),
        "{over_tls}"
    );
    assert_eq!(
        over_tls["clientProvidedHostHeader"],
        https.trim_start_matches("https://")
    );
    let r = record(records, out["assumeRequestId"].as_str().unwrap());
    assert_sts_record(r, "AssumeRole");
    assert!(r.get("tlsDetails").is_none(), "plain HTTP has no tlsDetails");
    assert_eq!(
        r["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "boto-session",
               "tags": [{"key": "Project", "value": "recs"}], "transitiveTagKeys": ["Project"]})
    );
    let used = record(records, out["listRequestId"].as_str().unwrap());
    assert_eq!(used["userIdentity"]["accessKeyId"], out["key"]);
    assert_eq!(used["userIdentity"]["type"], "AssumedRole");
    let by_cli_session = records
        .iter()
        .find(|r| {
            r["userIdentity"]["accessKeyId"] == creds.access_key_id && r["eventName"] == "ListDatasetGroups"
        })
        .expect("the CLI's call with its session token");
    assert_eq!(by_cli_session["userIdentity"]["type"], "IAMUser");
    assert!(
        by_cli_session["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("aws-cli/")
    );
    let ec2 = records
        .iter()
        .find(|r| r["eventSource"] == "ec2.amazonaws.com")
        .unwrap();
    assert_eq!(
        (ec2["eventName"].as_str(), ec2["errorCode"].as_str()),
        (Some("DescribeRegions"), None)
    );
}

#[tokio::test]
async fn the_sts_table_lists_the_models_operations() {
    let venv = Venv::locate();
    let model = venv.botocore_model("sts", "service-2");
    let mut from_model: Vec<&str> = model["operations"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    from_model.sort_unstable();
    let listed: Vec<&str> = emulator::sts::OPERATIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(listed, from_model);
}
