//! English number grammar over the shipped prompt names: `say_number(123)`
//! → `["1", "hundred", "20", "3"]` ("one hundred twenty three", US style,
//! no "and"). Prompt names are the numbers themselves (`0`–`19`, `20`, `30`
//! … `90`) plus `hundred`, `thousand`, `million`, `billion`, `star`, `pound`.
//! Another language gets its own module with its own grammar.

/// Names "0".."19".
const SMALL: [&str; 20] =
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19"];
/// Names for 20, 30 … 90 (index = tens digit).
const TENS: [&str; 10] = ["", "", "20", "30", "40", "50", "60", "70", "80", "90"];

/// Prompt names that speak `n` as a cardinal number.
pub fn say_number(n: u64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n == 0 {
        out.push(SMALL[0]);
        return out;
    }
    // Groups of three digits, largest first. u64 reaches 18 quintillion;
    // above 999 billion the billions count simply grows ("20000 billion"),
    // which no IVR will ever say.
    let groups = [(1_000_000_000u64, "billion"), (1_000_000, "million"), (1_000, "thousand")];
    let mut rest = n;
    for (scale, word) in groups {
        let count = rest / scale;
        if count > 0 {
            if count >= 1000 {
                out.extend(say_number(count));
            } else {
                below_thousand(count as u32, &mut out);
            }
            out.push(word);
            rest %= scale;
        }
    }
    below_thousand(rest as u32, &mut out);
    out
}

/// Appends 1..=999 (nothing for 0).
fn below_thousand(n: u32, out: &mut Vec<&'static str>) {
    let hundreds = (n / 100) as usize;
    if hundreds > 0 {
        out.push(SMALL[hundreds]);
        out.push("hundred");
    }
    let rest = (n % 100) as usize;
    if rest >= 20 {
        out.push(TENS[rest / 10]);
        if !rest.is_multiple_of(10) {
            out.push(SMALL[rest % 10]);
        }
    } else if rest > 0 {
        out.push(SMALL[rest]);
    }
}

/// Prompt names that read `digits` one by one ("1", "2", "3"); `*` is
/// "star" and `#` "pound" (the DTMF keys, RFC 4733 events 10/11); anything
/// else (spaces, dashes of a formatted number) is skipped.
pub fn say_digits(digits: &str) -> Vec<&'static str> {
    digits
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(SMALL[(c as u8 - b'0') as usize]),
            '*' => Some("star"),
            '#' => Some("pound"),
            _ => None,
        })
        .collect()
}
