//! Proves "hot paths allocate nothing": counts allocations on this thread around steady-state ticks.
//! (An integration test, so the counting allocator is confined to this test binary.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use switchboard::media::mixer::{Conference, Role};
use switchboard::media::recorder::{recording_channel, Format, Layout as RecLayout, Recorder};
use switchboard::media::AudioFrame;

struct Counting;
thread_local! { static ALLOCS: Cell<u64> = const { Cell::new(0) }; }
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

#[test]
fn mixer_and_recorder_tap_ticks_do_not_allocate() {
    let mut c = Conference::new(16_000, 3).expect("rate");
    let ps: Vec<_> = (0..20).map(|_| c.add_party(Role::Normal).expect("add")).collect();
    let sup = c.add_party(Role::Whisper { to: ps[0] }).expect("add");
    let mut f = AudioFrame::silence(16_000);
    for (i, s) in f.pcm_mut().iter_mut().enumerate() {
        *s = ((i * 37) % 2000) as i16 - 1000;
    }
    let mut out = AudioFrame::silence(16_000);
    let dir = std::env::temp_dir().join(format!("noalloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("r.wav");
    let _ = std::fs::remove_file(&path);
    let rec = Recorder::create(&path, Format::Wav, RecLayout::Stereo, 16_000).expect("create");
    let (mut tap, drain) = recording_channel(16_000, 400);

    let before = allocs();
    for _ in 0..200 {
        for &p in ps.iter().chain([&sup]) {
            c.put(p, &f).expect("put");
        }
        c.mix();
        for &p in &ps {
            c.get(p, &mut out).expect("get");
        }
        tap.write(&f, &out).expect("tap");
    }
    tap.pause();
    tap.write(&f, &out).expect("tap");
    assert_eq!(allocs() - before, 0, "allocations on the tick path");

    drop(tap);
    let info = drain.run(rec).expect("drain");
    assert_eq!(info.duration.as_millis(), 201 * 20);
    let _ = std::fs::remove_dir_all(&dir);
}
