//! Headless Chromium driven over WebDriver: Debian's `chromium`, through its `chromedriver`,
//! started for each test. Every page a test looks at with [`Window::check`] is audited with
//! axe-core and measured at a phone's and a desktop's width.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use thirtyfour::cdp::domains::browser::DownloadBehavior;
use thirtyfour::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::events::eventually;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// axe-core, vendored: see `axe-core/LICENSE`.
const AXE: &str = include_str!("axe-core/axe.min.js");

/// How many times [`Window::assert_keyboard`] presses Tab on a page at most.
const TABS: usize = 40;

/// The widths every checked page must fit without scrolling sideways.
const WIDTHS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 360, 780)];

/// One `chromedriver`, and with it every Chromium it starts, in a process group of its own
/// that is killed when the test ends, however it ends.
pub struct Driver {
    child: Child,
    url: String,
    downloads: tempfile::TempDir,
}

impl Driver {
    /// Starts `chromedriver` on a port of its choosing. Now and then it exits before it
    /// listens; it is then started again, and only a third such exit fails the test, with
    /// what it wrote.
    pub async fn start() -> Self {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::launch().await {
                Ok(driver) => return driver,
                Err(exit) if attempts < 3 => eprintln!("{exit}; starting it again"),
                Err(exit) => panic!("{exit}"),
            }
        }
    }

    async fn launch() -> Result<Self, String> {
        let stderr = tempfile::tempfile().unwrap();
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(stderr.try_clone().unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {CHROMEDRIVER} ({e}): install Debian's chromium-driver")
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let Some(line) = lines.next_line().await.unwrap() else {
                let status = child.wait().await.unwrap();
                return Err(format!(
                    "{CHROMEDRIVER} stopped before it listened ({status}): {}",
                    read_all(stderr)
                ));
            };
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').to_owned();
            }
        };
        // chromedriver keeps writing to its log; nothing may block it on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            downloads: tempfile::tempdir().unwrap(),
        })
    }

    /// A new browser, with cookies of its own, at `base`. Screenshots of checked pages go to
    /// `screenshots` when given.
    pub async fn open(&self, base: &str, screenshots: Option<PathBuf>) -> Window {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        caps.set_headless().unwrap();
        // The tests may run as root, where Chromium's sandbox cannot start.
        caps.set_no_sandbox().unwrap();
        caps.set_disable_dev_shm_usage().unwrap();
        caps.set_disable_gpu().unwrap();
        caps.add_arg("--lang=en-GB").unwrap();
        let driver = WebDriver::new(&self.url, caps)
            .await
            .unwrap_or_else(|e| panic!("Chromium ({CHROMIUM}) did not start: {e}"));
        let window = Window {
            driver,
            base: base.to_owned(),
            screenshots,
        };
        window.set_width(WIDTHS[0].1, WIDTHS[0].2).await;
        // Headless Chromium saves downloads only where it is told to.
        window
            .driver
            .cdp()
            .browser()
            .set_download_behavior(
                DownloadBehavior::Allow,
                Some(self.downloads.path().display().to_string()),
            )
            .await
            .unwrap();
        window
    }

    pub fn downloads(&self) -> &Path {
        self.downloads.path()
    }
}

