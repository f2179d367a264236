//! Small server-rendered SVG charts for the dashboard: no script, no
//! inline style (the CSP forbids it), colours from CSS classes. Owns
//! drawing only; callers bring the numbers.

use maud::{html, Markup};

/// Calls per hour of the local day: offered as the bar, answered inside it.
/// `hours[h] = (offered, answered)` for h in 0..24.
pub fn calls_by_hour(hours: &[(u32, u32); 24], now_hour: usize) -> Markup {
    const W: u32 = 720;
    const H: u32 = 160;
    const PAD: u32 = 24;
    let max = hours.iter().map(|(o, _)| *o).max().unwrap_or(0).max(1);
    let slot = (W - PAD) / 24;
    let bar = slot.saturating_sub(6).max(2);
    let y = |v: u32| H - PAD - (u64::from(v) * u64::from(H - 2 * PAD) / u64::from(max)) as u32;
    let total: u32 = hours.iter().map(|(o, _)| o).sum();
    let answered: u32 = hours.iter().map(|(_, a)| a).sum();
    html! {
        svg.chart id="calls-by-hour" viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label={ "Calls today by hour: " (total) " offered, " (answered) " answered" } {
            title { "Calls today by hour: " (total) " offered, " (answered) " answered" }
            line.axis x1=(PAD) y1=(H - PAD) x2=(W) y2=(H - PAD) {}
            text.label x="0" y=(PAD) { (max) }
            @for (h, (o, a)) in hours.iter().enumerate() {
                @let x = PAD + h as u32 * slot + 3;
                @if *o > 0 {
                    rect.offered x=(x) y=(y(*o)) width=(bar) height=(H - PAD - y(*o)) { title { (format!("{h:02}:00 offered {o}, answered {a}")) } }
                    rect.answered x=(x) y=(y(*a)) width=(bar) height=(H - PAD - y(*a)) {}
                }
                @if h % 3 == 0 {
                    text.label.now[h == now_hour] x=(x) y=(H - 6) { (format!("{h:02}")) }
                }
            }
        }
        div.legend { span.key.offered {} " offered " span.key.answered {} " answered" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_hour_and_say_the_totals() {
        let mut hours = [(0, 0); 24];
        hours[9] = (10, 8);
        hours[10] = (5, 5);
        let svg = calls_by_hour(&hours, 10).into_string();
        assert!(svg.contains("15 offered, 13 answered"), "{svg}");
        // The busiest hour's bar is the full chart height (160 - 2 * 24).
        assert!(svg.contains("height=\"112\""), "{svg}");
        assert_eq!(svg.matches("class=\"offered\"").count(), 2);
        assert!(!svg.contains("style="), "no inline style under the CSP");
    }
}
