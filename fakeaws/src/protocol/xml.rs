//! A tiny XML writer for Query protocol responses.
//!
//! Responses are small and their shape is fixed by the service models, so a writer that appends
//! escaped elements to a string is all we need; escaping is quick-xml's.

use std::fmt::Display;

/// Builds an XML document as a string.
#[derive(Debug, Default)]
pub struct Xml {
    buf: String,
}

impl Xml {
    /// An empty document.
    pub fn new() -> Self {
        Xml::default()
    }

    /// `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// `<tag>escaped value</tag>`.
    pub fn leaf(&mut self, tag: &str, value: impl Display) -> &mut Self {
        let text = value.to_string();
        self.open(tag);
        self.buf.push_str(&quick_xml::escape::escape(text.as_str()));
        self.close(tag)
    }

    /// A leaf only when the value is present.
    pub fn opt_leaf<T: Display>(&mut self, tag: &str, value: Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.leaf(tag, v);
        }
        self
    }

    /// `<tag>` then the body, then `</tag>`.
    pub fn elem(&mut self, tag: &str, body: impl FnOnce(&mut Xml)) -> &mut Self {
        self.open(tag);
        body(self);
        self.close(tag)
    }

    /// `<tag><member>..</member>...</tag>`: always present, empty when there are no items.
    pub fn list<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Xml, T),
    ) -> &mut Self {
        self.open(tag);
        for item in items {
            self.open("member");
            each(self, item);
            self.close("member");
        }
        self.close(tag)
    }

    /// A list of plain strings.
    pub fn str_list<S: Display>(&mut self, tag: &str, items: impl IntoIterator<Item = S>) -> &mut Self {
        self.open(tag);
        for item in items {
            self.leaf("member", item);
        }
        self.close(tag)
    }

    /// The document so far.
    pub fn finish(self) -> String {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        let mut x = Xml::new();
        x.leaf("A", "<&>");
        assert_eq!(x.finish(), "<A>&lt;&amp;&gt;</A>");
    }
}