/// What a process wrote to `file`, however it is encoded.
fn read_all(mut file: File) -> String {
    let mut bytes = Vec::new();
    file.rewind().unwrap();
    file.read_to_end(&mut bytes).unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium's processes are the driver's children, in its group.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// One browser window, signed in as whoever used it.
pub struct Window {
    driver: WebDriver,
    base: String,
    screenshots: Option<PathBuf>,
}

impl Window {
    pub async fn visit(&self, path: &str) {
        self.driver
            .goto(format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page's address starts with `prefix` (links and forms are swapped in by
    /// htmx, so a click returns before the next page is there).
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        eventually(&format!("the page {prefix}"), || async {
            let path = self.path().await;
            path.starts_with(prefix).then_some(path)
        })
        .await
    }

    /// Waits until the page's main content holds `text`.
    pub async fn wait_for_text(&self, text: &str) {
        eventually(&format!("\"{text}\" on the page"), || async {
            self.main_text().await.contains(text).then_some(())
        })
        .await;
    }

    pub async fn main_text(&self) -> String {
        match self.driver.find(By::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn find(&self, css: &str) -> WebElement {
        match self.driver.query(By::Css(css)).first().await {
            Ok(found) => found,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    pub async fn click_link(&self, text: &str) {
        self.driver
            .query(By::LinkText(text))
            .first()
            .await
            .unwrap_or_else(|e| panic!("no link \"{text}\": {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Types into the field labelled by the `<label for=id>`.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.find(&format!("#{id}")).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Sets a field's value as a date picker would, whatever the browser's date format.
    pub async fn pick(&self, id: &str, value: &str) {
        let field = self.find(&format!("#{id}")).await;
        self.driver
            .execute(
                "arguments[0].value = arguments[1];",
                vec![field.to_json().unwrap(), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Signs in through the login form; the page it lands on.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        self.visit("/login").await;
        self.fill("email", email).await;
        self.fill("password", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        eventually("signed in", || async {
            let path = self.path().await;
            (!path.starts_with("/login")).then_some(path)
        })
        .await
    }

    /// The checks every page passes, at each width: no serious or critical axe-core violation,
    /// no sideways scrolling; and Tab reaches its controls, each visibly focused. Takes the
    /// page's screenshots when asked to.
    pub async fn check(&self, name: &str) {
        self.assert_keyboard(name).await;
        for (label, width, height) in WIDTHS {
            self.set_width(width, height).await;
            self.assert_fits(name, label, width).await;
            self.assert_accessible(name, label).await;
            if let Some(dir) = &self.screenshots {
                std::fs::create_dir_all(dir).unwrap();
                let png = self.driver.screenshot_as_png().await.unwrap();
                std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
            }
        }
        self.set_width(WIDTHS[0].1, WIDTHS[0].2).await;
    }

    async fn set_width(&self, width: u32, height: u32) {
        self.driver
            .cdp()
            .emulation()
            .set_device_metrics_override(width, height, 1.0, width < 600)
            .await
            .unwrap();
    }

    /// A phone's browser widens its layout to fit what is too wide, so both the layout's width
    /// and the page's own are compared with the screen's.
    async fn assert_fits(&self, name: &str, label: &str, width: u32) {
        let overflow = self
            .driver
            .execute(
                "const width = arguments[0];
                 const root = document.documentElement;
                 if (window.innerWidth <= width && root.scrollWidth <= root.clientWidth) return null;
                 const wide = [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > width + 1)
                   .slice(0, 8)
                   .map(e => e.outerHTML.slice(0, 160));
                 return {innerWidth: window.innerWidth, scrollWidth: root.scrollWidth, wide};",
                vec![json!(width)],
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert!(
            overflow.is_null(),
            "{name} scrolls sideways at the {label} width: {overflow:#}"
        );
    }

    /// Presses Tab until the focus comes back round (or [`TABS`] times): every element it
    /// reaches shows that it has the focus.
    async fn assert_keyboard(&self, name: &str) {
        let mut reached = Vec::new();
        for _ in 0..TABS {
            self.driver
                .action_chain()
                .send_keys(Key::Tab)
                .perform()
                .await
                .unwrap();
            let focused = self
                .script(
                    "const e = document.activeElement;
                     if (!e || e === document.body) return null;
                     const s = getComputedStyle(e);
                     const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                       || s.boxShadow !== 'none';
                     return {what: e.outerHTML.slice(0, 160), ring};",
                )
                .await;
            if focused.is_null() || reached.contains(&focused["what"]) {
                break;
            }
            assert_eq!(
                focused["ring"],
                json!(true),
                "{name}: the keyboard's focus is not shown on {}",
                focused["what"]
            );
            reached.push(focused["what"].clone());
        }
        assert!(!reached.is_empty(), "{name}: Tab reaches nothing");
    }

    async fn assert_accessible(&self, name: &str, label: &str) {
        if self.script("return typeof window.axe").await != json!("object") {
            self.driver.execute(AXE, Vec::new()).await.unwrap();
        }
        let found = self
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document)
                   .then(r => done({
                     passed: r.passes.length,
                     violations: r.violations
                       .filter(v => v.impact === 'serious' || v.impact === 'critical')
                       .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.map(n => n.target.join(' '))})),
                   }))
                   .catch(e => done({passed: 0, violations: [String(e)]}));",
                Vec::new(),
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert!(
            found["passed"].as_u64() > Some(0),
            "axe-core checked nothing on {name}: {found}"
        );
        assert_eq!(
            found["violations"],
            json!([]),
            "{name} at the {label} width has serious or critical accessibility violations"
        );
    }

    async fn script(&self, body: &str) -> Value {
        self.driver
            .execute(body, Vec::new())
            .await
            .unwrap()
            .json()
            .clone()
    }

    pub async fn quit(self) {
        self.driver.quit().await.unwrap();
    }
}
