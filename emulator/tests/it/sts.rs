//! STS over the Query protocol: the credentials it issues work at once and expire when they
//! say, trust is checked, every call is recorded as CloudTrail records STS calls, and services
//! nobody here serves answer in their own protocol.

use std::time::Duration;

use emulator::sigv4::Signer;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::common::*;

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/PersonalizeAdmin";

pub(crate) fn sts(key: &str, secret: &str) -> Signer {
    Signer::new(key, secret, "us-east-1", "sts")
}

/// The text of the first `<tag>` in an XML body.
pub(crate) fn xml<'a>(body: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = body
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {body}"));
    let end = body[start..].find(&format!("</{tag}>")).unwrap() + start;
    &body[start..end]
}

/// Temporary credentials from an STS response.
pub(crate) struct Issued {
    key: String,
    secret: String,
    token: String,
}

impl Issued {
    pub(crate) fn from(body: &str) -> Issued {
        Issued {
            key: xml(body, "AccessKeyId").to_owned(),
            secret: xml(body, "SecretAccessKey").to_owned(),
            token: xml(body, "SessionToken").to_owned(),
        }
    }

    pub(crate) fn signer(&self, service: &str) -> Signer {
        Signer::new(&self.key, &self.secret, "us-east-1", service).with_session_token(&self.token)
    }
}

