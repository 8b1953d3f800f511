//! What every page of the site shares: the document around its body, one inline style
//! sheet and one inline script (the column sort), and a Content-Security-Policy that
//! allows exactly those two by their digest — nothing else loads or runs, even if some
//! text ever escaped its escaping. No external resource, so the pages work from `file://`.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::report::html::escape;

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
header p, .summary { margin: .2em 0; color: #57606a; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #d0d7de; padding: .3em .5em; text-align: left; vertical-align: top; }
th button { font: inherit; font-weight: bold; border: 0; background: none; padding: 0; cursor: pointer; }
th[aria-sort=ascending] button::after { content: ' \\25B2'; }
th[aria-sort=descending] button::after { content: ' \\25BC'; }
td.says { white-space: pre-wrap; max-width: 40em; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: .5em; }
.state { font-weight: bold; white-space: nowrap; }
tr.failing, tr.unhealthy, tr.failed { background: #ffebe9; }
tr.drifted, tr.drift-error { background: #fff8c5; }
tr.expired, tr.expiring { background: #fbefff; }
tr.locked, tr.awaiting-approval { background: #ddf4ff; }
";

/// Sorts a `table.sortable` by the column whose header button is clicked (again: the
/// other way): by each cell's `data-sort` when it has one, else its text; numbers as
/// numbers. A table it has wired says `data-sort-ready="true"` (a test's proof that the
/// policy let it run).
const SORT_SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, column) {
    th.querySelector("button").addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var key = function (row) {
        var cell = row.cells[column];
        return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
      };
      var number = /^-?\d+(\.\d+)?$/;
      var body = table.tBodies[0];
      Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = number.test(x) && number.test(y) ? x - y : x.localeCompare(y);
        return up ? order : -order;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
  table.setAttribute("data-sort-ready", "true");
});
"#;

/// A whole page: `title` and `body` are HTML already (escaped by the caller).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">
<meta name=\"referrer\" content=\"no-referrer\">
<meta name=\"generator\" content=\"infra-manager report --html\">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
{body}<script>{SORT_SCRIPT}</script>
</body>
</html>
",
        csp = csp(),
    )
}

/// The policy: nothing by default; the one style sheet and the one script, by digest.
/// Our own text, with no `"`: it sits in the attribute as it is.
fn csp() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; base-uri 'none'; form-action 'none'",
        digest(STYLE),
        digest(SORT_SCRIPT)
    )
}

fn digest(text: &str) -> String {
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// A header cell whose button sorts the column.
pub fn sortable_header(label: &str) -> String {
    format!("<th aria-sort=\"none\"><button type=\"button\">{}</button></th>", escape(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_pages_style_and_script() {
        let page = page("t", "<p>b</p>\n");
        assert!(page.contains(&format!("style-src '{}'", digest(STYLE))), "{page}");
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(page.contains(&format!("<script>{SORT_SCRIPT}</script>")));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!csp().contains('"'), "the policy sits in a double-quoted attribute");
    }
}
