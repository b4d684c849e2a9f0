//! CodeDeploy's control plane through real clients: the Rust SDK (`sdk`), boto3 with the
//! `deployment_successful` waiter and the AWS CLI (`clients`), trigger notifications (`triggers`),
//! malformed requests on the wire (`wire`) and zonal configurations (`zonal`); AWS's error codes
//! and messages throughout.

mod clients;
mod sdk;
mod triggers;
mod wire;
mod zonal;

use aws_sdk_codedeploy::types::{RevisionLocation, RevisionLocationType, S3Location};

use crate::util::*;

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/CodeDeployServiceRole";

pub(crate) async fn client(url: &str) -> aws_sdk_codedeploy::Client {
    aws_sdk_codedeploy::Client::new(&sdk_config(url).await)
}

pub(crate) fn s3_revision(key: &str) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::S3)
        .s3_location(
            S3Location::builder()
                .bucket("releases")
                .key(key)
                .bundle_type(aws_sdk_codedeploy::types::BundleType::Zip)
                .build(),
        )
        .build()
}
