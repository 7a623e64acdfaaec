//! Text inside HTML and XML: the one escape every page, report and
//! timeline file Mattebox writes uses.

/// `text` safe inside an element or a quoted attribute of HTML or XML 1.0:
/// `& < > " '` escaped, and control characters XML forbids made spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_control_characters_are_neutralised() {
        assert_eq!(super::escape("a<b>&\"c'\u{1}d"), "a&lt;b&gt;&amp;&quot;c&#39; d");
        assert_eq!(super::escape("plain\ttext\n"), "plain\ttext\n");
    }
}
