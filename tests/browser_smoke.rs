//! Self-test of the headless-Chromium harness (`tests/common/browser.rs`)
//! against a tiny page served from the test itself: no console needed.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::browser::{Browser, WINDOW_HEIGHT, WINDOW_WIDTH};

const TITLE: &str = "Switchboard smoke";

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Switchboard smoke</title></head>
<body>
<h1>Smoke</h1>
<form id="f" onsubmit="return false">
  <input id="name" name="name" value="prefilled">
  <select id="color">
    <option value="red">Red</option>
    <option value="green">Green</option>
    <option value="blue">Blue</option>
  </select>
  <button id="go" type="button">Go</button>
</form>
<p id="out">waiting</p>
<script>
document.getElementById('go').addEventListener('click', function () {
  var n = document.getElementById('name').value;
  var c = document.getElementById('color').value;
  // Later than the click's return: wait_text has to poll.
  setTimeout(function () {
    document.getElementById('out').textContent = 'Hello, ' + n + ' (' + c + ')';
  }, 300);
});
// An element that appears only after the load event: find has to wait.
setTimeout(function () {
  var d = document.createElement('div');
  d.id = 'late';
  d.textContent = 'arrived';
  document.body.appendChild(d);
}, 700);
</script>
</body></html>
"#;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A static HTTP/1.1 server on 127.0.0.1 (one thread per connection).
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    std::thread::spawn(move || serve(conn));
                }
            }
        });
        Server {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let resp = if path == "/" {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
             Set-Cookie: sid=s3cret; Path=/; HttpOnly; SameSite=Strict\r\n\
             Set-Cookie: theme=dark; Path=/; SameSite=Lax\r\n\
             Cache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
            PAGE.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
    };
    let _ = conn.write_all(resp.as_bytes());
}

/// Live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &Path) -> Vec<String> {
    let needle = needle.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for ent in std::fs::read_dir("/proc").unwrap().flatten() {
        if ent
            .file_name()
            .to_str()
            .is_some_and(|s| s.parse::<u32>().is_ok())
        {
            if let Ok(c) = std::fs::read(ent.path().join("cmdline")) {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                if c.contains(&needle) {
                    found.push(format!("{}: {}", ent.file_name().to_string_lossy(), c));
                }
            }
        }
    }
    found
}

/// After a Browser is dropped: no chromedriver, no Chromium, no profile dir.
fn assert_cleaned_up(profile: &Path, driver_pid: u32) {
    assert!(
        !profile.exists(),
        "profile dir {} left behind",
        profile.display()
    );
    let left = processes_mentioning(profile);
    assert!(left.is_empty(), "Chromium processes left behind: {left:#?}");
    // ChildGuard reaps chromedriver, so its pid is gone (not even a zombie).
    assert!(
        !Path::new(&format!("/proc/{driver_pid}")).exists(),
        "chromedriver (pid {driver_pid}) still exists"
    );
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        bytes.starts_with(PNG_MAGIC),
        "{} is not a PNG (starts with {:02x?})",
        path.display(),
        &bytes[..bytes.len().min(8)]
    );
    assert!(
        bytes.len() > 1000,
        "{} is only {} bytes",
        path.display(),
        bytes.len()
    );
}

#[test]
fn form_fill_select_click_and_screenshot() {
    let server = Server::start();
    let t0 = Instant::now();
    let b = Browser::start().expect("start browser");
    eprintln!("browser started in {:.2?}", t0.elapsed());

    b.goto(&server.url()).unwrap();
    assert_eq!(b.title().unwrap(), TITLE);
    assert_eq!(b.current_url().unwrap(), server.url());

    let size = b
        .exec("return [window.outerWidth, window.outerHeight]")
        .unwrap();
    assert_eq!(size, serde_json::json!([WINDOW_WIDTH, WINDOW_HEIGHT]));
    assert_eq!(b.exec("return 6 * 7").unwrap(), serde_json::json!(42));

    // Appears 700 ms after load: the implicit wait finds it.
    assert_eq!(b.find("#late").unwrap().text().unwrap(), "arrived");

    assert_eq!(
        b.attr("#name", "value").unwrap().as_deref(),
        Some("prefilled")
    );
    assert_eq!(b.attr("#name", "no-such-attr").unwrap(), None);
    b.fill("#name", "Ada").unwrap();
    // Cleared first: not "prefilledAda".
    assert_eq!(b.prop("#name", "value").unwrap(), "Ada");
    assert_eq!(b.prop("#color", "value").unwrap(), "red");
    b.select("#color", "green").unwrap();
    assert_eq!(b.prop("#color", "value").unwrap(), "green");

    assert_eq!(b.text("#out").unwrap(), "waiting");
    b.click("#go").unwrap();
    let t = b
        .wait_text("#out", "Hello, Ada", Duration::from_secs(5))
        .unwrap();
    assert_eq!(t, "Hello, Ada (green)");
    assert_eq!(b.text("#out").unwrap(), "Hello, Ada (green)");

    let shot = b.screenshot("after-click").unwrap();
    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-artifacts/form_fill_select_click_and_screenshot");
    assert_eq!(shot, expected_dir.join("after-click.png"));
    assert_png(&shot);

    let profile = b.profile_dir().to_path_buf();
    let pid = b.driver_pid().unwrap();
    assert!(profile.is_dir());
    assert!(
        !processes_mentioning(&profile).is_empty(),
        "no Chromium process found using {} (the leak check would be vacuous)",
        profile.display()
    );
    drop(b);
    assert_cleaned_up(&profile, pid);
}

