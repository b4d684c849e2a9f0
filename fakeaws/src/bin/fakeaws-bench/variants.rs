//! Byte-different but equivalent encodings of one Query request, so that no read can be answered
//! from fakeaws' answer cache.

/// Up to `n` byte-different encodings of the same Query request: the parameters in every order,
/// values' `:`, `/` and `-` raw or percent-encoded (upper or lower case hex), the `Action`
/// key spelled plain or with its first letter percent-encoded.
pub fn variants(params: &[(&str, &str)], n: usize) -> Vec<String> {
    fn enc(v: &str, how: usize) -> String {
        v.chars()
            .map(|c| match (c, how) {
                (':' | '/' | '-', 1) => format!("%{:02X}", c as u32),
                (':' | '/' | '-', 2) => format!("%{:02x}", c as u32),
                _ => c.to_string(),
            })
            .collect()
    }
    let mut orders: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..params.len() {
        orders = orders
            .into_iter()
            .flat_map(|o| {
                (0..params.len())
                    .filter(|i| !o.contains(i))
                    .map(|i| {
                        let mut o = o.clone();
                        o.push(i);
                        o
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    let mut out = Vec::new();
    for key_form in 0..2 {
        for how in 0..3 {
            for order in &orders {
                let body: Vec<String> = order
                    .iter()
                    .map(|&i| {
                        let (k, v) = params[i];
                        let k = if key_form == 1 && k == "Action" { "%41ction" } else { k };
                        format!("{k}={}", enc(v, how))
                    })
                    .collect();
                let body = body.join("&");
                if !out.contains(&body) {
                    out.push(body);
                }
            }
        }
    }
    out.truncate(n.max(1));
    out
}

#[cfg(test)]
#[test]
fn every_variant_is_different_bytes_for_the_same_request() {
    for params in [
        &[
            ("Action", "DescribeTargetHealth"),
            ("Version", "2015-12-01"),
            ("TargetGroupArn", "arn:aws:x/y"),
        ][..],
        &[
            ("Action", "DescribeAutoScalingGroups"),
            ("Version", "2011-01-01"),
            ("AutoScalingGroupNames.member.1", "bench"),
        ][..],
    ] {
        let v = variants(params, 24);
        assert_eq!(v.len(), 24);
        for body in &v {
            let mut decoded: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            decoded.sort();
            let mut want: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            want.sort();
            assert_eq!(decoded, want, "{body}");
        }
    }
}
