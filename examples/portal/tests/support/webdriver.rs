//! A small WebDriver client for Debian's `chromedriver` and `chromium`: the commands these
//! tests use (navigate, find, click, type, read, screenshot), over plain HTTP on loopback.
//!
//! Waiting is the driver's: the session's implicit wait makes every `find` wait until the
//! element is there, and a click that submits a form returns when the next page has loaded.
//! The client never sleeps.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the driver waits for an element before a `find` fails: only a failure guard.
const IMPLICIT_WAIT_MS: u64 = 20_000;

/// The WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Whether the browser is installed; without it a test prints one skip line, or fails
/// under `ADMIN_MFA_REQUIRE_EXTERNAL=1`.
pub fn browser_available(test: &str) -> bool {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if present {
        return true;
    }
    let required = std::env::var("ADMIN_MFA_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "ADMIN_MFA_REQUIRE_EXTERNAL=1 but {CHROMIUM} or {CHROMEDRIVER} is missing \
         (apt-get install chromium chromium-driver)"
    );
    eprintln!(
        "skipped {test}: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
    );
    false
}

/// A chromedriver process in its own process group; dropping it ends the group (the driver
/// and any browser it started).
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One browser: a chromedriver, a Chromium session with a fresh profile, and where its
/// screenshots go.
pub struct Browser {
    http: Client<HttpConnector, Full<Bytes>>,
    session: String,
    screens: PathBuf,
    test: String,
    shots: AtomicU32,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

/// A found element.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium kept off the network.
    pub async fn start(test: &str) -> Self {
        let port = free_port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        // Wait for its "started successfully" line: the port listens from then on.
        let stdout = child.stdout.take().unwrap();
        let driver = Driver { child };
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.contains("started successfully"))
        })
        .await
        .unwrap();
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let http = Client::builder(TokioExecutor::new()).build_http();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1100,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        } } });
        let base = format!("http://127.0.0.1:{port}");
        let answer = call(
            &http,
            "POST",
            &format!("{base}/session"),
            Some(capabilities),
        )
        .await
        .unwrap_or_else(|e| panic!("no Chromium session: {e}"));
        let id = answer["sessionId"].as_str().unwrap().to_owned();
        let screens = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/portal-screens"
        ));
        std::fs::create_dir_all(&screens).unwrap();
        let browser = Self {
            http,
            session: format!("{base}/session/{id}"),
            screens,
            test: test.to_owned(),
            shots: AtomicU32::new(0),
            _profile: profile,
            _driver: driver,
        };
        browser
            .cmd(
                "POST",
                "/timeouts",
                Some(json!({ "implicit": IMPLICIT_WAIT_MS, "pageLoad": 30_000 })),
            )
            .await;
        browser
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.session), body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// The browser's cookies for the current page, as a `Cookie` request header would carry
    /// them (to fetch a download the way this browser would, outside the page).
    pub async fn cookie_header(&self) -> String {
        let cookies = self.cmd("GET", "/cookie", None).await;
        cookies
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|c| {
                        format!(
                            "{}={}",
                            c["name"].as_str().unwrap_or_default(),
                            c["value"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element matching `css`, waiting for it (the implicit wait).
    pub async fn find(&self, css: &str) -> Element<'_> {
        let found = self
            .cmd(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        Element {
            browser: self,
            id: found[ELEMENT].as_str().unwrap().to_owned(),
        }
    }

    /// Waits until the page whose `h1` reads `text` is shown (after a click that navigates).
    pub async fn on_page(&self, text: &str) {
        self.cmd(
            "POST",
            "/element",
            Some(
                json!({ "using": "xpath", "value": format!("//h1[normalize-space()=\"{text}\"]") }),
            ),
        )
        .await;
    }

    /// Presses the keys of `text` one after the other on whatever has the focus, as a person
    /// at the keyboard would (`TAB` and `ENTER` included).
    pub async fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for key in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": key.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": key.to_string() }));
        }
        self.cmd(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
    }

    /// The `id` of the element that has the focus.
    pub async fn focused_id(&self) -> String {
        let id = self
            .script("return document.activeElement ? document.activeElement.id : ''")
            .await;
        id.as_str().unwrap_or_default().to_owned()
    }

    /// How many elements match `css` now (no waiting).
    pub async fn count(&self, css: &str) -> usize {
        self.cmd("POST", "/timeouts", Some(json!({ "implicit": 0 })))
            .await;
        let found = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        self.cmd(
            "POST",
            "/timeouts",
            Some(json!({ "implicit": IMPLICIT_WAIT_MS })),
        )
        .await;
        found.as_array().map_or(0, Vec::len)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await;
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .browser
            .cmd(
                "POST",
                &format!("/element/{}/clear", field.id),
                Some(json!({})),
            )
            .await;
        field.send_keys(text).await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await
    }

    /// The text of the whole page.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Runs a script in the page (only to read what a person would see, never to act).
    pub async fn script(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Saves the screen as `target/portal-screens/<test>-<nn>-<name>.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", None).await;
        let png = data_encoding::BASE64
            .decode(png.as_str().unwrap().as_bytes())
            .unwrap();
        let n = self.shots.fetch_add(1, Ordering::Relaxed);
        let path = self
            .screens
            .join(format!("{}-{n:02}-{name}.png", self.test));
        std::fs::write(path, png).unwrap();
    }

    /// Ends the session (the browser closes); the driver ends on drop.
    pub async fn close(self) {
        let _ = call(&self.http, "DELETE", &self.session, None).await;
    }
}

impl Element<'_> {
    /// Clicks it; a click that submits a form returns once the next page has loaded.
    pub async fn click(&self) {
        self.browser
            .cmd(
                "POST",
                &format!("/element/{}/click", self.id),
                Some(json!({})),
            )
            .await;
    }

    /// Types `text` into it, key by key.
    pub async fn send_keys(&self, text: &str) {
        self.browser
            .cmd(
                "POST",
                &format!("/element/{}/value", self.id),
                Some(json!({ "text": text })),
            )
            .await;
    }

    /// Its visible text.
    pub async fn text(&self) -> String {
        let text = self
            .browser
            .cmd("GET", &format!("/element/{}/text", self.id), None)
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// An attribute, as the page's HTML has it.
    pub async fn attr(&self, name: &str) -> Option<String> {
        let value = self
            .browser
            .cmd(
                "GET",
                &format!("/element/{}/attribute/{name}", self.id),
                None,
            )
            .await;
        value.as_str().map(str::to_owned)
    }
}

/// The WebDriver key for Tab.
pub const TAB: char = '\u{E004}';
/// The WebDriver key for Enter.
pub const ENTER: char = '\u{E007}';

/// One WebDriver command: its `value`, or the driver's error.
async fn call(
    http: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let request = axum::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let response = http.request(request).await.map_err(|e| e.to_string())?;
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let answer: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error") {
        return Err(format!("{error}: {}", value["message"]));
    }
    Ok(
        if answer.get("sessionId").is_some() && value.get("sessionId").is_none() {
            // The legacy shape of a new session's answer.
            answer
        } else {
            value
        },
    )
}