/// A Query body: `Action`, `Version` and `params`, form-encoded.
fn form_body(action: &str, params: &[(&str, &str)]) -> String {
    let mut body = format!("Action={action}&Version=2011-06-15");
    for (k, v) in params {
        body.push_str(&format!(
            "&{k}={}",
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    body
}

impl Harness {
    /// `AssumeRole` of the demo role, as `signer`, for `secs` seconds.
    pub(crate) async fn assume(&self, signer: &Signer, session: &str, secs: &str) -> Response {
        self.query(
            signer,
            "AssumeRole",
            &[
                ("RoleArn", ROLE),
                ("RoleSessionName", session),
                ("DurationSeconds", secs),
            ],
        )
        .await
    }

    /// A signed Query call (`Action` and `Version` added).
    pub(crate) async fn query(&self, signer: &Signer, action: &str, params: &[(&str, &str)]) -> Response {
        let body = form_body(action, params);
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        self.signed(signer, Method::POST, "/", h, body).await
    }
}

pub(crate) fn text(r: &Response) -> String {
    String::from_utf8(r.body.to_vec()).unwrap()
}

#[tokio::test]
async fn role_sessions_work_at_once_expire_when_they_say_and_are_recorded() {
    let h = Harness::start().await;
    let alice = sts(ALICE.0, ALICE.1);
    let who = h.query(&alice, "GetCallerIdentity", &[]).await;
    assert_eq!(who.status, 200, "{}", text(&who));
    assert_eq!(who.headers["content-type"], "text/xml");
    assert_eq!(xml(&text(&who), "Arn"), "arn:aws:iam::123456789012:user/alice");
    assert_eq!(xml(&text(&who), "UserId"), "AIDAJ45Q7YFFAREXAMPLE");

    let assumed = h
        .query(
            &alice,
            "AssumeRole",
            &[
                ("RoleArn", ROLE),
                ("RoleSessionName", "build-42"),
                ("DurationSeconds", "900"),
                ("Tags.member.1.Key", "Project"),
                ("Tags.member.1.Value", "recs"),
            ],
        )
        .await;
    assert_eq!(assumed.status, 200, "{}", text(&assumed));
    let body = text(&assumed);
    assert!(body.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    assert_eq!(xml(&body, "Expiration"), "2026-03-01T10:15:00Z");
    assert_eq!(
        xml(&body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/build-42"
    );
    let session = Issued::from(&body);
    assert!(session.key.starts_with("ASIA") && session.key.len() == 20);

    // The new credentials work at once, on another service, and name the session.
    h.clock.advance(Duration::from_secs(60));
    let list = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let me = h.query(&session.signer("sts"), "GetCallerIdentity", &[]).await;
    assert_eq!(xml(&text(&me), "UserId"), "AROAIOSFODNN7EXAMPLE1:build-42");
    // Without the token they are refused.
    let no_token = Signer::new(&session.key, &session.secret, "us-east-1", "personalize");
    assert_eq!(
        h.personalize(&no_token, "ListDatasetGroups", "{}")
            .await
            .error_type(),
        "UnrecognizedClientException"
    );
    // And they end when they said.
    h.clock.advance(Duration::from_secs(840));
    let late = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(late.error_type(), "ExpiredTokenException");

    let records = h.flushed_records().await;
    let r = by_request_id(&records, &assumed.request_id());
    assert_eq!(r["eventSource"], "sts.amazonaws.com");
    assert_eq!(r["eventName"], "AssumeRole");
    assert_eq!(r["readOnly"], true, "CloudTrail records STS calls as read-only");
    assert_eq!(
        r["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "build-42", "durationSeconds": 900,
               "tags": [{"key": "Project", "value": "recs"}]})
    );
    let creds = &r["responseElements"]["credentials"];
    assert_eq!(creds["accessKeyId"], session.key.as_str());
    assert_eq!(creds["expiration"], "Mar 1, 2026 10:15:00 AM");
    assert!(creds.get("secretAccessKey").is_none(), "{r}");
    assert_eq!(
        r["responseElements"]["assumedRoleUser"]["assumedRoleId"],
        "AROAIOSFODNN7EXAMPLE1:build-42"
    );
    assert_eq!(
        r["resources"],
        json!([{"ARN": ROLE, "accountId": "123456789012", "type": "AWS::IAM::Role"}])
    );
    let used = by_request_id(&records, &list.request_id());
    let u = &used["userIdentity"];
    assert_eq!(u["type"], "AssumedRole");
    assert_eq!(u["accessKeyId"], session.key.as_str());
    assert_eq!(
        u["arn"],
        "arn:aws:sts::123456789012:assumed-role/PersonalizeAdmin/build-42"
    );
    // The session is as old as it is: issued at 10:00:00, used at 10:01:00.
    assert_eq!(
        u["sessionContext"]["attributes"]["creationDate"],
        "2026-03-01T10:00:00Z"
    );
    assert_eq!(used["eventTime"], "2026-03-01T10:01:00Z");
    let who = by_request_id(&records, &who.request_id());
    assert_eq!(who["readOnly"], true);
    assert_eq!(who["requestParameters"], Value::Null);
    assert_eq!(who["responseElements"], Value::Null);
}

#[tokio::test]
async fn trust_decides_who_may_assume_a_role_and_refusals_are_recorded() {
    let h = Harness::start_with(|f| {
        let role = &mut f.accounts[0].roles[0];
        role.trust = Some(vec![
            "arn:aws:iam::123456789012:user/alice".into(),
            "personalize.amazonaws.com".into(),
        ]);
        role.max_session_duration = 7200;
    })
    .await;
    let intern = sts(INTERN.0, INTERN.1);
    let refused = h
        .query(
            &intern,
            "AssumeRole",
            &[("RoleArn", ROLE), ("RoleSessionName", "try")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", text(&refused));
    let body = text(&refused);
    assert_eq!(xml(&body, "Code"), "AccessDenied");
    assert_eq!(xml(&body, "Type"), "Sender");
    assert_eq!(
        xml(&body, "Message"),
        format!(
            "User: arn:aws:iam::123456789012:user/trainees/intern is not authorized to perform: sts:AssumeRole on \
             resource: {ROLE}"
        )
    );
    // A service principal the trust names (its records show no access key).
    let by_service = h
        .query(
            &sts(SERVICE.0, SERVICE.1),
            "AssumeRole",
            &[("RoleArn", ROLE), ("RoleSessionName", "svc")],
        )
        .await;
    assert_eq!(by_service.status, 200, "{}", text(&by_service));
    let unknown = h
        .query(
            &sts(ALICE.0, ALICE.1),
            "AssumeRole",
            &[
                ("RoleArn", "arn:aws:iam::123456789012:role/Nope"),
                ("RoleSessionName", "try"),
            ],
        )
        .await;
    assert_eq!(xml(&text(&unknown), "Code"), "AccessDenied");
    // The role allows two hours, but a session assuming a role again gets at most one.
    let alice = sts(ALICE.0, ALICE.1);
    let long = h.assume(&alice, "long", "7200").await;
    assert_eq!(long.status, 200, "{}", text(&long));
    let too_long = h
        .query(
            &alice,
            "AssumeRole",
            &[
                ("RoleArn", ROLE),
                ("RoleSessionName", "long"),
                ("DurationSeconds", "7201"),
            ],
        )
        .await;
    assert_eq!(xml(&text(&too_long), "Code"), "ValidationError");
    let bad_name = h
        .query(
            &alice,
            "AssumeRole",
            &[("RoleArn", ROLE), ("RoleSessionName", "no spaces")],
        )
        .await;
    assert_eq!(xml(&text(&bad_name), "Code"), "ValidationError");
    let unknown_action = h.query(&alice, "AssumeEverything", &[]).await;
    assert_eq!(unknown_action.status, 400);
    assert_eq!(xml(&text(&unknown_action), "Code"), "InvalidAction");
    // A wrong signature is answered in STS's own words.
    let forged = h
        .query(&sts(ALICE.0, "not-the-secret"), "GetCallerIdentity", &[])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(xml(&text(&forged), "Code"), "SignatureDoesNotMatch");

    let records = h.flushed_records().await;
    let svc = by_request_id(&records, &by_service.request_id());
    assert_eq!(svc["userIdentity"]["type"], "AWSService");
    // A service's AssumeRole carries a sharedEventID, as AWS writes it.
    assert!(uuid::Uuid::parse_str(svc["sharedEventID"].as_str().unwrap()).is_ok());
    assert_eq!(svc["sourceIPAddress"], "personalize.amazonaws.com");
    let r = by_request_id(&records, &refused.request_id());
    assert_eq!(r["errorCode"], "AccessDenied");
    assert_eq!(r["userIdentity"]["userName"], "intern");
    assert_eq!(
        r["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "try"})
    );
    assert_eq!(r["responseElements"], Value::Null);
}

#[tokio::test]
async fn session_and_federation_tokens_carry_the_identities_aws_writes() {
    let h = Harness::start().await;
    let alice = sts(ALICE.0, ALICE.1);
    let token = h
        .query(
            &alice,
            "GetSessionToken",
            &[
                ("SerialNumber", "arn:aws:iam::123456789012:mfa/alice"),
                ("TokenCode", "123456"),
            ],
        )
        .await;
    assert_eq!(token.status, 200, "{}", text(&token));
    let session = Issued::from(&text(&token));
    let federation = h.query(&alice, "GetFederationToken", &[("Name", "carol")]).await;
    assert_eq!(federation.status, 200, "{}", text(&federation));
    assert_eq!(xml(&text(&federation), "FederatedUserId"), "123456789012:carol");
    let fed = Issued::from(&text(&federation));

    let by_session = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(by_session.status, 200);
    let by_fed = h
        .personalize(&fed.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(by_fed.status, 200);
    // Session credentials cannot get more session credentials.
    let again = h.query(&session.signer("sts"), "GetSessionToken", &[]).await;
    assert_eq!(again.status, 403);
    // Deny rules follow the user into their sessions.
    let intern_token = h.query(&sts(INTERN.0, INTERN.1), "GetSessionToken", &[]).await;
    let intern = Issued::from(&text(&intern_token));
    let denied = h
        .personalize(
            &intern.signer("personalize"),
            "DeleteSchema",
            r#"{"schemaArn":"arn:aws:personalize:us-east-1:123456789012:schema/x"}"#,
        )
        .await;
    assert_eq!(denied.error_type(), "AccessDeniedException");
    let info = h
        .query(
            &alice,
            "GetAccessKeyInfo",
            &[("AccessKeyId", session.key.as_str())],
        )
        .await;
    assert_eq!(xml(&text(&info), "Account"), "123456789012");

    let records = h.flushed_records().await;
    let u = &by_request_id(&records, &by_session.request_id())["userIdentity"];
    assert_eq!(u["type"], "IAMUser");
    assert_eq!(u["arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(u["accessKeyId"], session.key.as_str());
    assert_eq!(
        u["sessionContext"],
        json!({"sessionIssuer": {}, "webIdFederationData": {},
               "attributes": {"creationDate": "2026-03-01T10:00:00Z", "mfaAuthenticated": "true"}})
    );
    let u = &by_request_id(&records, &by_fed.request_id())["userIdentity"];
    assert_eq!(u["type"], "FederatedUser");
    assert_eq!(u["arn"], "arn:aws:sts::123456789012:federated-user/carol");
    assert_eq!(
        u["sessionContext"]["sessionIssuer"]["arn"],
        "arn:aws:iam::123456789012:user/alice"
    );
    let r = by_request_id(&records, &token.request_id());
    // The one-time code is never recorded.
    assert_eq!(
        r["requestParameters"],
        json!({"serialNumber": "arn:aws:iam::123456789012:mfa/alice"})
    );
    assert_eq!(
        by_request_id(&records, &denied.request_id())["errorCode"],
        "AccessDenied"
    );
}

#[tokio::test]
async fn services_not_served_here_answer_in_their_own_protocol_and_are_recorded_and_ec2_lists_regions() {
    let h = Harness::start().await;
    let form = |service: &str| {
        (Signer::new(ALICE.0, ALICE.1, "us-east-1", service), {
            let mut hm = HeaderMap::new();
            hm.insert(
                "content-type",
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
            hm
        })
    };
    // EC2 serves DescribeRegions only; its other actions answer EC2's own error.
    let (ec2, headers) = form("ec2");
    let regions = h
        .signed(
            &ec2,
            Method::POST,
            "/",
            headers.clone(),
            "Action=DescribeRegions&Version=2016-11-15&RegionName.1=eu-west-1",
        )
        .await;
    assert_eq!(regions.status, 200, "{}", text(&regions));
    let body = text(&regions);
    assert!(
        body.contains(
            "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"
        ),
        "{body}"
    );
    assert!(
        body.contains("<regionInfo><item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item></regionInfo>"),
        "{body}"
    );
    let instances = h
        .signed(
            &ec2,
            Method::POST,
            "/",
            headers,
            "Action=DescribeInstances&Version=2016-11-15",
        )
        .await;
    assert_eq!(instances.status, 400);
    assert!(
        text(&instances).contains("<Response><Errors><Error><Code>InvalidAction</Code>"),
        "{}",
        text(&instances)
    );
    let (iam, headers) = form("iam");
    let summary = h
        .signed(
            &iam,
            Method::POST,
            "/",
            headers,
            "Action=GetAccountSummary&Version=2010-05-08",
        )
        .await;
    assert!(
        text(&summary).starts_with("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>")
    );
    let ddb = Signer::new(ALICE.0, ALICE.1, "us-east-1", "dynamodb");
    let tables = h.json(&ddb, "DynamoDB_20120810.ListTables", "{}").await;
    assert_eq!(tables.status, 400);
    assert_eq!(tables.error_type(), "UnknownOperationException");
    let lambda = Signer::new(ALICE.0, ALICE.1, "us-east-1", "lambda");
    let functions = h
        .signed(
            &lambda,
            Method::GET,
            "/2015-03-31/functions/",
            HeaderMap::new(),
            "",
        )
        .await;
    assert_eq!(functions.status, 404);
    assert_eq!(functions.error_type(), "UnknownOperationException");

    let records = h.flushed_records().await;
    let r = by_request_id(&records, &regions.request_id());
    assert_eq!(r["eventSource"], "ec2.amazonaws.com");
    assert_eq!(r["eventName"], "DescribeRegions");
    assert_eq!(r["readOnly"], true);
    assert!(r.get("errorCode").is_none());
    assert_eq!(
        r["requestParameters"],
        json!({"regionSet": {"items": [{"regionName": "eu-west-1"}]}})
    );
    let r = by_request_id(&records, &summary.request_id());
    assert_eq!(r["eventSource"], "iam.amazonaws.com");
    assert_eq!(r["eventName"], "GetAccountSummary");
    assert_eq!(r["errorCode"], "InvalidAction");
    let r = by_request_id(&records, &tables.request_id());
    assert_eq!(r["eventSource"], "dynamodb.amazonaws.com");
    assert_eq!(r["eventName"], "ListTables");
    // A REST call names no operation we could read without its model, so it is not recorded.
    assert!(records.iter().all(|r| r["eventSource"] != "lambda.amazonaws.com"));
}

/// An HS256 JWT with `claims`, signed with `secret`.
fn jwt(claims: &Value, secret: &str) -> String {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let signed = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let tag = sigv4::hmac_sha256(secret.as_bytes(), signed.as_bytes());
    format!("{signed}.{}", b64(&tag))
}

const CI_ROLE: &str = "arn:aws:iam::123456789012:role/ci-deploy";
const ISSUER: &str = "token.actions.githubusercontent.com";

/// Adds the OIDC provider `ISSUER` (checking tokens as `key_line` says) and the role
/// `ci-deploy` that trusts it to the demo account.
fn with_ci_provider(f: &mut emulator::config::FileConfig, key_line: &str) {
    let extra: emulator::config::AccountConfig = toml::from_str(&format!(
        r#"
        id = "123456789012"
        [[oidc_providers]]
        url = "https://{ISSUER}"
        audiences = ["sts.amazonaws.com"]
        {key_line}
        [[roles]]
        name = "ci-deploy"
        trust = ["arn:aws:iam::123456789012:oidc-provider/{ISSUER}"]
        "#
    ))
    .unwrap();
    let account = &mut f.accounts[0];
    account.oidc_providers = extra.oidc_providers;
    account.roles.extend(extra.roles);
}

impl Harness {
    /// An unsigned Query call, as clients send AssumeRoleWithWebIdentity.
    pub(crate) async fn unsigned_query(&self, action: &str, params: &[(&str, &str)]) -> Response {
        let body = form_body(action, params);
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        self.send(Method::POST, "/", h, body).await
    }
}

#[tokio::test]
async fn web_identities_assume_roles_that_trust_their_provider() {
    let h = Harness::start_with(|f| with_ci_provider(f, r#"hs256_secret = "ci-secret""#)).await;
    let exp = START.unix_timestamp() + 600;
    let claims = json!({"iss": format!("https://{ISSUER}"), "sub": "repo:acme/recs:ref:refs/heads/main",
                        "aud": "sts.amazonaws.com", "exp": exp});
    let token = jwt(&claims, "ci-secret");
    let ok = h
        .unsigned_query(
            "AssumeRoleWithWebIdentity",
            &[
                ("RoleArn", CI_ROLE),
                ("RoleSessionName", "gha-1"),
                ("WebIdentityToken", &token),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", text(&ok));
    let body = text(&ok);
    assert_eq!(
        xml(&body, "SubjectFromWebIdentityToken"),
        "repo:acme/recs:ref:refs/heads/main"
    );
    assert_eq!(xml(&body, "Audience"), "sts.amazonaws.com");
    let session = Issued::from(&body);
    let used = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(used.status, 200);

    let forged = h
        .unsigned_query(
            "AssumeRoleWithWebIdentity",
            &[
                ("RoleArn", CI_ROLE),
                ("RoleSessionName", "gha-2"),
                ("WebIdentityToken", &jwt(&claims, "guess")),
            ],
        )
        .await;
    assert_eq!(
        (forged.status.as_u16(), xml(&text(&forged), "Code")),
        (400, "InvalidIdentityToken")
    );
    let mut late = claims.clone();
    late["exp"] = json!(START.unix_timestamp() - 1);
    let expired = h
        .unsigned_query(
            "AssumeRoleWithWebIdentity",
            &[
                ("RoleArn", CI_ROLE),
                ("RoleSessionName", "gha-3"),
                ("WebIdentityToken", &jwt(&late, "ci-secret")),
            ],
        )
        .await;
    assert_eq!(xml(&text(&expired), "Code"), "ExpiredTokenException");
    // A role the provider is not trusted by, and a role in an account nobody configured.
    let untrusted = h
        .unsigned_query(
            "AssumeRoleWithWebIdentity",
            &[
                ("RoleArn", ROLE),
                ("RoleSessionName", "gha-4"),
                ("WebIdentityToken", &token),
            ],
        )
        .await;
    assert_eq!(
        (untrusted.status.as_u16(), xml(&text(&untrusted), "Code")),
        (403, "AccessDenied")
    );
    let elsewhere = h
        .unsigned_query(
            "AssumeRoleWithWebIdentity",
            &[
                ("RoleArn", "arn:aws:iam::999999999999:role/x"),
                ("RoleSessionName", "gha-5"),
                ("WebIdentityToken", &token),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 403);
    // Only the operations that may come unsigned may.
    let anonymous = h.unsigned_query("GetCallerIdentity", &[]).await;
    assert_eq!(
        (anonymous.status.as_u16(), xml(&text(&anonymous), "Code")),
        (403, "MissingAuthenticationToken")
    );

    let records = h.flushed_records().await;
    let r = by_request_id(&records, &ok.request_id());
    assert_eq!(
        r["userIdentity"],
        json!({"type": "WebIdentityUser",
               "principalId": format!("arn:aws:iam::123456789012:oidc-provider/{ISSUER}:sts.amazonaws.com:repo:acme/recs:ref:refs/heads/main"),
               "userName": "repo:acme/recs:ref:refs/heads/main",
               "identityProvider": format!("arn:aws:iam::123456789012:oidc-provider/{ISSUER}")})
    );
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(
        r["requestParameters"],
        json!({"roleArn": CI_ROLE, "roleSessionName": "gha-1"})
    );
    assert_eq!(
        r["responseElements"]["subjectFromWebIdentityToken"],
        "repo:acme/recs:ref:refs/heads/main"
    );
    let u = &by_request_id(&records, &used.request_id())["userIdentity"];
    assert_eq!(u["type"], "AssumedRole");
    assert_eq!(
        u["sessionContext"]["webIdFederationData"],
        json!({"federatedProvider": format!("arn:aws:iam::123456789012:oidc-provider/{ISSUER}"), "attributes": {}})
    );
    assert_eq!(
        by_request_id(&records, &forged.request_id())["errorCode"],
        "InvalidIdentityToken"
    );
    assert_eq!(
        by_request_id(&records, &untrusted.request_id())["errorCode"],
        "AccessDenied"
    );
    assert!(
        records
            .iter()
            .all(|r| r["requestID"] != elsewhere.request_id().as_str())
    );
    assert!(records.iter().all(|r| r["recipientAccountId"] != "999999999999"));
}

#[tokio::test]
async fn a_role_in_another_account_records_the_assume_role_too() {
    let h = Harness::start_with(|f| {
        let other: emulator::config::AccountConfig = toml::from_str(
            r#"
            id = "111122223333"
            [[roles]]
            name = "auditor"
            trust = ["123456789012"]
            "#,
        )
        .unwrap();
        f.accounts.push(other);
    })
    .await;
    let role = "arn:aws:iam::111122223333:role/auditor";
    let r = h
        .query(
            &sts(ALICE.0, ALICE.1),
            "AssumeRole",
            &[("RoleArn", role), ("RoleSessionName", "audit")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let session = Issued::from(&text(&r));
    let used = h
        .personalize(&session.signer("personalize"), "ListDatasetGroups", "{}")
        .await;
    assert_eq!(used.status, 200);

    // The caller's account: its trail's files. The role's account: its Event history.
    let records = h.flushed_records().await;
    let mine = by_request_id(&records, &r.request_id());
    assert_eq!(mine["recipientAccountId"], "123456789012");
    assert_eq!(mine["userIdentity"]["type"], "IAMUser");
    let shared = mine["sharedEventID"].as_str().expect("a sharedEventID");
    let get = h
        .send(
            Method::GET,
            "/console/api/events?account=111122223333&key=EventName&value=AssumeRole",
            HeaderMap::new(),
            bytes::Bytes::new(),
        )
        .await;
    let events = get.json();
    let theirs = &events["events"][0]["record"];
    assert_eq!(theirs["recipientAccountId"], "111122223333");
    assert_eq!(theirs["sharedEventID"], shared);
    assert_ne!(theirs["eventID"], mine["eventID"]);
    assert_eq!(theirs["requestID"], mine["requestID"]);
    assert_eq!(
        theirs["userIdentity"],
        json!({"type": "AWSAccount", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "accountId": "123456789012"})
    );
    // The session is the role account's, and so are the records of its calls.
    let get = h
        .send(
            Method::GET,
            "/console/api/events?account=111122223333&key=EventName&value=ListDatasetGroups",
            HeaderMap::new(),
            bytes::Bytes::new(),
        )
        .await;
    let events = get.json();
    let u = &events["events"][0]["record"]["userIdentity"];
    assert_eq!(u["arn"], "arn:aws:sts::111122223333:assumed-role/auditor/audit");
    assert_eq!(events["events"][0]["requestId"], used.request_id().as_str());
}

#[tokio::test]
async fn rs256_tokens_are_checked_with_the_issuers_published_keys() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let validity = (START, START + time::Duration::days(1));
    let issuer_key = cloudtrail::keys::KeyPair::generate(validity.0, validity.1).unwrap();
    let other_key = cloudtrail::keys::KeyPair::generate(validity.0, validity.1).unwrap();
    let (n, e) = issuer_key.public_components();
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": b64(&n), "e": b64(&e)}]});
    let h = Harness::start_with(move |f| with_ci_provider(f, &format!("jwks = '{jwks}'"))).await;
    let claims = json!({"iss": format!("https://{ISSUER}"), "sub": "repo:acme/recs:ref:refs/heads/main",
                        "aud": "sts.amazonaws.com", "exp": START.unix_timestamp() + 600});
    let token = |key: &cloudtrail::keys::KeyPair, kid: &str| {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let signed = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        format!("{signed}.{}", b64(&key.sign(signed.as_bytes())))
    };
    let assume = |t: String| {
        let h = &h;
        async move {
            h.unsigned_query(
                "AssumeRoleWithWebIdentity",
                &[
                    ("RoleArn", CI_ROLE),
                    ("RoleSessionName", "gha"),
                    ("WebIdentityToken", &t),
                ],
            )
            .await
        }
    };
    let ok = assume(token(&issuer_key, "k1")).await;
    assert_eq!(ok.status, 200, "{}", text(&ok));
    for forged in [token(&other_key, "k1"), token(&issuer_key, "k2")] {
        let r = assume(forged).await;
        assert_eq!(
            (r.status.as_u16(), xml(&text(&r), "Code")),
            (400, "InvalidIdentityToken")
        );
    }
}