#[test]
fn cookie_flags_are_visible() {
    let server = Server::start();
    let b = Browser::start().expect("start browser");
    b.goto(&server.url()).unwrap();

    let cookies = b.cookies().unwrap();
    let sid = cookies
        .iter()
        .find(|c| c.name == "sid")
        .unwrap_or_else(|| panic!("no sid cookie in {cookies:?}"));
    assert_eq!(sid.value, "s3cret");
    assert!(sid.http_only, "sid not HttpOnly: {sid:?}");
    assert_eq!(sid.same_site.as_deref(), Some("Strict"), "{sid:?}");
    assert!(!sid.secure);
    assert_eq!(sid.expiry, None, "session cookie expected: {sid:?}");

    let theme = b.cookie("theme").unwrap().expect("theme cookie");
    assert!(!theme.http_only, "theme must not be HttpOnly: {theme:?}");
    assert_eq!(theme.same_site.as_deref(), Some("Lax"));

    // HttpOnly really hides sid from scripts.
    let js_cookies = b.exec("return document.cookie").unwrap();
    let js_cookies = js_cookies.as_str().unwrap();
    assert!(js_cookies.contains("theme=dark"), "{js_cookies:?}");
    assert!(!js_cookies.contains("sid"), "{js_cookies:?}");

    b.delete_cookies().unwrap();
    assert!(b.cookies().unwrap().is_empty());
}

#[test]
fn waits_are_bounded_and_errors_name_the_selector() {
    let server = Server::start();
    let mut b = Browser::start().expect("start browser");
    b.goto(&server.url()).unwrap();
    let url = server.url();

    let t = Instant::now();
    let err = b
        .wait_text("#out", "never-appears", Duration::from_secs(1))
        .expect_err("wait_text must time out")
        .to_string();
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(1), "gave up early: {took:?}");
    assert!(
        took < Duration::from_secs(4),
        "timeout not honoured: {took:?}"
    );
    assert!(err.contains("\"#out\""), "selector missing: {err}");
    assert!(err.contains("never-appears"), "wanted text missing: {err}");
    assert!(
        err.contains("text is \"waiting\""),
        "last text missing: {err}"
    );
    assert!(err.contains(&url), "url missing: {err}");

    b.set_wait(Duration::from_millis(500));
    let t = Instant::now();
    let err = b
        .click("#no-such-button")
        .expect_err("no element")
        .to_string();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(err.contains("click(\"#no-such-button\")"), "{err}");
    assert!(err.contains("no such element"), "{err}");
    assert!(err.contains(&url), "{err}");

    let err = b
        .select("#color", "purple")
        .expect_err("no such option")
        .to_string();
    assert!(
        err.contains("\"#color\"") && err.contains("purple"),
        "{err}"
    );
    assert_eq!(b.prop("#color", "value").unwrap(), "red");

    assert!(b.exists("#go").unwrap());
    assert!(!b.exists("#late-never").unwrap());
    b.wait_gone("#no-such-thing", Duration::from_millis(100))
        .unwrap();
    let err = b
        .wait_gone("#go", Duration::from_millis(300))
        .expect_err("#go stays");
    assert!(err.to_string().contains("still present"), "{err}");
}

#[test]
fn panic_saves_artifacts_and_cleans_up() {
    let server = Server::start();
    let url = server.url();
    let seen: Arc<Mutex<Option<(std::path::PathBuf, u32, std::path::PathBuf)>>> = Arc::default();
    let seen2 = seen.clone();
    // The thread's name is the artifacts name, as libtest's test threads are.
    let r = std::thread::Builder::new()
        .name("panic_artifacts_probe".into())
        .spawn(move || {
            let b = Browser::start().expect("start browser");
            b.goto(&url).unwrap();
            b.fill("#name", "at-failure").unwrap();
            *seen2.lock().unwrap() = Some((
                b.profile_dir().to_path_buf(),
                b.driver_pid().unwrap(),
                b.artifacts_dir().to_path_buf(),
            ));
            panic!("deliberate panic (expected by panic_saves_artifacts_and_cleans_up)");
        })
        .unwrap()
        .join();
    assert!(r.is_err(), "the probe thread should have panicked");
    let (profile, pid, dir) = seen
        .lock()
        .unwrap()
        .clone()
        .expect("probe got as far as the page");
    assert_eq!(
        dir,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts/panic_artifacts_probe")
    );
    assert_png(&dir.join("last.png"));
    let html = std::fs::read_to_string(dir.join("last.html")).expect("last.html");
    assert!(
        html.contains(TITLE),
        "last.html is not the page: {html:.200}"
    );
    let log = std::fs::read_to_string(dir.join("chromedriver.log")).expect("chromedriver.log");
    assert!(
        log.contains("COMMAND Navigate"),
        "chromedriver.log has no commands"
    );
    assert_cleaned_up(&profile, pid);
}
