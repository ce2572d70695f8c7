//! records: a 20 MiB PDF (the default `CAREBOOK_MAX_UPLOAD_MB`) uploaded as a record's file,
//! straight to the records service and through the gateway, then downloaded back.
//!
//! - Memory: the peak resident set of the process hosting the records service (its own process
//!   in the distributed mode, the one process in the embedded mode) during each upload, over
//!   its resident set just before: the kernel's high-water mark (`VmHWM`) is reset through
//!   `/proc/<pid>/clear_refs` before the upload and read after it, so no sample can miss the
//!   peak. The target is a rise under 3× the file size.
//! - Throughput in MB/s (10^6 bytes/s of the file): upload and download, each next to its
//!   ceiling measured in the same run: the same bytes written to a new file in the blob store's
//!   directory and fsynced (file and directory, as the store does before a record commits),
//!   then read back from it.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use platform::config::Service;

use super::Ctx;
use crate::report::{Records, round};

/// The file: exactly the default upload limit.
const FILE_BYTES: usize = 20 * 1024 * 1024;
const BOUNDARY: &str = "carebook-bench-records-form";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Records> {
    let token = ctx.admin_token().await?;
    let (pid, process) = host(ctx)?;
    let file = pdf(FILE_BYTES);
    let form = Bytes::from(form(&file));
    let rounds = if ctx.budget.quick { 1 } else { 3 };
    let direct = ctx.system.url(Service::Records).to_owned();
    let gateway = ctx.system.gateway().to_owned();
    let mut rises = Vec::new();
    let (mut up_direct, mut up_gateway) = (Vec::new(), Vec::new());
    let (mut down_direct, mut down_gateway) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (base, ups, downs) in [
            (&direct, &mut up_direct, &mut down_direct),
            (&gateway, &mut up_gateway, &mut down_gateway),
        ] {
            ctx.settle().await;
            let before = reset_peak(pid)?;
            let began = Instant::now();
            let id = upload(ctx, base, &token, form.clone()).await?;
            ups.push(began.elapsed());
            let peak = status_mb(pid, "VmHWM:").context("no VmHWM")?;
            rises.push(peak - before);
            let began = Instant::now();
            let bytes = download(ctx, base, &token, id).await?;
            downs.push(began.elapsed());
            anyhow::ensure!(bytes == file, "the download differs from the upload");
        }
    }
    let blob_dir = ctx.system.dir.path().join("data").join("records-blobs");
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    for n in 0..rounds {
        let (write, read) = disk_ceiling(&blob_dir.join(format!("bench-ceiling-{n}")), &file)?;
        writes.push(write);
        reads.push(read);
    }
    let mb_s = |times: &[Duration]| round(FILE_BYTES as f64 / 1e6 / median(times));
    let file_mb = FILE_BYTES as f64 / 1024.0 / 1024.0;
    let rise = rises.iter().copied().fold(0.0, f64::max);
    let (upload, download) = (mb_s(&up_gateway), mb_s(&down_gateway));
    let (ceiling_write, ceiling_read) = (mb_s(&writes), mb_s(&reads));
    Ok(Records {
        file_mib: file_mb,
        process,
        rss_rise_mib: round(rise),
        rss_rise_per_file: round(rise / file_mb),
        rss_rises_mib: rises.into_iter().map(round).collect(),
        upload_mb_s: upload,
        direct_upload_mb_s: mb_s(&up_direct),
        ceiling_write_mb_s: ceiling_write,
        upload_ratio: crate::report::ratio(upload, ceiling_write),
        download_mb_s: download,
        direct_download_mb_s: mb_s(&down_direct),
        ceiling_read_mb_s: ceiling_read,
        download_ratio: crate::report::ratio(download, ceiling_read),
        rounds,
    })
}

/// The process that hosts the records service: its own, or the embedded mode's only one.
fn host(ctx: &Ctx) -> anyhow::Result<(u32, String)> {
    let pids = ctx.system.pids();
    let found = pids
        .iter()
        .find(|(label, _)| label == Service::Records.name())
        .or_else(|| pids.iter().find(|(label, _)| label == "carebook"))
        .context("no process hosts the records service")?;
    Ok((found.1, found.0.clone()))
}

/// Resets the process's `VmHWM` to its current resident set and returns that, in MiB.
fn reset_peak(pid: u32) -> anyhow::Result<f64> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .context("cannot reset the peak resident set (/proc/<pid>/clear_refs)")?;
    status_mb(pid, "VmHWM:").context("no VmHWM")
}

/// A `/proc/<pid>/status` figure in MiB.
fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn upload(ctx: &Ctx, base: &str, token: &str, form: Bytes) -> anyhow::Result<i64> {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let reply = ctx
        .http
        .send_bytes(&format!("{base}/api/records"), token, &content_type, form)
        .await?
        .expect(201)
        .context("uploading the file")?;
    reply.json()?["id"].as_i64().context("no record id")
}

async fn download(ctx: &Ctx, base: &str, token: &str, id: i64) -> anyhow::Result<Bytes> {
    // Seeded patient 1's record.
    let url = format!("{base}/api/records/1/{id}/file");
    let reply = ctx.http.get(&url, token).await?.expect(200)?;
    Ok(reply.body)
}

/// The same bytes to and from the blob store's disk: written and fsynced (file and directory),
/// then read back; the file is removed after.
fn disk_ceiling(path: &Path, bytes: &[u8]) -> anyhow::Result<(Duration, Duration)> {
    let began = Instant::now();
    let mut file = std::fs::File::create_new(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    let write = began.elapsed();
    let began = Instant::now();
    let mut back = Vec::with_capacity(bytes.len());
    std::fs::File::open(path)?.read_to_end(&mut back)?;
    let read = began.elapsed();
    anyhow::ensure!(back == bytes, "the ceiling read back other bytes");
    std::fs::remove_file(path)?;
    Ok((write, read))
}

fn median(times: &[Duration]) -> f64 {
    let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    secs.get(secs.len() / 2).copied().unwrap_or(f64::INFINITY)
}

/// `%PDF-1.7` and `len` bytes in all: a PDF to the type check, incompressible to everything.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// The form: the `record` part (seeded patient 1, doctor 1, as ADMIN), then the `file` part.
fn form(file: &[u8]) -> Vec<u8> {
    let record = serde_json::json!({
        "patientId": 1,
        "doctorId": 1,
        "recordType": "IMAGING",
        "title": "Bench scan",
        "content": "Uploaded by the records benchmark.",
    });
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"record\"\r\n\
         Content-Type: application/json\r\n\r\n{record}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}
