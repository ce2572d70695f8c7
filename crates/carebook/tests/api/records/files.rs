//! Files: uploaded through the gateway, recognised from their bytes, downloaded unchanged; bad
//! input refused with a problem naming the field, leaving no row and no blob behind.

use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{appointment, download, form, pdf, record_json, trail, upload};
use crate::helpers::TestApp;

/// A `file` part: name, declared type, bytes.
type FilePart<'a> = (&'a str, &'a str, &'a [u8]);

async fn a_doctor_in_care_uploads_a_pdf_the_patient_downloads_unchanged(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let file = pdf(5 * 1024 * 1024);
    let record = record_json(care.patient_id(), "MRI report", "No abnormality seen.").to_string();
    let created = upload(
        app,
        &care.doctor.token,
        form(Some(&record), Some(("mri é.pdf", "application/pdf", &file))),
    )
    .await
    .expect(201);
    let id = created.id();
    assert_eq!(created.body["doctorId"], care.doctor_id());
    assert_eq!(created.body["attachment"]["contentType"], "application/pdf");
    assert_eq!(created.body["attachment"]["size"], file.len());
    assert_eq!(
        created.body["attachment"]["sha256"],
        hex::encode(Sha256::digest(&file))
    );
    assert_eq!(created.body["attachment"]["fileName"], "mri é.pdf");

    let list = format!("/api/records/{}", care.patient_id());
    let listed = app
        .call(Some(&care.patient.token), Method::GET, &list, None)
        .await
        .expect(200);
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["content"], "No abnormality seen.");
    assert_eq!(listed.body["items"][0]["recordType"], "LAB_REPORT");

    let (status, content_type, disposition, bytes) =
        download(app, &care.patient.token, care.patient_id(), id).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/pdf");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''mri%20%C3%A9.pdf"),
        "{disposition}"
    );
    assert!(
        bytes == file,
        "the downloaded bytes differ from the uploaded ones"
    );

    // Every access is on the trail, with ids only.
    let rows = trail(app, care.patient_id()).await;
    let patient_user = care.patient.user_id;
    let doctor_user = care.doctor.user_id;
    for expected in [
        (doctor_user, "CREATE", format!("record/{id}"), "SUCCESS"),
        (
            patient_user,
            "LIST",
            format!("patient/{}/records", care.patient_id()),
            "SUCCESS",
        ),
        (patient_user, "READ", format!("record/{id}/file"), "SUCCESS"),
    ] {
        let expected = (
            expected.0,
            expected.1.to_owned(),
            expected.2,
            expected.3.to_owned(),
        );
        assert!(
            rows.contains(&expected),
            "{expected:?} missing from {rows:?}"
        );
    }
}

async fn files_are_told_from_their_bytes_and_bad_forms_store_nothing(app: &TestApp) {
    let care = appointment(app, 1, "09:00", "approve").await;
    let token = &care.doctor.token;
    let record = record_json(care.patient_id(), "Scan", "See the file.").to_string();
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let cases: Vec<(Option<String>, Option<FilePart>, u16, &str)> = vec![
        (Some(record.clone()), Some(("x.png", "image/png", html)), 415, "file"),
        (Some(record.clone()), Some(("x.jpg", "image/jpeg", png)), 415, "file"),
        (Some(record.clone()), Some(("bin", "text/plain", b"MZ\x90\0\x03\0\0\0")), 415, "file"),
        (Some(record.clone()), Some(("t.txt", "text/plain", b"line\0nul")), 415, "file"),
        (Some(record.clone()), Some(("empty.pdf", "application/pdf", b"")), 400, "file"),
        (Some(record.clone()), None, 400, "file"),
        (None, Some(("x.png", "image/png", png)), 400, "record"),
        (Some("{not json".to_owned()), Some(("x.png", "image/png", png)), 400, "record"),
        (
            Some(json!({"patientId": care.patient_id(), "recordType": "XRAY", "title": "t", "content": "c"}).to_string()),
            Some(("x.png", "image/png", png)),
            400,
            "record.recordType",
        ),
    ];
    for (record, file, status, field) in cases {
        let reply = upload(app, token, form(record.as_deref(), file))
            .await
            .expect(status);
        assert_eq!(reply.error_fields(), [field], "{}", reply.body);
    }
    // An ADMIN naming a patient or doctor that does not exist: 422 naming it.
    let unknown = json!({"patientId": 999_999, "doctorId": care.doctor_id(), "recordType": "NOTE", "title": "t", "content": "c"});
    let reply = app.post("/api/records", &unknown).await.expect(422);
    assert_eq!(reply.error_fields(), ["patientId"]);
    let unknown = json!({"patientId": care.patient_id(), "doctorId": 999_999, "recordType": "NOTE", "title": "t", "content": "c"});
    let reply = app.post("/api/records", &unknown).await.expect(422);
    assert_eq!(reply.error_fields(), ["doctorId"]);

    let list = format!("/api/records/{}", care.patient_id());
    assert_eq!(app.get(&list).await.expect(200).body["total"], 0);
    assert_eq!(
        blob_files(app),
        Vec::<String>::new(),
        "a refused upload left a blob"
    );

    // A good PNG and a text file pass.
    for (name, content_type, bytes) in [
        ("x.png", "image/png", &png[..]),
        (
            "n.txt",
            "text/plain; charset=utf-8",
            "Hämoglobin ok\n".as_bytes(),
        ),
    ] {
        let reply = upload(
            app,
            token,
            form(Some(&record), Some((name, content_type, bytes))),
        )
        .await
        .expect(201);
        assert_eq!(reply.body["attachment"]["size"], bytes.len());
    }
}

async fn the_gateway_streams_uploads_up_to_the_limit_only_on_records(app: &TestApp) {
    // Declared over the upload limit: refused at the edge without reading the body.
    let reply = app
        .http
        .post(format!("{}/api/records", app.gateway))
        .bearer_auth(&app.admin_token)
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", (22 * 1024 * 1024).to_string())
        .body(vec![0u8; 16])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 413);
    // Other routes keep the small buffered limit.
    let big = json!({"name": "x".repeat(2 * 1024 * 1024)});
    app.post("/api/patients", &big).await.expect(413);
}

/// Every object in the blob directory, as paths relative to it.
pub fn blob_files(app: &TestApp) -> Vec<String> {
    let root = app.data_dir().join("records-blobs");
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    found
}

on_both_backends!(
    a_doctor_in_care_uploads_a_pdf_the_patient_downloads_unchanged,
    files_are_told_from_their_bytes_and_bad_forms_store_nothing,
    the_gateway_streams_uploads_up_to_the_limit_only_on_records,
);
