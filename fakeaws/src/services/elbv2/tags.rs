//! Tags on ELBv2 resources: AddTags, RemoveTags, DescribeTags, and the `Tags` of Create calls.

use crate::protocol::error::AwsError;
use crate::protocol::query::Params;
use crate::protocol::xml::Xml;
use crate::protocol::Outcome;
use crate::services::elbv2::inputs::{decode_tags, TagInput};
use crate::world::World;
fn tags_from(p: &Params) -> Result<Vec<(String, String)>, AwsError> {
    tag_pairs(&decode_tags(p)?)
}

/// Tags checked as ELBv2 does (keys 1 to 128 characters, not `aws:`; values up to 256).
fn tag_pairs(tags: &[TagInput]) -> Result<Vec<(String, String)>, AwsError> {
    let mut out = Vec::new();
    for (key, value) in tags {
        let key = key.clone().ok_or_else(|| AwsError::missing("Key"))?;
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(AwsError::validation(format!(
                "Tag key '{key}' is not valid: 1 to 128 characters, not starting with 'aws:'"
            )));
        }
        let value = value.clone().unwrap_or_default();
        if value.chars().count() > 256 {
            return Err(AwsError::validation(format!(
                "The value of tag '{key}' is longer than 256 characters"
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Applies the `Tags` of a Create call to the new resource.
pub(super) fn tag_new(world: &mut World, arn: &str, tags: &[TagInput]) -> Result<(), AwsError> {
    let tags = tag_pairs(tags)?;
    if tags.is_empty() {
        return Ok(());
    }
    world.add_elb_tags(&[arn.to_string()], &tags)
}

pub(super) fn add_tags(world: &mut World, p: &Params) -> Outcome {
    let arns = p.list_max("ResourceArns", 20)?;
    let tags = tags_from(p)?;
    if arns.is_empty() {
        return Err(AwsError::missing("ResourceArns"));
    }
    if tags.is_empty() {
        return Err(AwsError::missing("Tags"));
    }
    world.add_elb_tags(&arns, &tags)?;
    Ok(Some(String::new()))
}

pub(super) fn remove_tags(world: &mut World, p: &Params) -> Outcome {
    let arns = p.list_max("ResourceArns", 20)?;
    let keys = p.list("TagKeys")?;
    if arns.is_empty() {
        return Err(AwsError::missing("ResourceArns"));
    }
    world.remove_elb_tags(&arns, &keys)?;
    Ok(Some(String::new()))
}

pub(super) fn describe_tags(world: &mut World, p: &Params) -> Outcome {
    let arns = p.list_max("ResourceArns", 20)?;
    if arns.is_empty() {
        return Err(AwsError::missing("ResourceArns"));
    }
    let all = world.elb_tags_of(&arns)?;
    let mut x = Xml::new();
    x.list("TagDescriptions", &all, |x, (arn, tags)| {
        x.leaf("ResourceArn", arn).list("Tags", tags, |x, (k, v)| {
            x.leaf("Key", k).leaf("Value", v);
        });
    });
    Ok(Some(x.finish()))
}
