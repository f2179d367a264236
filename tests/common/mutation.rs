//! Shared by the over-the-wire mutation and source-check tests: the seeded
//! PRNG that picks mutations, and the IVR menu that only a real `#` leaves.

/// xorshift64*: small, seeded, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// The DID of [`IVR_PLAN`].
pub const IVR_DID: &str = "5554100";
/// A menu that every key but `#` (and every timeout) sends back to itself:
/// whatever digits a storm or an attacker produces, only a real `#` leaves
/// it, and leaving it hangs up. Invalid keys (A-D) play nothing, so that
/// typed-ahead storm digits do not queue up prompts ahead of a test's `#`.
pub const IVR_PLAN: &str = r##"
[[entry]]
match = { did = "5554100" }
context = "main"

[context.main]
steps = [{ app = "answer" }, { app = "goto", context = "menu" }]

[context.menu]
steps = [{ app = "menu", prompt = ["main-menu"], timeout_ms = 60000, retries = 20, fallback = "menu", choices = { "0" = "menu", "1" = "menu", "2" = "menu", "3" = "menu", "4" = "menu", "5" = "menu", "6" = "menu", "7" = "menu", "8" = "menu", "9" = "menu", "*" = "menu", "#" = "done" } }]

[context.done]
steps = [{ app = "hangup", cause = 16 }]
"##;
