//! S3 for revisions through boto3 (the client `aws deploy push` is built on): buckets, objects
//! with their ETags, a multipart upload, listing, and refusals for an unknown key or a wrong
//! signature.

use crate::botocore::boto3;
use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn boto3_puts_lists_and_gets_objects_with_multipart_uploads() {
    let r = start().await;
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        boto3(
            &url,
            r#"
import boto3, botocore, json, hashlib
from boto3.s3.transfer import TransferConfig
s3 = boto3.client('s3')
s3.create_bucket(Bucket='releases')
put = s3.put_object(Bucket='releases', Key='app/v1.zip', Body=b'revision one')
head = s3.head_object(Bucket='releases', Key='app/v1.zip')
got = s3.get_object(Bucket='releases', Key='app/v1.zip')['Body'].read()
# 12 MB in 5 MB parts: a multipart upload, as `aws deploy push` makes for large bundles.
big = bytes(range(256)) * (12 * 4096)
open('/tmp/fakeaws-s3-test.bin', 'wb').write(big)
s3.upload_file('/tmp/fakeaws-s3-test.bin', 'releases', 'app/big.zip',
    Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
big_head = s3.head_object(Bucket='releases', Key='app/big.zip')
listed = s3.list_objects_v2(Bucket='releases', Prefix='app/')
back = s3.get_object(Bucket='releases', Key='app/big.zip')['Body'].read()
try:
    s3.get_object(Bucket='releases', Key='missing.zip')
    missing = None
except botocore.exceptions.ClientError as e:
    missing = e.response['Error']['Code']
import os
bad = boto3.client('s3', aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'], aws_secret_access_key='wrong')
try:
    bad.list_objects_v2(Bucket='releases')
    refused = None
except botocore.exceptions.ClientError as e:
    refused = e.response['Error']['Code']
print(json.dumps({
    'etag': put['ETag'], 'md5': '"' + hashlib.md5(b'revision one').hexdigest() + '"',
    'head_len': head['ContentLength'], 'got': got.decode(),
    'big_etag': big_head['ETag'], 'big_len': big_head['ContentLength'], 'big_same': back == big,
    'keys': [o['Key'] for o in listed['Contents']], 'missing': missing, 'refused': refused,
}))
"#,
            &[],
        )
    })
    .await
    .expect("boto3");
    assert_eq!(out["etag"], out["md5"], "a single-part ETag is the MD5: {out}");
    assert_eq!(out["head_len"], 12);
    assert_eq!(out["got"], "revision one");
    assert!(
        out["big_etag"].as_str().is_some_and(|e| e.ends_with("-3\"")),
        "multipart ETag: {out}"
    );
    assert_eq!(out["big_len"], 12 * 4096 * 256);
    assert_eq!(out["big_same"], true);
    assert_eq!(out["keys"], serde_json::json!(["app/big.zip", "app/v1.zip"]));
    assert_eq!(out["missing"], "NoSuchKey");
    assert_eq!(out["refused"], "SignatureDoesNotMatch");
}
