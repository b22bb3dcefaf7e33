//! Form bodies and query strings (`application/x-www-form-urlencoded`), read as a list of pairs
//! so a repeated key (a bulk claim's checkboxes) keeps every value.

/// The largest number of fields read from one form or query string; the rest is ignored.
const FIELDS_MAX: usize = 2_000;

/// The fields of a form or query string, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Reads `a=1&b=2` (a form body or a query string).
    pub(crate) fn parse(text: &[u8]) -> Fields {
        Fields(
            form_urlencoded::parse(text)
                .take(FIELDS_MAX)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The query string of a request URI.
    pub(crate) fn query(uri: &axum::http::Uri) -> Fields {
        Fields::parse(uri.query().unwrap_or_default().as_bytes())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `key`, unless it is empty (an optional field left blank).
    pub(crate) fn filled(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.trim().is_empty())
    }

    /// Every value of `key`, in order.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }

    /// The page number asked for (`page`, from 1).
    pub(crate) fn page(&self) -> usize {
        self.get("page")
            .and_then(|page| page.parse::<usize>().ok())
            .filter(|page| *page >= 1)
            .unwrap_or(1)
    }
}

/// `path?k=v&…` with the values encoded; empty values are left out.
pub(crate) fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
        query.append_pair(key, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_kept_and_blank_optional_fields_are_absent() {
        let fields = Fields::parse(b"item=a&item=b%20c&note=+&page=0");
        assert_eq!(fields.all("item").collect::<Vec<_>>(), ["a", "b c"]);
        assert_eq!(fields.get("note"), Some(" "));
        assert_eq!(fields.filled("note"), None);
        assert_eq!(fields.page(), 1);
        assert_eq!(
            link("/order", &[("id", "shopee:1/2"), ("distributor", "")]),
            "/order?id=shopee%3A1%2F2"
        );
    }
}
