//! Decoding of AWS Query protocol request bodies (`application/x-www-form-urlencoded`).
//!
//! Parameters arrive flat (`Targets.member.1.Id`); [`Params`] gives typed, validated access and
//! turns every problem into an AWS-shaped `ValidationError` naming the parameter.

use std::collections::BTreeMap;

use crate::protocol::error::AwsError;

/// The decoded parameters of one request (or of one structure inside a list).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// Decodes a form body. `+` and `%20` both become spaces. Invalid UTF-8 is an error.
    pub fn decode(body: &[u8]) -> Result<Params, AwsError> {
        if std::str::from_utf8(body).is_err() {
            return Err(AwsError::validation("The request body is not valid UTF-8."));
        }
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            if k.is_empty() {
                continue;
            }
            map.insert(k.into_owned(), v.into_owned());
        }
        Ok(Params(map))
    }

    /// An optional string parameter.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A required, non-empty string parameter.
    pub fn req(&self, key: &str) -> Result<&str, AwsError> {
        match self.opt(key) {
            Some(v) if !v.is_empty() => Ok(v),
            Some(_) => Err(AwsError::validation(format!("Parameter {key} must not be empty."))),
            None => Err(AwsError::missing(key)),
        }
    }

    /// An optional integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, AwsError> {
        match self.opt(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                AwsError::validation(format!(
                    "Value '{v}' for parameter {key} is invalid: expected an integer."
                ))
            }),
        }
    }

    /// An optional integer parameter checked against an inclusive range.
    pub fn int_in(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, AwsError> {
        in_range(key, self.int(key)?, min, max)
    }

    /// An optional boolean parameter (`true` / `false`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, AwsError> {
        match self.opt(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(AwsError::validation(format!(
                "Value '{v}' for parameter {key} is invalid: expected true or false."
            ))),
        }
    }

    /// A list of strings sent as `Prefix.member.N` (N from 1), in N order.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let head = format!("{prefix}.member.");
        let mut items: BTreeMap<u32, String> = BTreeMap::new();
        for (k, v) in self.0.range(head.clone()..) {
            let Some(rest) = k.strip_prefix(&head) else { break };
            let n = parse_index(prefix, rest)?;
            items.insert(n, v.clone());
        }
        Ok(items.into_values().collect())
    }

    /// A list parameter with AWS's documented maximum length.
    pub fn list_max(&self, prefix: &str, max: usize) -> Result<Vec<String>, AwsError> {
        let items = self.list(prefix)?;
        if items.len() > max {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value at '{prefix}' failed to satisfy constraint: Member must have length less than or equal to {max} (got {})",
                items.len()
            )));
        }
        Ok(items)
    }

    /// Whether the list parameter was sent at all (an empty list arrives as a bare `Prefix=`).
    pub fn has_list(&self, prefix: &str) -> bool {
        self.0.contains_key(prefix) || self.0.keys().any(|k| k.starts_with(&format!("{prefix}.member.")))
    }

    /// A list of structures sent as `Prefix.member.N.Field`, each as its own [`Params`].
    pub fn structs(&self, prefix: &str) -> Result<Vec<Params>, AwsError> {
        let head = format!("{prefix}.member.");
        let mut items: BTreeMap<u32, Params> = BTreeMap::new();
        for (k, v) in self.0.range(head.clone()..) {
            let Some(rest) = k.strip_prefix(&head) else { break };
            let (n, field) = rest.split_once('.').ok_or_else(|| {
                AwsError::validation(format!("Parameter {k} is malformed: expected {prefix}.member.N.Field."))
            })?;
            let n = parse_index(prefix, n)?;
            items.entry(n).or_default().0.insert(field.to_string(), v.clone());
        }
        Ok(items.into_values().collect())
    }

    /// The sub-structure `Prefix.Field` as its own [`Params`].
    pub fn sub(&self, prefix: &str) -> Params {
        let head = format!("{prefix}.");
        Params(
            self.0
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&head).map(|f| (f.to_string(), v.clone())))
                .collect(),
        )
    }
}

fn parse_index(prefix: &str, s: &str) -> Result<u32, AwsError> {
    match s.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(AwsError::validation(format!(
            "Parameter {prefix}.member.{s} is malformed: list members are numbered from 1."
        ))),
    }
}

/// An optional integer of a typed request checked against an inclusive range, with AWS's message
/// naming the parameter `key` (the check a request decoded from a body and one built by a world
/// file share).
pub fn in_range(key: &str, v: Option<i64>, min: i64, max: i64) -> Result<Option<i64>, AwsError> {
    match v {
        Some(v) if v < min || v > max => Err(AwsError::validation(format!(
            "Value {v} for parameter {key} is invalid: it must be between {min} and {max}."
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_percent_twenty_are_spaces() {
        let p = Params::decode(b"A=a+b&B=a%20b").expect("decodes");
        assert_eq!(p.opt("A"), Some("a b"));
        assert_eq!(p.opt("B"), Some("a b"));
    }

    #[test]
    fn member_lists_are_ordered_numerically() {
        let p = Params::decode(b"X.member.10=j&X.member.2=b&X.member.1=a").expect("decodes");
        assert_eq!(p.list("X").expect("list"), vec!["a", "b", "j"]);
    }

    #[test]
    fn structures_and_nested_lists() {
        let p = Params::decode(b"F.member.1.Name=n&F.member.1.Values.member.1=v1&F.member.1.Values.member.2=v2")
            .expect("decodes");
        let s = p.structs("F").expect("structs");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].opt("Name"), Some("n"));
        assert_eq!(s[0].list("Values").expect("values"), vec!["v1", "v2"]);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let p = Params::decode(b"MinSize=abc&Flag=maybe&L.member.0=x").expect("decodes");
        assert!(p.int("MinSize").unwrap_err().message.contains("MinSize"));
        assert!(p.bool("Flag").unwrap_err().message.contains("Flag"));
        assert!(p.list("L").is_err());
        assert!(p.req("Missing").unwrap_err().message.contains("Missing"));
    }
}
