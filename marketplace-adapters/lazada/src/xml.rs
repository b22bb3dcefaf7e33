//! The small XML document of Lazada's sellable-stock update, built by hand with every text
//! escaped.

/// One SKU of a stock update: the listing's ids, the seller SKU and the sellable quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuStock<'a> {
    /// Lazada's `item_id` of the product.
    pub item_id: &'a str,
    /// Lazada's `sku_id` of the variant.
    pub sku_id: &'a str,
    /// The seller SKU (the store SKU).
    pub seller_sku: &'a str,
    /// The sellable quantity to set.
    pub quantity: u64,
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for XML text and attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The `payload` of `/product/stock/sellable/update`:
/// `<Request><Product><Skus><Sku><ItemId/><SkuId/><SellerSku/><SellableQuantity/></Sku>…`.
pub fn stock_payload(skus: &[SkuStock<'_>]) -> String {
    let mut xml = String::from("<Request><Product><Skus>");
    for sku in skus {
        xml.push_str("<Sku><ItemId>");
        xml.push_str(&escape(sku.item_id));
        xml.push_str("</ItemId><SkuId>");
        xml.push_str(&escape(sku.sku_id));
        xml.push_str("</SkuId><SellerSku>");
        xml.push_str(&escape(sku.seller_sku));
        xml.push_str("</SellerSku><SellableQuantity>");
        xml.push_str(&sku.quantity.to_string());
        xml.push_str("</SellableQuantity></Sku>");
    }
    xml.push_str("</Skus></Product></Request>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(escape(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    }

    #[test]
    fn payload_shape() {
        let skus = [SkuStock {
            item_id: "1",
            sku_id: "2",
            seller_sku: "A&B",
            quantity: 7,
        }];
        assert_eq!(
            stock_payload(&skus),
            "<Request><Product><Skus><Sku><ItemId>1</ItemId><SkuId>2</SkuId>\
             <SellerSku>A&amp;B</SellerSku><SellableQuantity>7</SellableQuantity></Sku>\
             </Skus></Product></Request>"
        );
    }
}
