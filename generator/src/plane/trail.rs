//! CloudTrail's own API and the trail's S3 bucket. CloudTrail calls are recorded as the
//! emulator records its CloudTrail API (`cloudtrail::rules::cloudtrail_api_request`, member
//! names in lower camel case). Bucket calls have S3's recorded shape: `bucketName`, `Host` and
//! the sub-resource as an empty member in `requestParameters`, the bucket in `resources[]`, and
//! the transfer details in `additionalEventData`; CloudTrail's own `GetBucketAcl` before it
//! delivers is an `AWSService` call with a `sharedEventID`.

use cloudtrail::Resource;
use cloudtrail::rules;
use rand::RngExt;
use serde_json::{Value, json};

use super::{Ask, PlaneCall, PlaneOp, PlaneService, Target};
use crate::rng::Rng;
use crate::scenario::IdentityKind;

pub(super) fn build(ask: Ask<'_>, rng: &mut Rng) -> PlaneCall {
    match ask.op.service {
        PlaneService::S3 => bucket(ask, rng),
        _ => cloudtrail_api(ask),
    }
}

fn cloudtrail_api(ask: Ask<'_>) -> PlaneCall {
    let (op, caller, target, fail) = (ask.op, ask.caller, ask.target, ask.fail);
    let (account, region, trail) = (target.account, target.region, target.trail);
    let mut call = PlaneCall::new(op);
    let trail_arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{trail}");
    let input = match op.name {
        "DescribeTrails" => json!({}),
        "GetTrailStatus" | "StopLogging" | "StartLogging" | "DeleteTrail" => json!({"Name": trail}),
        "UpdateTrail" => {
            // An administrator restates the trail's settings; an intruder turns validation off.
            let validation = !target.hostile;
            call.output = Some(json!({
                "Name": trail,
                "S3BucketName": target.bucket,
                "IncludeGlobalServiceEvents": true,
                "IsMultiRegionTrail": true,
                "TrailARN": trail_arn,
                "LogFileValidationEnabled": validation,
                "IsOrganizationTrail": false,
            }));
            json!({"Name": trail, "IsMultiRegionTrail": true, "EnableLogFileValidation": validation})
        }
        "PutEventSelectors" => {
            let selectors = json!([{
                "ReadWriteType": "ReadOnly",
                "IncludeManagementEvents": true,
                "DataResources": [],
                "ExcludeManagementEventSources": [],
            }]);
            call.output = Some(json!({"TrailARN": trail_arn, "EventSelectors": selectors}));
            json!({"TrailName": trail, "EventSelectors": selectors})
        }
        _ => json!({}),
    };
    if fail {
        call.deny(
            &caller.arn(account),
            &format!("cloudtrail:{}", op.name),
            &trail_arn,
        );
    }
    call.sent = Some(input.clone());
    call.request = Some(rules::cloudtrail_api_request(op.name, input));
    call
}

fn bucket(ask: Ask<'_>, rng: &mut Rng) -> PlaneCall {
    let (op, caller, target, fail) = (ask.op, ask.caller, ask.target, ask.fail);
    let (account, region, bucket) = (target.account, target.region, target.bucket);
    let mut call = PlaneCall::new(op);
    let host = format!("{bucket}.s3.{region}.amazonaws.com");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut input = json!({"bucketName": bucket, "Host": host});
    let sub = match op.name {
        "GetBucketAcl" => "acl",
        "PutBucketLogging" => "logging",
        _ => "policy",
    };
    input[sub] = json!("");
    match op.name {
        "PutBucketPolicy" => {
            input["bucketPolicy"] = trail_bucket_policy(account, bucket, target.hostile);
        }
        "PutBucketLogging" => {
            input["BucketLoggingStatus"] = json!({"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"});
        }
        _ => {}
    }
    call.resources = vec![Resource::arn(&bucket_arn, account, "AWS::S3::Bucket")];
    let service = caller.kind == IdentityKind::AWSService;
    call.shared_event = service;
    call.additional = Some(json!({
        "SignatureVersion": "SigV4",
        "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
        "bytesTransferredIn": if op.name.starts_with("Put") { rng.random_range(200..1200) } else { 0 },
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": extended_request_id(rng),
        "bytesTransferredOut": if op.name.starts_with("Get") { rng.random_range(400..1800) } else { 0 },
    }));
    if fail {
        call.error = Some((Some("AccessDenied".to_owned()), "Access Denied".to_owned()));
    }
    call.request = Some(input);
    call
}

/// KMS rotating the key the trail encrypts its log files with, on its own: an `AwsServiceEvent`
/// as the KMS Developer Guide shows it (no request, no `requestID`, the key in `resources[]` and
/// `serviceEventDetails`, `invokedBy` `AWS Internal`).
pub(super) fn rotate_key(op: &'static PlaneOp, target: &Target<'_>) -> PlaneCall {
    let (account, region) = (target.account, target.region);
    let mut call = PlaneCall::new(op);
    // One key per account and Region, the same in every event.
    let path: Vec<u64> = region.bytes().map(u64::from).collect();
    let mut key_rng = crate::rng::derive(account.parse().unwrap_or(0), &path);
    let key = crate::rng::uuid(&mut key_rng).to_string();
    call.identity = Some(cloudtrail::UserIdentity::service_event(account, "AWS Internal"));
    call.event_type = Some(cloudtrail::record::EventType::AwsServiceEvent);
    call.resources = vec![Resource::arn(
        &format!("arn:aws:kms:{region}:{account}:key/{key}"),
        account,
        "AWS::KMS::Key",
    )];
    call.service_event_details = Some(json!({"keyId": key}));
    call.rendered = true;
    call
}

/// The bucket policy CloudTrail needs on its bucket; `hostile` replaces it with one that lets
/// another account read the logs and stops CloudTrail writing them.
fn trail_bucket_policy(account: &str, bucket: &str, hostile: bool) -> Value {
    if hostile {
        return json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                 "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
                {"Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
            ],
        });
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{bucket}")},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/{account}/*"),
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        ],
    })
}

/// An `x-amz-id-2` (S3's extended request id): 76 base64 characters.
fn extended_request_id(rng: &mut Rng) -> String {
    let token = cloudtrail::identity::session_token(rng);
    token.chars().skip(17).take(76).collect()
}
